/**
 * The EKS grouped matrix (analyzer/eks/groupedMatrix.ts) against the per-pod model it replaces at
 * scale: for random small clusters, every (source pod, destination pod, port) verdict must equal
 * EksEnforcer.isAllowed, which builds each pod's whole maps (every selected peer's IP a /32 key).
 *
 * The clusters are built to hit what a grouping could get wrong: overlapping labels, ipBlocks and
 * excepts that contain some replicas' IPs and not others', a /32 ipBlock equal to one pod's IP, node
 * IPs (one equal to a pod's IP, one equal to an ipBlock's network address), named ports that resolve
 * differently per pod, a Service ClusterIP, both enforcing modes, the legacy, v1.3 and main agents,
 * cluster policies and ApplicationNetworkPolicies. A deliberately coarse grouping (same namespace, labels and ports, address ranges
 * ignored) must be caught by the same property.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import type {
  ContainerPort,
  LabelSelector,
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  PodInfo,
  TrafficPort,
} from "../../core/kubernetes";
import { podKey } from "../../core/kubernetes";
import {
  EksEnforcer,
  MAIN_AGENT_MODEL,
  agentModelFor,
  clusterNetworkPoliciesFromKubectl,
  computeEksGroupedMatrix,
  groupEksPods,
  type AgentModel,
  type ApplicationNetworkPolicy,
  type EksCluster,
  type EksPodGrouping,
  type EnforcingMode,
} from "../../analyzer/eks";
import { canonicalLabels } from "../../analyzer/podGroups";

const NAMESPACES = [
  { name: "a", labels: { "kubernetes.io/metadata.name": "a", team: "red" } },
  { name: "b", labels: { "kubernetes.io/metadata.name": "b", team: "blue" } },
];
const LABELS: Record<string, string>[] = [{ app: "x" }, { app: "x", tier: "web" }, { app: "y", tier: "web" }];
/** "http" means 8080 on some pods and 9090 on others: a named port resolving per pod. */
const PORT_SETS: ContainerPort[][] = [
  [{ name: "http", port: 8080, protocol: "TCP" }],
  [{ name: "http", port: 9090, protocol: "TCP" }],
  [],
];
const NODE_IPS = ["192.168.0.1", "192.168.0.2", "10.0.2.0"];
/** 192.168.0.1 is also a node's IP; 10.0.1.2 is also a /32 ipBlock; the rest straddle the CIDRs below. */
const POD_IPS = [
  ...["10.0.1.1", "10.0.1.2", "10.0.1.3", "10.0.1.4", "10.0.2.1", "10.0.2.200", "10.0.2.201"],
  ...["10.0.3.1", "10.0.3.2", "10.0.3.3", "192.168.0.1"],
];
const CIDRS = ["10.0.0.0/16", "10.0.1.0/24", "10.0.1.2/32", "0.0.0.0/0", "10.0.2.0/24", "192.168.0.0/24"];
const EXCEPTS = ["10.0.1.0/24", "10.0.1.2/32", "10.0.2.0/25"];
const CLUSTER_IP = "172.20.0.10";
const MATRIX_PORTS: TrafficPort[] = [
  { port: 8080, protocol: "TCP" },
  { port: 9090, protocol: "TCP" },
  { port: 53, protocol: "UDP" },
];

const AGENTS: AgentModel[] = [
  MAIN_AGENT_MODEL,
  (agentModelFor("v1.2.2") as { ok: true; model: AgentModel }).model,
  (agentModelFor("v1.3.5") as { ok: true; model: AgentModel }).model,
];

