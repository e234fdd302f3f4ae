/**
 * eks-vpc-cni-pod-maps: hazards of the VPC CNI agent's per-pod merge that only show across
 * policies, found with the analyzer/eks model of the controller and the agent.
 */
import { strict as assert } from "assert";
import type { PolicyResource } from "@pulumi/policy";
import { sharedPolicyHarness } from "../../offline/sharedPolicyHarness";
import { fromRegisteredResources, networkPolicyResource } from "../../offline/policyResources";
import { runStack } from "../../offline/runProgram";
import { NETWORK_POLICY_TYPE } from "../../core/resourceTypes";
import { checkPodMaps } from "../../policies/rules/eksVpcCniPodMaps";
import { eksVpcCniLints } from "../../policies/rules/eksVpcCniLints";
import type { NetworkPolicyView } from "../../policies/rules/k8s";
import { runRule } from "../support/ruleArgs";

const RULE = "eks-vpc-cni-pod-maps";
/** The packs' ClusterIP range (policies/config/*.json), clear of the test's 10.0.0.0/8. */
const LINTS_CONFIG = { serviceCidrs: ["172.20.0.0/16"] };
const NAMESPACE = "shop";

function egressPolicy(name: string, podLabels: Record<string, string>, egress: unknown[]): NetworkPolicyView {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name, namespace: NAMESPACE },
    spec: { podSelector: { matchLabels: podLabels }, policyTypes: ["Egress"], egress },
  } as NetworkPolicyView;
}

const asResources = (...policies: NetworkPolicyView[]): PolicyResource[] =>
  policies.map(
    (props) =>
      ({
        type: NETWORK_POLICY_TYPE,
        name: props.metadata!.name!,
        urn: `urn:pulumi:test::flash-netpol::${NETWORK_POLICY_TYPE}::${props.metadata!.name!}`,
        props,
      }) as unknown as PolicyResource,
  );

const tcp = (...ports: number[]) => ports.map((port) => ({ port, protocol: "TCP" }));
const app = { app: "shop-api" };

/** 10.0.0.0/8 except 10.1.0.0/16 in one policy. */
const wideWithExcept = egressPolicy("shop-api-private", app, [
  { to: [{ ipBlock: { cidr: "10.0.0.0/8", except: ["10.1.0.0/16"] } }], ports: tcp(443) },
]);

describe("eks-vpc-cni-pod-maps: an except range of one policy against another's CIDR", () => {
  it("a narrower CIDR of another policy that contains the except: one verdict naming both and the range", () => {
    const covering = egressPolicy("shop-api-legacy", app, [
      { to: [{ ipBlock: { cidr: "10.0.0.0/12" } }], ports: tcp(8443) },
    ]);
    const found = checkPodMaps(asResources(wideWithExcept, covering));
    assert.equal(found.length, 1, JSON.stringify(found, null, 2));
    const [verdict] = found;
    assert.match(verdict!.message, /^NetworkPolicy shop\/shop-api-private: /);
    assert.match(verdict!.message, /spec\.egress\[0\] excepts 10\.1\.0\.0\/16 from 10\.0\.0\.0\/8/);
    assert.match(
      verdict!.message,
      /NetworkPolicy shop\/shop-api-legacy spec\.egress\[0\] allows 10\.0\.0\.0\/12/,
    );
    assert.match(verdict!.message, /pods labelled app=shop-api in shop/);
    assert.equal(verdict!.urn, `urn:pulumi:test::flash-netpol::${NETWORK_POLICY_TYPE}::shop-api-private`);
    assert.equal(verdict!.forceLevel, undefined, "advisory by the rule's level, raised only by pack config");
    // Each policy alone is clean: only the merge makes the hazard, which the resource rule cannot see.
    for (const policy of [wideWithExcept, covering])
      assert.deepEqual(runRule(eksVpcCniLints, policy, LINTS_CONFIG), []);
  });

  it("no verdict when the other policy's CIDR lies inside the except (a longer key: the agent answers as upstream)", () => {
    const inside = egressPolicy("shop-api-inside", app, [
      { to: [{ ipBlock: { cidr: "10.1.2.0/24" } }], ports: tcp(8443) },
    ]);
    assert.deepEqual(checkPodMaps(asResources(wideWithExcept, inside)), []);
  });

  it("no verdict when the policies select different pods, or the other policy excepts the range too", () => {
    const otherPods = egressPolicy("shop-web-legacy", { app: "shop-web" }, [
      { to: [{ ipBlock: { cidr: "10.0.0.0/12" } }], ports: tcp(8443) },
    ]);
    assert.deepEqual(checkPodMaps(asResources(wideWithExcept, otherPods)), []);
    const alsoExcepting = egressPolicy("shop-api-legacy", app, [
      { to: [{ ipBlock: { cidr: "10.0.0.0/12", except: ["10.1.0.0/16"] } }], ports: tcp(8443) },
    ]);
    assert.deepEqual(checkPodMaps(asResources(wideWithExcept, alsoExcepting)), []);
  });

  it("a policy selecting every pod (podSelector {}) merges with the others", () => {
    const everyPod = {
      ...egressPolicy("all-legacy", {}, [{ to: [{ ipBlock: { cidr: "10.0.0.0/12" } }], ports: tcp(8443) }]),
    };
    everyPod.spec!.podSelector = {};
    const found = checkPodMaps(asResources(wideWithExcept, everyPod));
    assert.equal(found.length, 1, JSON.stringify(found, null, 2));
    assert.match(
      found[0]!.message,
      /NetworkPolicy shop\/all-legacy spec\.egress\[0\] allows 10\.0\.0\.0\/12/,
    );
  });
});

