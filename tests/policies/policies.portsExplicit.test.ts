/**
 * ports-explicit: every rule lists its ports, every port its number and protocol. Each way of
 * leaving the port open on prod's full target is refused.
 */
import { strict as assert } from "assert";
import { NAME, portsExplicit } from "../../policies/rules/portsExplicit";
import type { RuleView } from "../../policies/rules/k8s";
import { runRule } from "../support/ruleArgs";
import {
  assertTargetsPass,
  mutated,
  packRuleConfig,
  prodFullTarget,
  useStackConfig,
} from "../support/targets";

const PROD = packRuleConfig("prod", NAME);
const target = prodFullTarget();
const GATEWAY = { podSelector: { matchLabels: { app: "flash-gateway" } } };

function apiIngressWith(rule: RuleView) {
  return mutated(target, "flash-api-ingress", (policy) => {
    policy.spec!.ingress = [...(policy.spec!.ingress ?? []), rule];
  });
}

describe("ports-explicit", () => {
  useStackConfig("prod");

  it("passes prod's full target under prod's config and dev's target under dev's", () => {
    assertTargetsPass(portsExplicit);
  });

  const refused: [string, RuleView, RegExp][] = [
    ["a rule without ports", { from: [GATEWAY] }, /ingress\[1\] has no ports/],
    ["an empty ports list", { from: [GATEWAY], ports: [] }, /ingress\[1\] has no ports/],
    [
      "a port without protocol",
      { from: [GATEWAY], ports: [{ port: 4000 }] },
      /ports\[0\] \(port 4000\) has no protocol/,
    ],
    [
      "a protocol without port",
      { from: [GATEWAY], ports: [{ protocol: "TCP" }] },
      /names a protocol but no port/,
    ],
    [
      "a named port (flash-api's metrics, 9464 in its Deployment)",
      { from: [GATEWAY], ports: [{ port: "metrics", protocol: "TCP" }] },
      /named port "metrics"/,
    ],
    [
      "a named port that today resolves to the declared 4000",
      { from: [GATEWAY], ports: [{ port: "http", protocol: "TCP" }] },
      /named port "http"/,
    ],
  ];
  for (const [what, rule, expected] of refused) {
    it(`refuses ${what}`, () => {
      const verdicts = runRule(portsExplicit, apiIngressWith(rule), PROD);
      assert.equal(verdicts.length, 1, JSON.stringify(verdicts));
      assert.match(verdicts[0]!.message, expected);
      assert.match(verdicts[0]!.message, /flash-ticket\/flash-api-ingress/);
    });
  }

  it("accepts a numbered range with its protocol (other rules judge where it leads)", () => {
    assert.deepEqual(
      runRule(
        portsExplicit,
        apiIngressWith({ from: [GATEWAY], ports: [{ port: 4000, endPort: 4001, protocol: "TCP" }] }),
        PROD,
      ),
      [],
    );
  });
});