const selectorArb = fc.constantFrom<LabelSelector>(
  {},
  { matchLabels: { app: "x" } },
  { matchLabels: { tier: "web" } },
  { matchExpressions: [{ key: "app", operator: "NotIn", values: ["x"] }] },
);
const peerArb: fc.Arbitrary<NetworkPolicyPeer> = fc.oneof(
  selectorArb.map((podSelector) => ({ podSelector })),
  fc
    .tuple(
      fc.constantFrom<LabelSelector>({}, { matchLabels: { team: "blue" } }),
      fc.option(selectorArb, { nil: undefined }),
    )
    .map(([namespaceSelector, podSelector]) => ({
      namespaceSelector,
      ...(podSelector === undefined ? {} : { podSelector }),
    })),
  fc
    .tuple(fc.constantFrom(...CIDRS), fc.subarray(EXCEPTS, { maxLength: 2 }))
    .map(([cidr, except]) => ({ ipBlock: { cidr, ...(except.length === 0 ? {} : { except }) } })),
);
const portsArb: fc.Arbitrary<NetworkPolicyPort[] | undefined> = fc.constantFrom(
  undefined,
  [{ port: "http" }],
  [{ protocol: "TCP" as const, port: 8080 }],
  [{ protocol: "TCP" as const, port: 8000, endPort: 9100 }],
  [{ protocol: "UDP" as const, port: 53 }],
  [{ port: "http" }, { protocol: "UDP" as const, port: 53 }],
);
const peersArb = fc.option(fc.array(peerArb, { maxLength: 2 }), { nil: undefined });
const ruleArb = fc.record({ peers: peersArb, ports: portsArb });

const policyArb = fc
  .record({
    namespace: fc.constantFrom("a", "b"),
    podSelector: selectorArb,
    policyTypes: fc.option(fc.subarray(["Ingress", "Egress"] as const), { nil: undefined }),
    ingress: fc.option(fc.array(ruleArb, { maxLength: 2 }), { nil: undefined }),
    egress: fc.option(fc.array(ruleArb, { maxLength: 2 }), { nil: undefined }),
  })
  .map((spec): NetworkPolicy => ({
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: "np", namespace: spec.namespace },
    spec: {
      podSelector: spec.podSelector,
      ...(spec.policyTypes === undefined ? {} : { policyTypes: [...spec.policyTypes] }),
      ...(spec.ingress === undefined
        ? {}
        : { ingress: spec.ingress.map((rule) => ({ from: rule.peers, ports: rule.ports })) }),
      ...(spec.egress === undefined
        ? {}
        : { egress: spec.egress.map((rule) => ({ to: rule.peers, ports: rule.ports })) }),
    },
  }));

const podSpecArb = fc.record({
  namespace: fc.constantFrom("a", "b"),
  labels: fc.constantFrom(...LABELS),
  ports: fc.constantFrom(...PORT_SETS),
  node: fc.option(fc.constantFrom(...NODE_IPS), { nil: undefined }),
});

/** One Admin or Baseline cluster policy over a network and a pod selector, for agents that have them. */
const clusterPolicyArb = fc.record({
  tier: fc.constantFrom("Admin", "Baseline"),
  action: fc.constantFrom("Accept", "Deny", "Pass"),
  network: fc.constantFrom(...CIDRS),
  port: fc.option(fc.constantFrom(8080, 9090), { nil: undefined }),
});

const clusterArb = fc
  .record({
    pods: fc.array(podSpecArb, { minLength: 2, maxLength: POD_IPS.length }),
    policies: fc.array(policyArb, { minLength: 1, maxLength: 4 }),
    withService: fc.boolean(),
    /** The last policy becomes an ApplicationNetworkPolicy (namespace tier, policyTypes as written). */
    lastAsApplicationPolicy: fc.boolean(),
    clusterPolicies: fc.array(clusterPolicyArb, { maxLength: 2 }),
    mode: fc.constantFrom<EnforcingMode>("standard", "strict"),
    agent: fc.constantFrom(...AGENTS),
  })
  .chain((spec) =>
    fc
      .shuffledSubarray(POD_IPS, { minLength: spec.pods.length, maxLength: spec.pods.length })
      .map((ips) => ({ ...spec, ips })),
  );

