/**
 * The EKS VPC CNI enforcer model: each agent and controller behaviour it models, on small clusters
 * whose verdicts follow from the upstream source (docs/fidelity/eks-agent.md), and the law that ties it to
 * upstream semantics: with no `except`, no Service and no node address, both enforcers agree.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  PolicyAnalyzer,
  type Cluster,
  type Endpoint,
  type LabelSelector,
  type NetworkPolicyPeer,
  type NetworkPolicyPort,
  type NetworkPolicySpec,
  type PodInfo,
  type Probe,
  type TrafficPort,
} from "../../analyzer";
import { EksEnforcer, MAX_PORT_PROTOCOL, computeMapEntries, type ServiceInfo } from "../../analyzer/eks";
import { at, external, namespace, pod, policy, probe } from "./analyzer.fixtures";

const LABEL_VALUES = ["a", "b", "c"];
const NAMESPACES = ["n1", "n2", "quiet"];
const TRAFFIC_PORTS: TrafficPort[] = [
  { port: 80, protocol: "TCP" },
  { port: 81, protocol: "TCP" },
  { port: 53, protocol: "UDP" },
  { port: 80, protocol: "SCTP" },
];
const EXTERNAL_ADDRESSES = ["8.8.8.8", "10.0.9.9"];

const selectorArb: fc.Arbitrary<LabelSelector> = fc.record(
  {
    matchLabels: fc.record(
      { app: fc.constantFrom(...LABEL_VALUES), team: fc.constantFrom(...LABEL_VALUES) },
      { requiredKeys: [] },
    ),
    matchExpressions: fc.array(
      fc.record({
        key: fc.constantFrom("app", "team"),
        operator: fc.constantFrom("In" as const, "NotIn" as const),
        values: fc.subarray(LABEL_VALUES, { minLength: 1 }),
      }),
      { maxLength: 1 },
    ),
  },
  { requiredKeys: [] },
);

// No `except` (the agent turns excepts into deny-all keys) and no named ports (the controller
// resolves an ingress named port across every selected pod): the two places the law does not hold.
const peerArb: fc.Arbitrary<NetworkPolicyPeer> = fc.oneof(
  fc.record({ podSelector: selectorArb }),
  fc.record({ namespaceSelector: selectorArb }),
  fc.record({ podSelector: selectorArb, namespaceSelector: selectorArb }),
  fc.record({
    ipBlock: fc.record({ cidr: fc.constantFrom("10.0.0.0/8", "10.0.1.0/24", "0.0.0.0/0", "10.0.1.2/32") }),
  }),
);

const portArb: fc.Arbitrary<NetworkPolicyPort> = fc.oneof(
  fc.record({ protocol: fc.constantFrom("TCP" as const, "UDP" as const, "SCTP" as const) }),
  fc.record({
    protocol: fc.constantFrom("TCP" as const, "UDP" as const, "SCTP" as const),
    port: fc.constantFrom(53, 80, 81),
  }),
  fc.record({
    protocol: fc.constant("TCP" as const),
    port: fc.constant(80),
    endPort: fc.constantFrom(80, 81),
  }),
);

const ports = fc.array(portArb, { maxLength: 2 });

// policyTypes as the API server stores them, and rules only for the directions it lists (the
// controller reads spec.ingress/egress whatever policyTypes says; the pack refuses the mismatch).
const specArb: fc.Arbitrary<NetworkPolicySpec> = fc
  .record({
    podSelector: selectorArb,
    types: fc.subarray(["Ingress" as const, "Egress" as const], { minLength: 1 }),
    ingress: fc.array(fc.record({ from: fc.array(peerArb, { maxLength: 2 }), ports }, { requiredKeys: [] }), {
      maxLength: 2,
    }),
    egress: fc.array(fc.record({ to: fc.array(peerArb, { maxLength: 2 }), ports }, { requiredKeys: [] }), {
      maxLength: 2,
    }),
  })
  .map(({ podSelector, types, ingress, egress }) => ({
    podSelector,
    policyTypes: types,
    ...(types.includes("Ingress") ? { ingress } : {}),
    ...(types.includes("Egress") ? { egress } : {}),
  }));

const clusterArb: fc.Arbitrary<Cluster> = fc
  .record({
    teams: fc.tuple(...NAMESPACES.map(() => fc.constantFrom(...LABEL_VALUES))),
    pods: fc.array(
      fc.record({
        namespace: fc.constantFrom(...NAMESPACES),
        labels: fc.record(
          { app: fc.constantFrom(...LABEL_VALUES), team: fc.constantFrom(...LABEL_VALUES) },
          { requiredKeys: [] },
        ),
      }),
      { minLength: 1, maxLength: 5 },
    ),
    policies: fc.array(fc.tuple(fc.constantFrom("n1", "n2"), specArb), { maxLength: 4 }),
  })
  .map(({ teams, pods, policies }) => ({
    namespaces: NAMESPACES.map((name, index) => namespace(name, { team: teams[index] })),
    pods: pods.map((p, index): PodInfo => ({
      ...p,
      name: `pod${index}`,
      ip: `10.0.${NAMESPACES.indexOf(p.namespace) + 1}.${index + 1}`,
      ports: [
        { name: "http", port: 80, protocol: "TCP" },
        { name: "dns", port: 53, protocol: "UDP" },
      ],
    })),
    policies: policies.map(([ns, spec], index) => policy(`${ns}/p${index}`, spec)),
  }));

function allProbes(cluster: Cluster): Probe[] {
  const pods: Endpoint[] = cluster.pods.map((p) => at(p));
  const externals = EXTERNAL_ADDRESSES.map(external);
  const pairs: [Endpoint, Endpoint][] = [];
  for (const from of pods) for (const to of [...pods, ...externals]) if (from !== to) pairs.push([from, to]);
  for (const from of externals) for (const to of pods) pairs.push([from, to]);
  return pairs.flatMap(([from, to]) =>
    TRAFFIC_PORTS.map(({ port, protocol }) => probe(from, to, port, protocol)),
  );
}

const name = (e: Endpoint) => (e.kind === "pod" ? `${e.pod.namespace}/${e.pod.name}` : e.ip);

describe("EKS enforcer: agrees with upstream semantics without except, Services or node addresses", function () {
  it("every probe of random clusters gets the same verdict from both enforcers", () => {
    fc.assert(
      fc.property(clusterArb, (cluster) => {
        const upstream = new PolicyAnalyzer(cluster);
        const eks = new EksEnforcer(cluster);
        for (const p of allProbes(cluster)) {
          assert.equal(
            eks.isAllowed(p),
            upstream.isAllowed(p),
            `${name(p.from)} -> ${name(p.to)} ${p.port}/${p.protocol}`,
          );
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("EKS enforcer: the agent's map", () => {
  const ns = [namespace("n1")];
  const client = pod("n1/client", "10.0.1.5");
  const egressPolicy = (key: string, egress: NetworkPolicySpec["egress"]) =>
    policy(key, { podSelector: {}, policyTypes: ["Egress"], egress });

  it("an except range is a deny-all key that beats a plain CIDR of another policy (the break-glass case)", () => {
    const cluster = {
      namespaces: ns,
      pods: [client],
      policies: [
        egressPolicy("n1/allow-all", [{}]),
        egressPolicy("n1/public-443", [
          {
            to: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/8"] } }],
            ports: [{ protocol: "TCP", port: 443 }],
          },
        ]),
      ],
    };
    const rds = probe(at(client), external("10.20.3.4"), 15432);
    assert.equal(new PolicyAnalyzer(cluster).isAllowed(rds), true, "upstream: allows are a union");
    const verdict = new EksEnforcer(cluster).decide(rds);
    assert.equal(verdict.allowed, false);
    assert.ok(verdict.egress.kind === "lookup" && verdict.egress.entry?.kind === "except-deny");
    assert.equal(verdict.egress.entry.cidr, "10.0.0.0/8");
  });

  it("listing the excepted range as a plain ipBlock turns its key into an allow", () => {
    const cluster = {
      namespaces: ns,
      pods: [client],
      policies: [
        egressPolicy("n1/allow-all", [{}, { to: [{ ipBlock: { cidr: "10.0.0.0/8" } }] }]),
        egressPolicy("n1/public-443", [
          {
            to: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/8"] } }],
            ports: [{ protocol: "TCP", port: 443 }],
          },
        ]),
      ],
    };
    assert.equal(new EksEnforcer(cluster).isAllowed(probe(at(client), external("10.20.3.4"), 15432)), true);
  });

  it("a narrower CIDR inherits ports only from containing CIDRs that do not except it (agent issue #180)", () => {
    const cluster = {
      namespaces: ns,
      pods: [client],
      policies: [
        egressPolicy("n1/wide", [
          {
            to: [{ ipBlock: { cidr: "10.0.0.0/8", except: ["10.1.0.0/16"] } }],
            ports: [{ protocol: "TCP", port: 80 }],
          },
        ]),
        egressPolicy("n1/narrow", [
          { to: [{ ipBlock: { cidr: "10.1.2.0/24" } }], ports: [{ protocol: "TCP", port: 443 }] },
          { to: [{ ipBlock: { cidr: "10.2.0.0/16" } }], ports: [{ protocol: "TCP", port: 443 }] },
        ]),
      ],
    };
    const eks = new EksEnforcer(cluster);
    // 10.2.0.0/16 is inside 10.0.0.0/8 and not excepted: it inherits 80 as well as its own 443.
    assert.equal(eks.isAllowed(probe(at(client), external("10.2.0.9"), 80)), true);
    assert.equal(eks.isAllowed(probe(at(client), external("10.2.0.9"), 443)), true);
    // 10.1.2.0/24 lies in the except: no 80 from the wide rule, only its own 443.
    assert.equal(eks.isAllowed(probe(at(client), external("10.1.2.9"), 80)), false);
    assert.equal(eks.isAllowed(probe(at(client), external("10.1.2.9"), 443)), true);
  });

  it("one CIDR in several rules and policies with different ports is the union of the ports", () => {
    const cluster = {
      namespaces: ns,
      pods: [client],
      policies: [
        egressPolicy("n1/a", [
          { to: [{ ipBlock: { cidr: "10.9.0.0/24" } }], ports: [{ protocol: "TCP", port: 6379 }] },
          { to: [{ ipBlock: { cidr: "10.9.0.0/24" } }], ports: [{ protocol: "TCP", port: 5671 }] },
        ]),
        egressPolicy("n1/b", [
          { to: [{ ipBlock: { cidr: "10.9.0.0/24" } }], ports: [{ protocol: "TCP", port: 15432 }] },
        ]),
      ],
    };
    const eks = new EksEnforcer(cluster);
    for (const port of [6379, 5671, 15432]) {
      assert.equal(eks.isAllowed(probe(at(client), external("10.9.0.20"), port)), true, String(port));
    }
    assert.equal(eks.isAllowed(probe(at(client), external("10.9.0.20"), 22)), false);
  });

  it("the pod's own node is allowed in both directions whatever the policies say", () => {
    const cluster = {
      namespaces: ns,
      pods: [client],
      policies: [policy("n1/deny", { podSelector: {}, policyTypes: ["Ingress", "Egress"] })],
      nodeIps: { "n1/client": "10.0.1.1" },
    };
    const eks = new EksEnforcer(cluster);
    assert.equal(eks.isAllowed(probe(external("10.0.1.1"), at(client), 10250)), true);
    assert.equal(eks.isAllowed(probe(at(client), external("10.0.1.1"), 22)), true);
    assert.equal(eks.isAllowed(probe(at(client), external("10.0.1.2"), 22)), false, "another node is not");
  });

  it(`a key holds at most ${MAX_PORT_PROTOCOL} port entries across all policies; the rest are dropped`, () => {
    const rules = Array.from({ length: 30 }, (_, index) => ({
      policy: `n1/p${index % 3}`,
      ruleIndex: index,
      cidr: "10.9.0.0/24",
      except: [],
      ports: [{ protocol: "TCP" as const, port: 1000 + index }],
    }));
    const [entry] = computeMapEntries(rules, undefined);
    assert.equal(entry.l4.length, MAX_PORT_PROTOCOL);
    assert.equal(entry.dropped.length, 30 - MAX_PORT_PROTOCOL);
  });

  it("strict mode denies everything to and from a pod no policy selects; standard allows it", () => {
    const lone = pod("n2/lone", "10.0.2.5");
    const cluster = { namespaces: [...ns, namespace("n2")], pods: [client, lone], policies: [] };
    const toLone = probe(at(client), at(lone), 80);
    assert.equal(new EksEnforcer(cluster).isAllowed(toLone), true);
    assert.equal(new EksEnforcer(cluster, { mode: "strict" }).isAllowed(toLone), false);
  });
});

describe("EKS enforcer: Service ClusterIPs in egress rules", () => {
  const nsList = [namespace("n1")];
  const gateway = pod("n1/gateway", "10.0.1.5", { app: "gateway" });
  const api = pod("n1/api", "10.0.1.6", { app: "api" }, [{ name: "http", port: 4000, protocol: "TCP" }]);
  const egress = policy("n1/gateway-egress", {
    podSelector: { matchLabels: { app: "gateway" } },
    policyTypes: ["Egress"],
    egress: [
      { to: [{ podSelector: { matchLabels: { app: "api" } } }], ports: [{ protocol: "TCP", port: 4000 }] },
    ],
  });
  const service = (overrides: Partial<ServiceInfo>): ServiceInfo => ({
    namespace: "n1",
    name: "api",
    clusterIP: "172.20.0.50",
    selector: { app: "api" },
    ports: [{ port: 80, protocol: "TCP", targetPort: 4000 }],
    ...overrides,
  });
  const viaClusterIp = {
    ...probe(at(gateway), at(api), 4000),
    viaService: { service: "n1/api", clusterIP: "172.20.0.50", port: 80 },
  };
  const clusterWith = (services: ServiceInfo[]) => ({
    namespaces: nsList,
    pods: [gateway, api],
    policies: [egress],
    services,
  });

  it("adds the ClusterIP on the Service port that targets the policy's port", () => {
    assert.equal(new EksEnforcer(clusterWith([service({})])).isAllowed(viaClusterIp), true);
  });
  it("leaves out a headless Service", () => {
    assert.equal(
      new EksEnforcer(clusterWith([service({ clusterIP: "None" })])).isAllowed(viaClusterIp),
      false,
    );
  });
  it("leaves out a Service whose selector the peer's podSelector does not match", () => {
    const other = service({ selector: { "app.kubernetes.io/name": "api" } });
    assert.equal(new EksEnforcer(clusterWith([other])).isAllowed(viaClusterIp), false);
  });
  it("leaves out a Service port whose targetPort is not the policy's port", () => {
    const wrong = service({ ports: [{ port: 80, protocol: "TCP", targetPort: 8080 }] });
    assert.equal(new EksEnforcer(clusterWith([wrong])).isAllowed(viaClusterIp), false);
  });
  it("resolves a named targetPort through the backing pods' container ports", () => {
    const named = service({ ports: [{ port: 80, protocol: "TCP", targetPort: "http" }] });
    assert.equal(new EksEnforcer(clusterWith([named])).isAllowed(viaClusterIp), true);
  });
});
