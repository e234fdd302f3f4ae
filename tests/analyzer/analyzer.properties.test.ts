// Laws of NetworkPolicy semantics that must hold for any policies and pods.
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  PolicyAnalyzer,
  computeGroupedMatrix,
  firstMatrixDifference,
  type Cluster,
  type ContainerPort,
  type Endpoint,
  type LabelSelector,
  type LabelSelectorRequirement,
  type NetworkPolicy,
  type NetworkPolicyPeer,
  type NetworkPolicyPort,
  type NetworkPolicySpec,
  type PodInfo,
  type Probe,
  type TrafficPort,
} from "../../analyzer";
import { computePlainMatrix } from "../../bench/plainMatrix";
import { namespace, policy } from "./analyzer.fixtures";

// Tiny vocabularies make selectors, ipBlocks and named ports collide often enough to matter.
const LABEL_VALUES = ["a", "b", "c"];
const POLICY_NAMESPACES = ["n1", "n2"];
/** No policy is ever generated here, so nothing can select its pods. */
const QUIET_NAMESPACE = "quiet";
const ALL_NAMESPACES = [...POLICY_NAMESPACES, QUIET_NAMESPACE];
const DECLARABLE_PORTS: ContainerPort[] = [
  { name: "http", port: 80, protocol: "TCP" },
  { name: "alt", port: 81, protocol: "TCP" },
  { name: "dns", port: 53, protocol: "UDP" },
  { name: "sig", port: 80, protocol: "SCTP" },
];
const TRAFFIC_PORTS: TrafficPort[] = [
  { port: 80, protocol: "TCP" },
  { port: 81, protocol: "TCP" },
  { port: 53, protocol: "UDP" },
  { port: 80, protocol: "SCTP" },
];
const EXTERNAL_ADDRESSES = ["8.8.8.8", "10.0.9.9"];

const labelsArb = fc.record(
  { app: fc.constantFrom(...LABEL_VALUES), tier: fc.constantFrom(...LABEL_VALUES) },
  { requiredKeys: [] },
);

const requirementArb: fc.Arbitrary<LabelSelectorRequirement> = fc.oneof(
  fc.record({
    key: fc.constantFrom("app", "tier", "team"),
    operator: fc.constantFrom("In" as const, "NotIn" as const),
    values: fc.subarray(LABEL_VALUES, { minLength: 1 }),
  }),
  fc.record({
    key: fc.constantFrom("app", "tier", "team"),
    operator: fc.constantFrom("Exists" as const, "DoesNotExist" as const),
  }),
);

const selectorArb: fc.Arbitrary<LabelSelector> = fc.record(
  {
    matchLabels: fc.record(
      { app: fc.constantFrom(...LABEL_VALUES), team: fc.constantFrom(...LABEL_VALUES) },
      { requiredKeys: [] },
    ),
    matchExpressions: fc.array(requirementArb, { maxLength: 2 }),
  },
  { requiredKeys: [] },
);

const peerArb: fc.Arbitrary<NetworkPolicyPeer> = fc.oneof(
  fc.record({ podSelector: selectorArb }),
  fc.record({ namespaceSelector: selectorArb }),
  fc.record({ podSelector: selectorArb, namespaceSelector: selectorArb }),
  fc.record({
    ipBlock: fc.record({
      cidr: fc.constantFrom("10.0.0.0/8", "10.0.1.0/24", "0.0.0.0/0"),
      except: fc.subarray(["10.0.1.1/32", "10.0.2.0/24"]),
    }),
  }),
);

const policyPortArb: fc.Arbitrary<NetworkPolicyPort> = fc.oneof(
  fc.record({ protocol: fc.constantFrom("TCP" as const, "UDP" as const, "SCTP" as const) }),
  fc.record(
    {
      protocol: fc.constantFrom("TCP" as const, "UDP" as const, "SCTP" as const),
      port: fc.constantFrom(53, 80, 81),
    },
    { requiredKeys: ["port"] },
  ),
  fc.record({ port: fc.constant(80), endPort: fc.constantFrom(80, 81) }),
  fc.record(
    {
      protocol: fc.constantFrom("TCP" as const, "UDP" as const, "SCTP" as const),
      port: fc.constantFrom("http", "alt", "dns", "sig", "missing"),
    },
    { requiredKeys: ["port"] },
  ),
);

const ruleParts = {
  ports: fc.array(policyPortArb, { maxLength: 2 }),
};

const specArb: fc.Arbitrary<NetworkPolicySpec> = fc.record(
  {
    podSelector: selectorArb,
    policyTypes: fc.subarray(["Ingress" as const, "Egress" as const]),
    ingress: fc.array(
      fc.record({ from: fc.array(peerArb, { maxLength: 2 }), ...ruleParts }, { requiredKeys: [] }),
      {
        maxLength: 2,
      },
    ),
    egress: fc.array(
      fc.record({ to: fc.array(peerArb, { maxLength: 2 }), ...ruleParts }, { requiredKeys: [] }),
      {
        maxLength: 2,
      },
    ),
  },
  { requiredKeys: ["podSelector"] },
);

const policiesArb: fc.Arbitrary<NetworkPolicy[]> = fc
  .array(fc.tuple(fc.constantFrom(...POLICY_NAMESPACES), specArb), { maxLength: 4 })
  .map((entries) => entries.map(([ns, spec], index) => policy(`${ns}/p${index}`, spec)));

