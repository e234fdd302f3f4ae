/**
 * public-ingress: ingress ipBlocks only from the ALB's CIDRs, only to the ALB's targets, on their port. Called
 * directly, then the mutant (0.0.0.0/0 on port 22 to flash-api) through `npm run check` under
 * prod's pack config. The mutation catalog runs the same mutant on the program's own policy set.
 */
import { strict as assert } from "assert";
import * as path from "path";
import type { NetworkPolicyView } from "../../policies/rules/k8s";
import { publicIngress, reachesOutside, CONFIG } from "../../policies/rules/publicIngress";
import type { PolicyVerdict } from "../../offline/policyHarness";
import { runCli } from "../support/runCli";
import { runRule } from "../support/ruleArgs";
import { assertTargetsPass, mutated, packRuleConfig, prodFullTarget } from "../support/targets";

const VPC = ["10.30.0.0/16", "100.64.0.0/16"];
const GATEWAY = { namespace: "flash-ticket", podLabels: { app: "flash-gateway" }, port: 3000 };
// prod's ALB subnets (fixtures/aws/prod.json, the subnets tagged kubernetes.io/role/elb).
const ALB = ["10.30.0.0/24", "10.30.1.0/24", "10.30.2.0/24"];
const CONFIGURED = { vpcCidrs: VPC, albTargets: [GATEWAY], albCidrs: ALB };

function ingressPolicy(
  app: string,
  rule: NonNullable<NonNullable<NetworkPolicyView["spec"]>["ingress"]>[number],
): NetworkPolicyView {
  return {
    metadata: { name: `${app}-ingress`, namespace: "flash-ticket" },
    spec: { podSelector: { matchLabels: { app } }, policyTypes: ["Ingress"], ingress: [rule] },
  };
}
const fromCidr = (cidr: string, port?: number) => ({
  from: [{ ipBlock: { cidr } }],
  ...(port === undefined ? {} : { ports: [{ protocol: "TCP" as const, port }] }),
});

