/**
 * data-store-egress: inside the VPC and private space, egress only to a data store's own subnets,
 * on its port, from a service the flow table lets reach it. prod's stores (fixtures/aws/prod.json):
 * redis 10.30.64-66.0/24 on 6379, postgres 10.30.80-82.0/24 on 15432, mq 10.30.96-97.0/24 on 5671.
 */
import { strict as assert } from "assert";
import { dataStoreEgress, NAME } from "../../policies/rules/dataStoreEgress";
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

describe("data-store-egress", () => {
  useStackConfig("prod");

  it("passes prod's full target under prod's config and dev's target under dev's", () => {
    assertTargetsPass(dataStoreEgress);
  });

  it("passes a block narrower than a store subnet on the store's port", () => {
    const narrow = withEgress(
      target,
      "flash-api-egress",
      [{ ipBlock: { cidr: "10.30.80.16/28" } }],
      [{ port: 15432 }],
    );
    assert.deepEqual(runRule(dataStoreEgress, narrow, PROD), []);
  });

  it("refuses the postgres rule widened to the whole VPC", () => {
    const policy = mutated(target, "flash-api-egress", (edited) => {
      assert.equal(edited.spec!.egress![0]!.ports![0]!.port, 15432);
      edited.spec!.egress![0]!.to = [{ ipBlock: { cidr: "10.30.0.0/16" } }];
    });
    const found = runRule(dataStoreEgress, policy, PROD);
    assert.equal(found.length, 1);
    assert.match(
      found[0]!.message,
      /^NetworkPolicy flash-ticket\/flash-api-egress: spec\.egress\[0\]\.to\[0\]\.ipBlock 10\.30\.0\.0\/16 is private address space that is no data store's subnet/,
    );
  });

  it("refuses the redis subnets on the postgres port 15432", () => {
    const policy = mutated(target, "flash-api-egress", (edited) => {
      assert.equal(edited.spec!.egress![1]!.to![0]!.ipBlock!.cidr, "10.30.64.0/24");
      edited.spec!.egress![1]!.ports = [{ protocol: "TCP", port: 15432 }];
    });
    const found = runRule(dataStoreEgress, policy, PROD);
    assert.equal(found.length, 3);
    assert.match(
      found[0]!.message,
      /10\.30\.64\.0\/24 is redis but the rule allows 15432\/TCP\. Fix: restrict spec\.egress\[1\]\.ports to 6379\/TCP/,
    );
  });

  const variants: [string, string, string, { port: number; endPort?: number }[], RegExp][] = [
    [
      "flash-gateway to postgres (not in the flow table)",
      "flash-gateway-egress",
      "10.30.80.0/24",
      [{ port: 15432 }],
      /does not let the pods/,
    ],
    [
      "flash-pay to redis (not in the flow table)",
      "flash-pay-egress",
      "10.30.64.0/24",
      [{ port: 6379 }],
      /does not let the pods/,
    ],
    [
      "a VPC CIDR once associated, or a peered network",
      "flash-api-egress",
      "10.31.0.0/16",
      [{ port: 443 }],
      /no data store's subnet/,
    ],
    [
      "the pod CIDR (secondary VPC range)",
      "flash-api-egress",
      "100.64.0.0/16",
      [{ port: 8080 }],
      /no data store's subnet/,
    ],
    ["192.168.0.0/16", "flash-api-egress", "192.168.0.0/16", [{ port: 443 }], /no data store's subnet/],
    ["172.16.0.0/12", "flash-api-egress", "172.16.0.0/12", [{ port: 443 }], /no data store's subnet/],
    ["IPv6 unique local space", "flash-api-egress", "fc00::/7", [{ port: 443 }], /no data store's subnet/],
    [
      "the postgres subnets on a port range",
      "flash-api-egress",
      "10.30.80.0/24",
      [{ port: 15000, endPort: 16000 }],
      /allows 15000-16000\/TCP/,
    ],
    [
      "a wide block that does not except 10.0.0.0/8",
      "flash-pay-egress",
      "0.0.0.0/0",
      [{ port: 443 }],
      /includes private 10\.0\.0\.0\/8/,
    ],
  ];
  for (const [what, name, cidr, ports, message] of variants) {
    it(`refuses ${what}`, () => {
      const found = runRule(dataStoreEgress, withEgress(target, name, [{ ipBlock: { cidr } }], ports), PROD);
      assert.ok(found.length >= 1);
      assert.match(
        found[0]!.message,
        new RegExp(`^NetworkPolicy flash-ticket/${name}: spec\\.egress\\[\\d\\]\\.to\\[0\\]\\.ipBlock `),
      );
      assert.match(found[0]!.message, message);
    });
  }

  it("refuses the postgres subnets without ports (every port)", () => {
    const policy = mutated(target, "flash-api-egress", (edited) => {
      delete edited.spec!.egress![0]!.ports;
    });
    assert.match(
      runRule(dataStoreEgress, policy, PROD)[0]!.message,
      /postgres but the rule allows every port/,
    );
  });
});
