/**
 * The break-glass exemption is narrow (issue 18, item 3): only the program's own
 * break-glass-allow-all in the stack's namespace, with the spec core/networkPolicies.ts
 * renders, skips the rules. Any other policy with the label is judged by every rule.
 */
import { strict as assert } from "assert";
import * as path from "path";
import { isProgramsBreakGlass } from "../../policies/rules/breakGlassExemption";
import type { NetworkPolicyView } from "../../policies/rules/k8s";
import { noAllowAllPeers } from "../../policies/rules/noAllowAllPeers";
import type { PolicyVerdict } from "../../offline/policyHarness";
import { runRule } from "../support/ruleArgs";
import { runCli } from "../support/runCli";
import { useStackConfig } from "../support/targets";

const FIXTURES = path.join("tests", "fixtures", "policies");

/** What breakGlassPolicy renders for prod's full target (tests/fixtures/policies/prod-full-break-glass.yaml). */
function programs(): NetworkPolicyView {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: {
      name: "break-glass-allow-all",
      namespace: "flash-ticket",
      labels: {
        "app.kubernetes.io/managed-by": "pulumi",
        "app.kubernetes.io/part-of": "flash-netpol",
        "flash-netpol/break-glass": "true",
      },
      annotations: { "flash-netpol/purpose": "EMERGENCY" },
    },
    spec: {
      podSelector: {},
      policyTypes: ["Ingress", "Egress"],
      ingress: [{}],
      egress: [{}, { to: [{ ipBlock: { cidr: "10.0.0.0/8" } }, { ipBlock: { cidr: "169.254.0.0/16" } }] }],
    },
  };
}

describe("break-glass exemption", () => {
  useStackConfig("prod");

  it("exempts the program's own policy in the stack's namespace", () => {
    assert.equal(isProgramsBreakGlass(programs()), true);
    assert.deepEqual(runRule(noAllowAllPeers, programs()), []);
  });

  const forged: [string, (policy: NetworkPolicyView) => void][] = [
    ["another name", (policy) => (policy.metadata!.name = "debug-allow-all")],
    ["another namespace", (policy) => (policy.metadata!.namespace = "kube-system")],
    [
      "the label removed from the managed-by set",
      (policy) => delete policy.metadata!.labels!["app.kubernetes.io/managed-by"],
    ],
    ["an extra label", (policy) => (policy.metadata!.labels!["team"] = "x")],
    [
      "a narrowed podSelector",
      (policy) => (policy.spec!.podSelector = { matchLabels: { app: "flash-api" } }),
    ],
    ["Ingress only", (policy) => (policy.spec!.policyTypes = ["Ingress"])],
    [
      "an extra rule with a namespace selector",
      (policy) => policy.spec!.ingress!.push({ from: [{ namespaceSelector: {} }] }),
    ],
    [
      "ports on the plain rule",
      (policy) => (policy.spec!.egress![1]!.ports = [{ protocol: "TCP", port: 22 }]),
    ],
    [
      "an except in the plain rule",
      (policy) => (policy.spec!.egress![1]!.to![0]!.ipBlock!.except = ["10.1.0.0/16"]),
    ],
    [
      "the allow-all rule replaced",
      (policy) => (policy.spec!.ingress = [{ from: [{ ipBlock: { cidr: "0.0.0.0/0" } }] }]),
    ],
  ];
  for (const [what, edit] of forged) {
    it(`judges a break-glass-labelled policy with ${what}`, () => {
      const policy = programs();
      edit(policy);
      assert.equal(isProgramsBreakGlass(policy), false);
    });
  }

  it("exempts nothing when the pack was handed no stack config (another project)", () => {
    const saved = process.env.PULUMI_CONFIG;
    delete process.env.PULUMI_CONFIG;
    try {
      assert.equal(isProgramsBreakGlass(programs()), false);
      assert.ok(runRule(noAllowAllPeers, programs()).length > 0);
    } finally {
      process.env.PULUMI_CONFIG = saved;
    }
  });
});

describe("break-glass through npm run check @process", function () {
  it("prod's full target with the program's break-glass: exit 0, only advisory verdicts naming break-glass", async () => {
    const result = await runCli(
      "cli/check.ts",
      path.join(FIXTURES, "prod-full-break-glass.yaml"),
      "--stack",
      "prod",
    );
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const verdicts = JSON.parse(result.stdout) as PolicyVerdict[];
    // break-glass-active reports it; flows-match-flow-table (which check runs with the stack's model)
    // also shows what it opens, kept advisory because the program's own break-glass is exempt.
    assert.ok(
      verdicts.some(
        (verdict) =>
          verdict.policy === "break-glass-active" &&
          verdict.resource === "NetworkPolicy flash-ticket/break-glass-allow-all",
      ),
    );
    for (const verdict of verdicts) {
      assert.equal(verdict.level, "advisory", JSON.stringify(verdict));
      assert.equal(
        verdict.resource,
        "NetworkPolicy flash-ticket/break-glass-allow-all",
        JSON.stringify(verdict),
      );
    }
  });

  it("prod's full target: exit 0, no verdict at all", async () => {
    const result = await runCli(
      "cli/check.ts",
      path.join(FIXTURES, "prod-full-target.yaml"),
      "--stack",
      "prod",
    );
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), []);
  });
});
