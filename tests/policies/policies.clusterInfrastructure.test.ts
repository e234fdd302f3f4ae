/**
 * cluster-infrastructure: no egress ipBlock to the node, control-plane or pod subnets, no rule on
 * the kubelet and kube-proxy ports, on prod's full target. prod's node and cluster subnets are
 * 10.30.16.0/20, 10.30.32.0/20 and 10.30.48.0/20 (fixtures/aws/prod.json: the node group's
 * `subnets` and the cluster's resourcesVpcConfig.subnetIds are the same three private subnets).
 */
import { strict as assert } from "assert";
import { clusterInfrastructure, NAME } from "../../policies/rules/clusterInfrastructure";
import { runRule } from "../support/ruleArgs";
import {
  packRuleConfig,
  prodFullTarget,
  withEgress,
  withIngress,
  useStackConfig,
  assertTargetsPass,
} from "../support/targets";

const PROD = packRuleConfig("prod", NAME);
const target = prodFullTarget();
const ALB_SUBNET = { ipBlock: { cidr: "10.30.0.0/24" } };

describe("cluster-infrastructure", () => {
  useStackConfig("prod");

  it("prod's pack config states the subnets the fixture's node group and cluster use", () => {
    const subnets = ["10.30.16.0/20", "10.30.32.0/20", "10.30.48.0/20"];
    assert.deepEqual(PROD["nodeCidrs"], subnets);
    assert.deepEqual(PROD["controlPlaneCidrs"], subnets);
  });

  it("passes prod's full target under prod's config and dev's target under dev's", () => {
    assertTargetsPass(clusterInfrastructure);
  });

  it("passes a wide block that excepts the node subnets (the payment rule's RFC1918 except)", () => {
    const wide = withEgress(
      target,
      "flash-pay-egress",
      [{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/8"] } }],
      [{ port: 443 }],
    );
    assert.deepEqual(runRule(clusterInfrastructure, wide, PROD), []);
  });

  const egressVariants: [string, string, number, RegExp][] = [
    ["a node subnet on 443", "10.30.16.0/20", 443, /10\.30\.16\.0\/20 \(node subnet/],
    [
      "one node on the kubelet port",
      "10.30.17.5/32",
      10250,
      /node subnet.*covers 10250|covers 10250.*node subnet/s,
    ],
    [
      "the whole VPC on the redis port",
      "10.30.0.0/16",
      6379,
      /10\.30\.16\.0\/20 .*10\.30\.32\.0\/20 .*10\.30\.48\.0\/20/,
    ],
    ["10.0.0.0/8 on 443", "10.0.0.0/8", 443, /control-plane subnet/],
  ];
  for (const [what, cidr, port, message] of egressVariants) {
    it(`refuses egress from flash-api to ${what}`, () => {
      const found = runRule(
        clusterInfrastructure,
        withEgress(target, "flash-api-egress", [{ ipBlock: { cidr } }], [{ port }]),
        PROD,
      );
      assert.ok(found.length >= 1);
      assert.match(found.map((entry) => entry.message).join("\n"), message);
      assert.match(found[0]!.message, /^NetworkPolicy flash-ticket\/flash-api-egress: spec\.egress\[4\]/);
    });
  }

  it("refuses a wide block that excepts only some node subnets", () => {
    const partial = withEgress(
      target,
      "flash-api-egress",
      [{ ipBlock: { cidr: "10.30.0.0/16", except: ["10.30.16.0/20"] } }],
      [{ port: 443 }],
    );
    const [found] = runRule(clusterInfrastructure, partial, PROD);
    assert.match(found!.message, /reaches 10\.30\.32\.0\/20 .*10\.30\.48\.0\/20/);
    assert.doesNotMatch(found!.message, /reaches 10\.30\.16\.0\/20/);
  });

  const portVariants: [string, { port: number; endPort?: number }][] = [
    ["the kubelet API 10250", { port: 10250 }],
    ["the read-only kubelet 10255", { port: 10255 }],
    ["kube-proxy health 10256", { port: 10256 }],
    ["a range covering 10250", { port: 10000, endPort: 11000 }],
  ];
  for (const [what, port] of portVariants) {
    it(`refuses ${what} whatever the peer: ingress from the ALB, egress to a known pod`, () => {
      const ingress = runRule(
        clusterInfrastructure,
        withIngress(target, "flash-gateway-ingress", [ALB_SUBNET], [port]),
        PROD,
      );
      assert.equal(ingress.length, 1);
      assert.match(ingress[0]!.message, /spec\.ingress\[1\]\.ports\[0\] .*kubelet API/);
      const egress = runRule(
        clusterInfrastructure,
        withEgress(
          target,
          "flash-gateway-egress",
          [{ podSelector: { matchLabels: { app: "flash-api" } } }],
          [port],
        ),
        PROD,
      );
      assert.equal(egress.length, 1);
    });
  }

  it("refuses the pod subnets of custom networking once configured", () => {
    const config = { ...PROD, podCidrs: ["100.64.0.0/16"] };
    const found = runRule(
      clusterInfrastructure,
      withEgress(target, "flash-api-egress", [{ ipBlock: { cidr: "100.64.8.0/24" } }], [{ port: 8080 }]),
      config,
    );
    assert.match(found[0]!.message, /100\.64\.0\.0\/16 \(pod subnet/);
  });

  it("refuses a {} peer on 443: every address, the nodes included", () => {
    const found = runRule(
      clusterInfrastructure,
      withEgress(target, "flash-api-egress", [{}], [{ port: 443 }]),
      PROD,
    );
    assert.equal(found.length, 1);
    assert.match(
      found[0]!.message,
      /spec\.egress\[4\]\.to\[0\] 0\.0\.0\.0\/0 reaches 10\.30\.16\.0\/20 \(node subnet/,
    );
  });

  it("a node subnet a data store shares (accepted) is left to data-store-egress on the store's port only", () => {
    const config = { ...PROD, sharedWithDataStores: [{ cidr: "10.30.16.0/20", ports: [6379] }] };
    const onStorePort = withEgress(
      target,
      "flash-api-egress",
      [{ ipBlock: { cidr: "10.30.16.0/20" } }],
      [{ port: 6379 }],
    );
    assert.deepEqual(runRule(clusterInfrastructure, onStorePort, config), []);
    const onOtherPort = withEgress(
      target,
      "flash-api-egress",
      [{ ipBlock: { cidr: "10.30.16.0/20" } }],
      [{ port: 443 }],
    );
    assert.equal(runRule(clusterInfrastructure, onOtherPort, config).length, 1);
    const kubelet = withEgress(
      target,
      "flash-api-egress",
      [{ ipBlock: { cidr: "10.30.16.0/20" } }],
      [{ port: 10250 }],
    );
    assert.equal(runRule(clusterInfrastructure, kubelet, config).length, 2);
  });
});