describe("eks-vpc-cni-pod-maps: port entries per CIDR across policies", () => {
  const range = (from: number, count: number) => Array.from({ length: count }, (_, index) => from + index);
  const cidr = "10.40.0.0/16";

  it("25 entries for one CIDR split over two policies: a verdict naming both", () => {
    const first = egressPolicy("shop-api-a", app, [
      { to: [{ ipBlock: { cidr } }], ports: tcp(...range(9000, 13)) },
    ]);
    const second = egressPolicy("shop-api-b", app, [
      { to: [{ ipBlock: { cidr } }], ports: tcp(...range(9100, 12)) },
    ]);
    for (const policy of [first, second]) assert.deepEqual(runRule(eksVpcCniLints, policy, LINTS_CONFIG), []);
    const found = checkPodMaps(asResources(first, second));
    assert.equal(found.length, 1, JSON.stringify(found, null, 2));
    assert.match(found[0]!.message, /egress CIDR 10\.40\.0\.0\/16 gets 25 port\/protocol entries/);
    assert.match(found[0]!.message, /NetworkPolicy shop\/shop-api-a, NetworkPolicy shop\/shop-api-b/);
  });

  it("24 entries, or the same ports listed twice, are within the agent's cap", () => {
    const first = egressPolicy("shop-api-a", app, [
      { to: [{ ipBlock: { cidr } }], ports: tcp(...range(9000, 12)) },
    ]);
    const second = egressPolicy("shop-api-b", app, [
      { to: [{ ipBlock: { cidr } }], ports: tcp(...range(9100, 12)) },
    ]);
    assert.deepEqual(checkPodMaps(asResources(first, second)), []);
    const duplicate = egressPolicy("shop-api-c", app, [
      { to: [{ ipBlock: { cidr } }], ports: tcp(...range(9000, 12)) },
    ]);
    assert.deepEqual(checkPodMaps(asResources(first, second, duplicate)), []);
  });
});

describe("policy pack: eks-vpc-cni-pod-maps through the pack @process", () => {
  it("the program's own dev and prod stacks: no verdict", async () => {
    for (const stack of ["dev", "prod"] as const) {
      const run = await runStack({ stack });
      if (run.error !== undefined) throw run.error;
      const harness = await sharedPolicyHarness({ stack });
      const verdicts = await harness.preview(fromRegisteredResources(run.resources));
      assert.deepEqual(
        verdicts.filter((verdict) => verdict.policy === RULE),
        [],
        stack,
      );
    }
  });

  it("under prod's pack config the except hazard is advisory", async () => {
    const covering = egressPolicy("shop-api-legacy", app, [
      { to: [{ ipBlock: { cidr: "10.0.0.0/12" } }], ports: tcp(8443) },
    ]);
    const harness = await sharedPolicyHarness({ stack: "prod" });
    const verdicts = await harness.analyzeStack(
      [wideWithExcept, covering].map((policy) =>
        networkPolicyResource(policy as Record<string, unknown>, "prod", policy.metadata!.name!),
      ),
    );
    const found = verdicts.filter((verdict) => verdict.policy === RULE);
    assert.deepEqual(
      found.map((verdict) => [verdict.level, verdict.resource]),
      [["advisory", "NetworkPolicy shop/shop-api-private"]],
    );
  });
});
