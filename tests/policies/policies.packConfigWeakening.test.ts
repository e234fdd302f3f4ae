/**
 * The weakening comparison itself (policies/rules/packConfigWeakening.ts), without a pack process:
 * how each tag judges a change, and that every rule's config field carries a tag. Then the pack's own
 * rule through gRPC: its verdict stays mandatory when the config lowers or disables it.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import { z } from "zod";
import { RULES } from "../../policies/rules";
import { zodConfigOf } from "../../policies/rules/common";
import { strictnessRegistry, weakensWhen } from "../../policies/rules/configStrictness";
import {
  effectivePackConfig,
  findWeakenings,
  type RuleDefaults,
} from "../../policies/rules/packConfigWeakening";
import { PolicyHarness, type PolicyVerdict } from "../../offline/policyHarness";
import { parsePolicyPackConfig } from "../../offline/policyPackConfig";
import { networkPolicyResource } from "../../offline/policyResources";

const schema = z.object({
  ports: weakensWhen(z.array(z.number()), "grows").default([443]),
  cidrs: weakensWhen(z.array(z.string()), "grows").default([]),
  protectedNames: weakensWhen(z.array(z.string()), "shrinks").default([]),
  fact: weakensWhen(z.string(), "changes").optional(),
  untagged: z.string().optional(),
  windows: weakensWhen(
    z.array(
      z.object({
        name: z.string(),
        until: weakensWhen(z.string(), "later"),
        note: weakensWhen(z.string(), "never"),
      }),
    ),
    "grows",
  ).default([]),
});
const RULE: RuleDefaults = { name: "rule", enforcementLevel: "advisory", defaults: {} };
const weakenings = (baseline: unknown, given: unknown) =>
  findWeakenings(
    [{ name: "rule", schema }],
    effectivePackConfig([RULE], baseline, "baseline").config,
    effectivePackConfig([RULE], given, "given").config,
  ).map((found) => `${found.key}: ${found.problem}`);

describe("pack config weakening: the comparison by tags", () => {
  it("levels: disabled < advisory < mandatory = remediate, through all and per-rule, string and object form", () => {
    assert.deepEqual(weakenings({ all: "mandatory" }, { rule: { enforcementLevel: "remediate" } }), []);
    assert.deepEqual(weakenings({ rule: "mandatory" }, { all: "advisory" }), [
      "rule.enforcementLevel: the enforcement level is lower",
    ]);
    assert.deepEqual(weakenings({ all: "advisory" }, { all: "mandatory", rule: "disabled" }), [
      "rule.enforcementLevel: the rule is disabled",
    ]);
    assert.deepEqual(weakenings({ rule: "advisory" }, { all: "mandatory" }), []);
  });

  it("grows: an added element weakens, a removed one or a CIDR inside a baseline CIDR does not", () => {
    assert.deepEqual(weakenings({ rule: { ports: [443] } }, { rule: { ports: [] } }), []);
    assert.equal(weakenings({ rule: { ports: [443] } }, { rule: { ports: [443, 22] } }).length, 1);
    assert.deepEqual(
      weakenings({ rule: { cidrs: ["10.0.0.0/16"] } }, { rule: { cidrs: ["10.0.1.0/24"] } }),
      [],
    );
    assert.equal(
      weakenings({ rule: { cidrs: ["10.0.1.0/24"] } }, { rule: { cidrs: ["10.0.0.0/16"] } }).length,
      1,
    );
    // Another family is no narrower, whatever the prefix.
    assert.equal(weakenings({ rule: { cidrs: ["0.0.0.0/0"] } }, { rule: { cidrs: ["::/0"] } }).length, 1);
  });

  it("shrinks: a removed element weakens, an added one does not", () => {
    assert.deepEqual(
      weakenings({ rule: { protectedNames: ["a"] } }, { rule: { protectedNames: ["a", "b"] } }),
      [],
    );
    assert.deepEqual(
      weakenings({ rule: { protectedNames: ["a", "b"] } }, { rule: { protectedNames: ["b"] } }),
      ['rule.protectedNames: "a" removed (what must be protected may only grow)'],
    );
  });

  it("changes and untagged fields: any change weakens, including leaving it out", () => {
    assert.equal(weakenings({ rule: { fact: "x" } }, { rule: { fact: "y" } }).length, 1);
    assert.equal(weakenings({ rule: { fact: "x" } }, { rule: { ports: [443] } }).length, 1);
    assert.equal(weakenings({ rule: { untagged: "x" } }, { rule: { untagged: "y" } }).length, 1);
  });

  it("a list of windows: an element matches a baseline one field by field (later weakens, a note is free)", () => {
    const base = { rule: { windows: [{ name: "a", until: "2027-01-31", note: "why" }] } };
    assert.deepEqual(
      weakenings(base, { rule: { windows: [{ name: "a", until: "2026-12-31", note: "other" }] } }),
      [],
    );
    assert.equal(
      weakenings(base, { rule: { windows: [{ name: "a", until: "2099-12-31", note: "why" }] } }).length,
      1,
    );
    assert.equal(
      weakenings(base, { rule: { windows: [{ name: "b", until: "2026-01-01", note: "why" }] } }).length,
      1,
    );
  });

  it("a rule the baseline configures and the given document leaves out is named as missing", () => {
    const baseline = effectivePackConfig([RULE], { rule: "mandatory" }, "b");
    const given = effectivePackConfig([RULE], { all: "mandatory" }, "g");
    assert.deepEqual(
      findWeakenings([{ name: "rule", schema }], baseline.config, given.config, {
        baseline: baseline.keys,
        given: given.keys,
      }).map((found) => found.key),
      ["rule"],
    );
  });

  it("every field of every rule's config carries a tag (an untagged one would count as a fact)", () => {
    const untagged: string[] = [];
    for (const rule of RULES) {
      const config = zodConfigOf(rule.configSchema);
      if (rule.configSchema !== undefined)
        assert.ok(config, `${rule.name}: configSchema not made by configSchemaOf`);
      for (const [field, fieldSchema] of Object.entries((config?.shape ?? {}) as Record<string, z.ZodType>)) {
        let current: z.ZodType | undefined = fieldSchema;
        let tagged = false;
        while (current !== undefined && !tagged) {
          tagged = strictnessRegistry.get(current) !== undefined;
          current = (current._zod.def as { innerType?: z.ZodType }).innerType;
        }
        if (!tagged) untagged.push(`${rule.name}.${field}`);
      }
    }
    assert.deepEqual(untagged, []);
  });
});

describe("pack-config-not-weakened through gRPC: the config cannot lower or silence it @process", function () {
  let harness: PolicyHarness;
  const prod = fs.readFileSync("policies/config/prod.json", "utf8");
  const policy = networkPolicyResource(
    {
      metadata: { name: "default-deny-all", namespace: "flash-ticket" },
      spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
    },
    "prod",
    "default-deny-all",
  );
  before(async () => {
    harness = await PolicyHarness.start({ stack: "prod" });
  });
  after(async () => harness?.close());

  async function verdictsUnder(edit: (config: Record<string, unknown>) => void): Promise<PolicyVerdict[]> {
    const config = JSON.parse(prod) as Record<string, unknown>;
    edit(config);
    await harness.configure(parsePolicyPackConfig(JSON.stringify(config), "test"));
    return (await harness.preview([policy])).filter(
      (verdict) => verdict.policy === "pack-config-not-weakened",
    );
  }

  it("the baseline: nothing; allowedPorts grown: mandatory, naming the key", async () => {
    assert.deepEqual(await verdictsUnder(() => undefined), []);
    const grown = await verdictsUnder(
      (config) => ((config["public-egress"] as Record<string, unknown>)["allowedPorts"] = [443, 8443]),
    );
    assert.deepEqual(
      grown.map((verdict) => verdict.level),
      ["mandatory"],
    );
    assert.match(grown[0]!.message, /public-egress\.allowedPorts .*8443/);
  });

  it("the rule itself set to advisory: still mandatory, and its own lowering is reported", async () => {
    const found = await verdictsUnder((config) => {
      config["pack-config-not-weakened"] = "advisory";
      config["no-allow-all-peers"] = "advisory";
    });
    assert.deepEqual(
      found.map((verdict) => verdict.level),
      ["mandatory", "mandatory"],
    );
    assert.ok(found.some((verdict) => /no-allow-all-peers\.enforcementLevel/.test(verdict.message)));
    assert.ok(found.some((verdict) => /pack-config-not-weakened\.enforcementLevel/.test(verdict.message)));
  });

  it("the rule itself disabled: flows-match-flow-table reports in its stead, under its name, mandatory", async () => {
    const found = await verdictsUnder((config) => {
      config["pack-config-not-weakened"] = "disabled";
      config["no-allow-all-peers"] = "disabled";
    });
    assert.deepEqual(
      found.map((verdict) => verdict.level),
      ["mandatory", "mandatory"],
    );
    assert.ok(
      found.some((verdict) =>
        /no-allow-all-peers\.enforcementLevel .*the rule is disabled/.test(verdict.message),
      ),
    );
  });
});