const clusterArb: fc.Arbitrary<Cluster> = fc
  .record({
    namespaceTeams: fc.tuple(...ALL_NAMESPACES.map(() => fc.constantFrom(...LABEL_VALUES))),
    pods: fc.array(
      fc.record({
        namespace: fc.constantFrom(...ALL_NAMESPACES),
        labels: labelsArb,
        ports: fc.subarray(DECLARABLE_PORTS),
      }),
      { minLength: 1, maxLength: 6 },
    ),
    policies: policiesArb,
  })
  .map(({ namespaceTeams, pods, policies }) => ({
    namespaces: ALL_NAMESPACES.map((name, i) => namespace(name, { team: namespaceTeams[i] })),
    pods: pods.map((p, i): PodInfo => ({
      ...p,
      name: `pod${i}`,
      ip: `10.0.${ALL_NAMESPACES.indexOf(p.namespace) + 1}.${i + 1}`,
    })),
    policies,
  }));

/** Every pod-to-pod, pod-to-external and external-to-pod probe on every traffic port. */
function allProbes(cluster: Cluster): Probe[] {
  const podEndpoints: Endpoint[] = cluster.pods.map((pod) => ({ kind: "pod", pod }));
  const externals: Endpoint[] = EXTERNAL_ADDRESSES.map((ip) => ({ kind: "external", ip }));
  const pairs: [Endpoint, Endpoint][] = [];
  for (const from of podEndpoints) for (const to of [...podEndpoints, ...externals]) pairs.push([from, to]);
  for (const from of externals) for (const to of podEndpoints) pairs.push([from, to]);
  return pairs.flatMap(([from, to]) =>
    TRAFFIC_PORTS.map(({ port, protocol }) => ({ from, to, port, protocol })),
  );
}

const describeProbe = (probe: Probe): string => {
  const name = (e: Endpoint): string => (e.kind === "pod" ? `${e.pod.namespace}/${e.pod.name}` : e.ip);
  return `${name(probe.from)} -> ${name(probe.to)} ${probe.port}/${probe.protocol}`;
};

describe("analyzer: properties", function () {
  it("a pod that no policy can select accepts every ingress", () => {
    fc.assert(
      fc.property(clusterArb, (cluster) => {
        const analyzer = new PolicyAnalyzer(cluster);
        for (const probe of allProbes(cluster)) {
          if (probe.to.kind !== "pod" || probe.to.pod.namespace !== QUIET_NAMESPACE) continue;
          assert.equal(analyzer.explain(probe).ingress.kind, "not-isolated", describeProbe(probe));
          if (probe.from.kind === "external")
            assert.equal(analyzer.isAllowed(probe), true, describeProbe(probe));
        }
      }),
    );
  });

  it("adding a policy never removes a flow from a side that was already isolated", () => {
    fc.assert(
      fc.property(clusterArb, fc.constantFrom(...POLICY_NAMESPACES), specArb, (cluster, ns, spec) => {
        const before = new PolicyAnalyzer(cluster);
        const after = new PolicyAnalyzer({
          ...cluster,
          policies: [...cluster.policies, policy(`${ns}/added`, spec)],
        });
        for (const probe of allProbes(cluster)) {
          const was = before.explain(probe);
          const now = after.explain(probe);
          if (was.ingress.kind === "allowed")
            assert.equal(now.ingress.kind, "allowed", `ingress ${describeProbe(probe)}`);
          if (was.egress.kind === "allowed")
            assert.equal(now.egress.kind, "allowed", `egress ${describeProbe(probe)}`);
        }
      }),
    );
  });

  it("the order of policies never matters", () => {
    const withPermutation = clusterArb.chain((cluster) =>
      fc
        .shuffledSubarray([...cluster.policies], {
          minLength: cluster.policies.length,
          maxLength: cluster.policies.length,
        })
        .map((policies) => [cluster, policies] as const),
    );
    fc.assert(
      fc.property(withPermutation, ([cluster, permuted]) => {
        const original = new PolicyAnalyzer(cluster);
        const reordered = new PolicyAnalyzer({ ...cluster, policies: permuted });
        for (const probe of allProbes(cluster)) {
          assert.equal(reordered.isAllowed(probe), original.isAllowed(probe), describeProbe(probe));
        }
      }),
    );
  });

  it("a lone default-deny denies every flow to and from the pods it selects, and only those", () => {
    fc.assert(
      fc.property(clusterArb, fc.constantFrom(...POLICY_NAMESPACES), (cluster, ns) => {
        const denyAll = policy(`${ns}/default-deny`, { podSelector: {}, policyTypes: ["Ingress", "Egress"] });
        const analyzer = new PolicyAnalyzer({ ...cluster, policies: [denyAll] });
        const inDeniedNamespace = (e: Endpoint): boolean => e.kind === "pod" && e.pod.namespace === ns;
        for (const probe of allProbes(cluster)) {
          const touchesDenied = inDeniedNamespace(probe.from) || inDeniedNamespace(probe.to);
          assert.equal(analyzer.isAllowed(probe), !touchesDenied, describeProbe(probe));
        }
      }),
    );
  });

  it("the grouped matrix equals the plain pod-by-pod matrix", () => {
    // Replicas (pods with copied labels and ports but their own IP) exercise the grouping.
    const withReplicas = clusterArb.map((cluster) => ({
      ...cluster,
      pods: cluster.pods.flatMap((pod, i) => [
        pod,
        { ...pod, name: `${pod.name}-r`, ip: `10.0.${i + 10}.1` },
      ]),
    }));
    fc.assert(
      fc.property(withReplicas, (cluster) => {
        const difference = firstMatrixDifference(
          computeGroupedMatrix(cluster, TRAFFIC_PORTS),
          computePlainMatrix(cluster, TRAFFIC_PORTS),
        );
        assert.equal(difference, undefined);
      }),
    );
  });
});
