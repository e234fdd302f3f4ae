/**
 * public-egress: public addresses only to a declared external endpoint (prod: payment-api,
 * 0.0.0.0/0 on 443, called by flash-pay only, as Pulumi.prod.yaml and the flow table say), within
 * its ranges, on its ports; wide blocks still except private space.
 */
import { strict as assert } from "assert";
import { publicEgress, reachesPublic, NAME } from "../../policies/rules/publicEgress";
import { runRule } from "../support/ruleArgs";
import {
  mutated,
  packRuleConfig,
  prodFullTarget,
  withEgress,
  useStackConfig,
  assertTargetsPass,
} from "../support/targets";

const PROD = packRuleConfig("prod", NAME);
const target = prodFullTarget();
const PRIVATE_EXCEPT = ["10.0.0.0/8", "100.64.0.0/10", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16"];

describe("public-egress", () => {
  useStackConfig("prod");

  it("knows which blocks reach public addresses", () => {
    const vpc = ["10.30.0.0/16", "100.64.0.0/16"];
    assert.equal(reachesPublic("10.30.80.0/24", vpc), false);
    assert.equal(reachesPublic("169.254.169.254/32", vpc), false);
    assert.equal(reachesPublic("fd00:ec2::254/128", vpc), false);
    assert.equal(reachesPublic("52.95.0.0/16", vpc), true);
    assert.equal(reachesPublic("0.0.0.0/0", vpc), true);
    assert.equal(reachesPublic("::/0", vpc), true);
  });

  it("passes prod's full target under prod's config and dev's target under dev's", () => {
    assertTargetsPass(publicEgress);
  });

  const variants: [
    string,
    string,
    { cidr: string; except?: string[] },
    { port: number; endPort?: number }[],
    RegExp,
  ][] = [
    [
      "a /16 on 443 from flash-api (no payment flow)",
      "flash-api-egress",
      { cidr: "52.95.0.0/16" },
      [{ port: 443 }],
      /does not let the pods of .*flash-api.* call/,
    ],
    [
      "a /3 on 22 from flash-pay",
      "flash-pay-egress",
      { cidr: "32.0.0.0/3" },
      [{ port: 22 }],
      /payment-api but the rule allows 22\/TCP/,
    ],
    [
      "the payment range on 80",
      "flash-pay-egress",
      { cidr: "0.0.0.0/0", except: PRIVATE_EXCEPT },
      [{ port: 80 }],
      /allows 80\/TCP/,
    ],
    [
      "the payment range on a port range",
      "flash-pay-egress",
      { cidr: "0.0.0.0/0", except: PRIVATE_EXCEPT },
      [{ port: 443, endPort: 8443 }],
      /443-8443\/TCP/,
    ],
    [
      "all of IPv6 on 443 (not a declared range)",
      "flash-pay-egress",
      { cidr: "::/0" },
      [{ port: 443 }],
      /outside every declared external endpoint/,
    ],
    [
      "the internet on 443 from the gateway",
      "flash-gateway-egress",
      { cidr: "0.0.0.0/0", except: PRIVATE_EXCEPT },
      [{ port: 443 }],
      /does not let the pods/,
    ],
  ];
  for (const [what, name, ipBlock, ports, message] of variants) {
    it(`refuses ${what}`, () => {
      const found = runRule(publicEgress, withEgress(target, name, [{ ipBlock }], ports), PROD);
      assert.ok(found.length >= 1);
      assert.match(
        found[0]!.message,
        new RegExp(`^NetworkPolicy flash-ticket/${name}: spec\\.egress\\[\\d\\]\\.to\\[0\\]\\.ipBlock `),
      );
      assert.match(found.map((entry) => entry.message).join("\n"), message);
    });
  }

  it("with the provider's published range declared, refuses any other public range from its caller", () => {
    const narrow = {
      ...PROD,
      externalEndpoints: [
        {
          name: "payment-api",
          cidrs: ["198.51.100.0/24"],
          ports: [443],
          callers: [{ namespace: "flash-ticket", podLabels: { app: "flash-pay" } }],
        },
      ],
    };
    const inside = mutated(target, "flash-pay-egress", (policy) => {
      policy.spec!.egress![1]!.to = [{ ipBlock: { cidr: "198.51.100.0/25" } }];
    });
    assert.deepEqual(runRule(publicEgress, inside, narrow), []);
    const outside = mutated(target, "flash-pay-egress", () => undefined);
    assert.match(
      runRule(publicEgress, outside, narrow)[0]!.message,
      /0\.0\.0\.0\/0 is public address space outside every declared external endpoint \(payment-api \[198\.51\.100\.0\/24\]\)/,
    );
  });

  it("with no endpoint declared, no public address is allowed", () => {
    const found = runRule(
      publicEgress,
      target.find((policy) => policy.metadata?.name === "flash-pay-egress")!,
      {},
    );
    assert.match(found.map((entry) => entry.message).join("\n"), /none declared/);
  });
});