type Case = typeof clusterArb extends fc.Arbitrary<infer T> ? T : never;

function buildCase(spec: Case) {
  const pods: PodInfo[] = spec.pods.map((pod, index) => ({
    namespace: pod.namespace,
    name: `p${index}`,
    labels: pod.labels,
    ip: spec.ips[index],
    ports: pod.ports,
  }));
  const nodeIps: Record<string, string> = {};
  spec.pods.forEach((pod, index) => {
    if (pod.node !== undefined) nodeIps[podKey(pods[index])] = pod.node;
  });
  const named = spec.policies.map((policy, index) => ({
    ...policy,
    metadata: { ...policy.metadata, name: `np-${index}` },
  }));
  const applicationPolicies: ApplicationNetworkPolicy[] = spec.lastAsApplicationPolicy
    ? named.splice(-1).map((policy) => ({ metadata: policy.metadata, spec: policy.spec }))
    : [];
  const cluster: EksCluster = {
    namespaces: NAMESPACES,
    pods,
    policies: named,
    nodeIps,
    ...(spec.withService
      ? {
          services: [
            {
              namespace: "a",
              name: "svc",
              clusterIP: CLUSTER_IP,
              selector: { app: "x" },
              ports: [{ port: 80, protocol: "TCP" as const, targetPort: "http" }],
            },
          ],
        }
      : {}),
  };
  const clusterPolicies = clusterNetworkPoliciesFromKubectl(
    spec.clusterPolicies.map((cnp, index) => ({
      metadata: { name: `cnp-${index}` },
      spec: {
        tier: cnp.tier,
        priority: 10,
        subject: { namespaces: { matchLabels: { team: "red" } } },
        egress: [
          {
            action: cnp.action,
            to: [{ networks: [cnp.network] }],
            ...(cnp.port === undefined ? {} : { ports: [{ portNumber: { port: cnp.port } }] }),
          },
        ],
        ingress: [
          {
            action: cnp.action,
            from: [{ pods: { namespaceSelector: {}, podSelector: { matchLabels: { app: "x" } } } }],
          },
        ],
      },
    })),
    "fuzz",
  );
  return {
    cluster,
    options: { mode: spec.mode, agent: spec.agent, clusterPolicies, applicationPolicies },
  };
}

/** The first pod pair and port where the grouped matrix and the per-pod enforcer disagree. */
function firstDisagreement(
  spec: Case,
  grouping?: (cluster: EksCluster) => EksPodGrouping,
): string | undefined {
  const { cluster, options } = buildCase(spec);
  const perPod = new EksEnforcer(cluster, options);
  const grouped = computeEksGroupedMatrix(
    cluster,
    MATRIX_PORTS,
    options,
    grouping === undefined ? undefined : grouping(cluster),
  );
  for (let from = 0; from < cluster.pods.length; from++) {
    for (let to = 0; to < cluster.pods.length; to++) {
      for (const [portIndex, { port, protocol }] of MATRIX_PORTS.entries()) {
        const expected = perPod.isAllowed({
          from: { kind: "pod", pod: cluster.pods[from] },
          to: { kind: "pod", pod: cluster.pods[to] },
          port,
          protocol,
        });
        if (grouped.isAllowed(from, to, portIndex) !== expected) {
          return `${podKey(cluster.pods[from])} (${cluster.pods[from].ip}) -> ${podKey(cluster.pods[to])} (${cluster.pods[to].ip}) ${port}/${protocol}: per-pod ${expected}`;
        }
      }
    }
  }
  return undefined;
}