describe("public-ingress, called directly", () => {
  it("a cidr is outside the VPC unless one VPC CIDR contains it", () => {
    assert.equal(reachesOutside("10.30.4.0/24", VPC), false);
    assert.equal(reachesOutside("100.64.0.0/16", VPC), false);
    assert.equal(reachesOutside("10.0.0.0/8", VPC), true);
    assert.equal(reachesOutside("0.0.0.0/0", VPC), true);
    assert.equal(reachesOutside("::/0", VPC), true);
    assert.equal(reachesOutside("10.30.4.0/24", []), true);
  });

  it("the mutant, 0.0.0.0/0 on port 22 to flash-api: one violation naming policy, rule index, cidr and fix", () => {
    const found = runRule(publicIngress, ingressPolicy("flash-api", fromCidr("0.0.0.0/0", 22)), CONFIGURED);
    assert.equal(found.length, 1);
    assert.match(
      found[0]!.message,
      /^NetworkPolicy flash-ticket\/flash-api-ingress: spec\.ingress\[0\] \(ingress rule 0\) admits 0\.0\.0\.0\/0 .*outside the VPC CIDRs \[10\.30\.0\.0\/16, 100\.64\.0\.0\/16\], on 22\/TCP\. Fix: narrow spec\.ingress\[0\]\.from\[0\]\.ipBlock\.cidr to the ALB's subnets \[10\.30\.0\.0\/24, 10\.30\.1\.0\/24, 10\.30\.2\.0\/24\]/,
    );
  });

  it("the ALB's target from the ALB's subnets on its own port passes; from 0.0.0.0/0, on another port, or every port, it does not", () => {
    assert.deepEqual(
      runRule(publicIngress, ingressPolicy("flash-gateway", fromCidr("10.30.1.0/24", 3000)), CONFIGURED),
      [],
    );
    const fromInternet = runRule(
      publicIngress,
      ingressPolicy("flash-gateway", fromCidr("0.0.0.0/0", 3000)),
      CONFIGURED,
    );
    assert.equal(fromInternet.length, 1);
    assert.match(fromInternet[0]!.message, /admits 0\.0\.0\.0\/0 .*outside the VPC CIDRs/);
    const wrongPort = runRule(
      publicIngress,
      ingressPolicy("flash-gateway", fromCidr("10.30.0.0/24", 22)),
      CONFIGURED,
    );
    assert.equal(wrongPort.length, 1);
    assert.match(wrongPort[0]!.message, /on 22\/TCP\. Fix: restrict spec\.ingress\[0\]\.ports to 3000\/TCP/);
    const everyPort = runRule(
      publicIngress,
      ingressPolicy("flash-gateway", fromCidr("203.0.113.0/24")),
      CONFIGURED,
    );
    assert.match(everyPort[0]!.message, /203\.0\.113\.0\/24 .* on every port/);
  });

  it("a selector wider than the target (podSelector {}) is not the target, even on its port", () => {
    const wide: NetworkPolicyView = {
      metadata: { name: "wide", namespace: "flash-ticket" },
      spec: { podSelector: {}, ingress: [fromCidr("0.0.0.0/0", 3000)] },
    };
    assert.equal(runRule(publicIngress, wide, CONFIGURED).length, 1);
    const otherNamespace = { ...ingressPolicy("flash-gateway", fromCidr("0.0.0.0/0", 3000)) };
    otherNamespace.metadata = { name: "x", namespace: "elsewhere" };
    assert.equal(runRule(publicIngress, otherNamespace, CONFIGURED).length, 1);
  });

  it("ingress from inside the VPC but not the ALB (the pod CIDR, the VPC, a node subnet) is refused; the ALB's subnets to a non-target too; pod peers are not its business", () => {
    for (const cidr of ["100.64.0.0/16", "10.30.0.0/16", "10.30.16.0/20"]) {
      const found = runRule(publicIngress, ingressPolicy("flash-gateway", fromCidr(cidr, 3000)), CONFIGURED);
      assert.equal(found.length, 1, cidr);
      assert.match(found[0]!.message, /not the ALB's addresses/);
    }
    const nonTarget = runRule(
      publicIngress,
      ingressPolicy("flash-api", fromCidr("10.30.1.0/24", 4000)),
      CONFIGURED,
    );
    assert.equal(nonTarget.length, 1);
    assert.match(nonTarget[0]!.message, /selects no service the flow table lets alb reach/);
    const podPeer = ingressPolicy("flash-api", {
      from: [{ podSelector: { matchLabels: { app: "flash-gateway" } } }],
      ports: [{ protocol: "TCP", port: 4000 }],
    });
    assert.deepEqual(runRule(publicIngress, podPeer, CONFIGURED), []);
  });

  it("with no config nothing is public: every ipBlock is outside an unknown VPC and no service is the ALB's", () => {
    assert.deepEqual(CONFIG.parse({}), { vpcCidrs: [], albTargets: [], albCidrs: [] });
    assert.equal(
      runRule(publicIngress, ingressPolicy("flash-gateway", fromCidr("10.30.1.0/24", 3000)), {}).length,
      1,
    );
  });

  it("its configSchema is the engine's shape, derived from the zod config", () => {
    const schema = publicIngress.configSchema!;
    assert.deepEqual(Object.keys(schema).sort(), ["properties", "required"]);
    assert.deepEqual(Object.keys(schema.properties).sort(), ["albCidrs", "albTargets", "vpcCidrs"]);
    assert.deepEqual(schema.required, []);
    assert.deepEqual(schema.properties["albTargets"]!.default, []);
  });
});

describe("public-ingress on the program's targets", () => {
  it("passes prod's full target under prod's config and dev's target under dev's", () => {
    assertTargetsPass(publicIngress);
  });

  it("refuses the gateway's rule widened to the VPC or the pod range", () => {
    const prod = packRuleConfig("prod", "public-ingress");
    for (const cidr of ["10.30.0.0/16", "100.64.0.0/16"]) {
      const policy = mutated(prodFullTarget(), "flash-gateway-ingress", (edited) => {
        edited.spec!.ingress![0]!.from = [{ ipBlock: { cidr } }];
      });
      assert.match(runRule(publicIngress, policy, prod)[0]!.message, /not the ALB's addresses/, cidr);
    }
  });
});

describe("public-ingress through npm run check @process", function () {
  it("the mutant is refused under prod's pack config (mandatory), with exit 1", async () => {
    const result = await runCli(
      "cli/check.ts",
      path.join("tests", "fixtures", "policies", "public-ingress.yaml"),
      "--stack",
      "prod",
    );
    assert.equal(result.code, 1, result.stderr);
    const verdicts = (JSON.parse(result.stdout) as PolicyVerdict[]).filter(
      (verdict) => verdict.policy === "public-ingress",
    );
    assert.deepEqual(
      verdicts.map((verdict) => [verdict.level, verdict.resource]),
      [["mandatory", "NetworkPolicy flash-ticket/flash-api-ingress"]],
    );
    assert.match(
      verdicts[0]!.message,
      /spec\.ingress\[1\] \(ingress rule 1\) admits 0\.0\.0\.0\/0 .* on 22\/TCP/,
    );
  });
});
