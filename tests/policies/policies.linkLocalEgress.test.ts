/**
 * link-local-egress: every form of reaching link-local space (IMDS, the EKS Pod Identity agent,
 * the whole /16, a wider block without the except, the IPv6 and IPv4-mapped forms) is refused on
 * prod's full target; the NodeLocal DNSCache /32 on port 53 is the one thing allowed.
 */
import { strict as assert } from "assert";
import { linkLocalEgress, NAME } from "../../policies/rules/linkLocalEgress";
import { runRule } from "../support/ruleArgs";
import {
  devTarget,
  mutated,
  packRuleConfig,
  prodFullTarget,
  withEgress,
  useStackConfig,
  assertTargetsPass,
} from "../support/targets";

const PROD = packRuleConfig("prod", NAME);
const DEV = packRuleConfig("dev", NAME);
const target = prodFullTarget();

describe("link-local-egress", () => {
  useStackConfig("prod");

  it("passes prod's full target under prod's config and dev's target under dev's", () => {
    assert.equal(PROD["nodeLocalAddress"], "169.254.20.10");
    assertTargetsPass(linkLocalEgress);
  });

  it("allows the NodeLocal DNSCache /32 on 53 UDP and TCP, and a wide block that excepts link-local", () => {
    const nodeLocal = withEgress(
      target,
      "flash-api-egress",
      [{ ipBlock: { cidr: "169.254.20.10/32" } }],
      [
        { port: 53, protocol: "UDP" },
        { port: 53, protocol: "TCP" },
      ],
    );
    assert.deepEqual(runRule(linkLocalEgress, nodeLocal, PROD), []);
    const excepted = withEgress(
      target,
      "flash-pay-egress",
      [{ ipBlock: { cidr: "128.0.0.0/1", except: ["169.254.0.0/16"] } }],
      [{ port: 443 }],
    );
    assert.deepEqual(runRule(linkLocalEgress, excepted, PROD), []);
  });

  const refused: [string, string, number][] = [
    ["IMDS, node IAM credentials", "169.254.169.254/32", 80],
    ["EKS Pod Identity agent, pod IAM credentials", "169.254.170.23/32", 80],
    ["the whole link-local /16", "169.254.0.0/16", 443],
    ["a wider block that does not except link-local", "128.0.0.0/1", 443],
    ["IPv6 IMDS", "fd00:ec2::254/128", 80],
    ["IPv6 Pod Identity agent", "fd00:ec2::23/128", 80],
    ["IPv6 link-local", "fe80::/10", 443],
    ["all of IPv6", "::/0", 443],
    ["IMDS written IPv4-mapped", "::ffff:169.254.169.254/128", 80],
    ["the NodeLocal address on another port", "169.254.20.10/32", 80],
    ["a /31 around the NodeLocal address", "169.254.20.10/31", 53],
  ];
  for (const [what, cidr, port] of refused) {
    it(`refuses ${what} (${cidr} on ${port})`, () => {
      const policy = withEgress(target, "flash-api-egress", [{ ipBlock: { cidr } }], [{ port }]);
      const found = runRule(linkLocalEgress, policy, PROD);
      assert.equal(found.length, 1);
      assert.match(
        found[0]!.message,
        /^NetworkPolicy flash-ticket\/flash-api-egress: spec\.egress\[4\]\.to\[0\]\.ipBlock /,
      );
      assert.match(found[0]!.message, /IAM credentials/);
    });
  }

  it("refuses the payment rule once 169.254.0.0/16 is dropped from its except", () => {
    const policy = mutated(target, "flash-pay-egress", (edited) => {
      const block = edited.spec!.egress![1]!.to![0]!.ipBlock!;
      assert.equal(block.cidr, "0.0.0.0/0");
      block.except = block.except!.filter((range) => range !== "169.254.0.0/16");
    });
    const found = runRule(linkLocalEgress, policy, PROD);
    assert.equal(found.length, 1);
    assert.match(
      found[0]!.message,
      /0\.0\.0\.0\/0 includes link-local 169\.254\.0\.0\/16 without excepting it/,
    );
  });

  it("refuses the NodeLocal address on a port range covering 53, and any link-local address where none is configured (dev)", () => {
    const range = withEgress(
      target,
      "flash-api-egress",
      [{ ipBlock: { cidr: "169.254.20.10/32" } }],
      [{ port: 1, endPort: 65535 }],
    );
    assert.equal(runRule(linkLocalEgress, range, PROD).length, 1);
    const dev = withEgress(
      devTarget(),
      "flash-api-egress",
      [{ ipBlock: { cidr: "169.254.20.10/32" } }],
      [{ port: 53, protocol: "UDP" }],
    );
    assert.match(
      runRule(linkLocalEgress, dev, DEV)[0]!.message,
      /link-local-egress\.nodeLocalAddress is not set/,
    );
  });

  it("refuses a rule that allows every destination (no to, an empty to, a {} peer): it reaches IMDS too", () => {
    for (const rule of [
      { ports: [{ protocol: "TCP" as const, port: 80 }] },
      { to: [], ports: [{ protocol: "TCP" as const, port: 80 }] },
      { to: [{}], ports: [{ protocol: "TCP" as const, port: 80 }] },
    ]) {
      const policy = mutated(target, "flash-api-egress", (edited) => {
        edited.spec!.egress!.push(rule);
      });
      const found = runRule(linkLocalEgress, policy, PROD).map((entry) => entry.message);
      assert.equal(found.length, 2, JSON.stringify(rule));
      assert.match(
        found[0]!,
        /spec\.egress\[4\]\.to(\[0\])? 0\.0\.0\.0\/0 includes link-local 169\.254\.0\.0\/16/,
      );
      assert.match(found[1]!, /::\/0 includes link-local fe80::\/10, fd00:ec2::254\/128, fd00:ec2::23\/128/);
    }
  });
});