/** The mutant: pods with the same namespace, labels and ports share a group whatever their address. */
function ignoringAddresses(cluster: EksCluster): EksPodGrouping {
  const byKey = new Map<string, number>();
  const groups: { representative: PodInfo; members: number[] }[] = [];
  const groupOfPod = new Int32Array(cluster.pods.length);
  cluster.pods.forEach((pod, index) => {
    const key = `${pod.namespace}|${canonicalLabels(pod.labels)}|${JSON.stringify(pod.ports)}`;
    let g = byKey.get(key);
    if (g === undefined) {
      g = groups.length;
      byKey.set(key, g);
      groups.push({ representative: pod, members: [] });
    }
    groups[g].members.push(index);
    groupOfPod[index] = g;
  });
  return {
    groups,
    groupOfPod,
    exactAddress: groups.map(() => false),
    addressClass: new Int32Array(groups.length),
    relevantNode: groups.map(() => ""),
  };
}

describe("EKS agent model: grouped matrix against per-pod maps", () => {
  it("agrees with EksEnforcer on every pod pair and port (random clusters, modes, agents)", () => {
    let merged = 0;
    fc.assert(
      fc.property(clusterArb, (spec) => {
        const { cluster, options } = buildCase(spec);
        if (groupEksPods(cluster, options).groups.length < cluster.pods.length) merged++;
        const difference = firstDisagreement(spec);
        assert.equal(difference, undefined, difference);
      }),
      { numRuns: 300 },
    );
    // Not vacuous: many runs put several pods in one group.
    assert.ok(merged > 50, `only ${merged} of 300 runs grouped pods together`);
  });

  it("keeps the written rule order for a pod whose IP is also an ipBlock key (24-entry value)", () => {
    // a/x at 10.0.1.2 is listed by rule 0 (podSelector, port 8080) and by rule 1 (ipBlock 10.0.1.2/32,
    // ports 9001-9024). Rules sort by prefix, stably: rule 0 first, so the key's value is rule 1's 24
    // ports then 8080 (fw_rule_processor.go:125-127 prepends the later rule), and the 25th, 8080, is
    // dropped: 8080 from x is denied, 9001 allowed. Taking the ipBlock first would keep 8080.
    const pods: PodInfo[] = [
      { namespace: "a", name: "x", labels: { app: "x" }, ip: "10.0.1.2", ports: [] },
      { namespace: "a", name: "y", labels: { app: "y" }, ip: "10.0.1.3", ports: [] },
    ];
    const ipBlockPorts = Array.from({ length: 24 }, (_, i) => ({ protocol: "TCP" as const, port: 9001 + i }));
    const cluster: EksCluster = {
      namespaces: NAMESPACES,
      pods,
      policies: [
        {
          apiVersion: "networking.k8s.io/v1",
          kind: "NetworkPolicy",
          metadata: { name: "y-in", namespace: "a" },
          spec: {
            podSelector: { matchLabels: { app: "y" } },
            ingress: [
              {
                from: [{ podSelector: { matchLabels: { app: "x" } } }],
                ports: [{ protocol: "TCP", port: 8080 }],
              },
              { from: [{ ipBlock: { cidr: "10.0.1.2/32" } }], ports: ipBlockPorts },
            ],
          },
        },
      ],
    };
    const ports: TrafficPort[] = [
      { port: 8080, protocol: "TCP" },
      { port: 9001, protocol: "TCP" },
    ];
    const grouped = computeEksGroupedMatrix(cluster, ports);
    const perPod = new EksEnforcer(cluster);
    const probe = (port: number) =>
      perPod.isAllowed({
        from: { kind: "pod", pod: pods[0] },
        to: { kind: "pod", pod: pods[1] },
        port,
        protocol: "TCP",
      });
    assert.deepEqual([probe(8080), probe(9001)], [false, true]);
    assert.deepEqual([grouped.isAllowed(0, 1, 0), grouped.isAllowed(0, 1, 1)], [false, true]);
  });

  it("catches a grouping that ignores which ipBlocks and nodes a pod's IP falls in", () => {
    const outcome = fc.check(
      fc.property(clusterArb, (spec) => firstDisagreement(spec, ignoringAddresses) === undefined),
      { numRuns: 300 },
    );
    assert.ok(outcome.failed, "the coarse grouping passed 300 random clusters");
  });
});
