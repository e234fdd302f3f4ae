/**
 * The program under Pulumi's mock runtime, for dev and prod: the exact policies with their
 * selectors, ports and CIDRs. Expected values are written here from the flow table in DEVELOPERS.md
 * and the subnets recorded in fixtures/aws/*.json, not taken from the program's output.
 */
import * as assert from "node:assert/strict";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { networkPolicies, runStack, type ProgramRun } from "../../offline/runProgram";

const DEV_ALB = ["10.20.0.0/24", "10.20.1.0/24", "10.20.2.0/24"];
const DEV_DATA = ["10.20.64.0/24", "10.20.65.0/24"];
// The single-instance dev broker sits in the first data subnet only.
const DEV_MQ = ["10.20.64.0/24"];
const PROD_ALB = ["10.30.0.0/24", "10.30.1.0/24", "10.30.2.0/24"];
const PROD_REDIS = ["10.30.64.0/24", "10.30.65.0/24", "10.30.66.0/24"];
const PROD_POSTGRES = ["10.30.80.0/24", "10.30.81.0/24", "10.30.82.0/24"];
const PROD_MQ = ["10.30.96.0/24", "10.30.97.0/24"];

const ipBlocks = (cidrs: string[]) => cidrs.map((cidr) => ({ ipBlock: { cidr } }));
const tcp = (port: number) => [{ protocol: "TCP", port }];
const KUBE_DNS_PEER = {
  namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
  podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
};
const DNS_PORTS = [
  { protocol: "UDP", port: 53 },
  { protocol: "TCP", port: 53 },
];
const pods = (app: string) => ({ podSelector: { matchLabels: { app } } });

function specsByName(run: ProgramRun): Record<string, unknown> {
  assert.equal(run.error, undefined, run.error?.message);
  return Object.fromEntries(
    networkPolicies(run).map((policy) => [policy.inputs.metadata.name, policy.inputs.spec]),
  );
}

describe("program under mocks: dev (everything enforced)", () => {
  let run: ProgramRun;
  before(async () => {
    run = await runStack({ stack: "dev" });
  });

  it("registers exactly the eight policies of full enforcement", () => {
    assert.deepEqual(Object.keys(specsByName(run)).sort(), [
      "allow-dns-egress",
      "default-deny-all",
      "flash-api-egress",
      "flash-api-ingress",
      "flash-gateway-egress",
      "flash-gateway-ingress",
      "flash-pay-egress",
      "flash-pay-ingress",
    ]);
  });

  it("renders every policy with the selectors, ports and CIDRs of the flow table", () => {
    const specs = specsByName(run);
    assert.deepEqual(specs["flash-gateway-ingress"], {
      podSelector: { matchLabels: { app: "flash-gateway" } },
      policyTypes: ["Ingress"],
      ingress: [{ from: ipBlocks(DEV_ALB), ports: tcp(3000) }],
    });
    assert.deepEqual(specs["flash-gateway-egress"], {
      podSelector: { matchLabels: { app: "flash-gateway" } },
      policyTypes: ["Egress"],
      egress: [
        { to: [pods("flash-api")], ports: tcp(4000) },
        { to: ipBlocks(DEV_DATA), ports: tcp(6379) },
        { to: [KUBE_DNS_PEER], ports: DNS_PORTS },
      ],
    });
    assert.deepEqual(specs["flash-api-ingress"], {
      podSelector: { matchLabels: { app: "flash-api" } },
      policyTypes: ["Ingress"],
      ingress: [{ from: [pods("flash-gateway")], ports: tcp(4000) }],
    });
    assert.deepEqual(specs["flash-api-egress"], {
      podSelector: { matchLabels: { app: "flash-api" } },
      policyTypes: ["Egress"],
      // dev's stores share subnets: each CIDR stands in one rule with all its ports (the VPC CNI
      // agent mishandles one CIDR in several rules), which allows exactly the union of the flows.
      egress: [
        { to: ipBlocks(["10.20.64.0/24"]), ports: [...tcp(15432), ...tcp(6379), ...tcp(5671)] },
        { to: ipBlocks(["10.20.65.0/24"]), ports: [...tcp(15432), ...tcp(6379)] },
        { to: [KUBE_DNS_PEER], ports: DNS_PORTS },
      ],
    });
    assert.deepEqual(specs["flash-pay-ingress"], {
      podSelector: { matchLabels: { app: "flash-pay" } },
      policyTypes: ["Ingress"],
      ingress: [],
    });
    assert.deepEqual(specs["flash-pay-egress"], {
      podSelector: { matchLabels: { app: "flash-pay" } },
      policyTypes: ["Egress"],
      egress: [
        { to: ipBlocks(DEV_MQ), ports: tcp(5671) },
        {
          // The dev VPC 10.20.0.0/16 lies inside 10.0.0.0/8, so the RFC1918 range already excepts it.
          to: [
            {
              ipBlock: {
                cidr: "0.0.0.0/0",
                except: ["10.0.0.0/8", "100.64.0.0/10", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16"],
              },
            },
          ],
          ports: tcp(443),
        },
        { to: [KUBE_DNS_PEER], ports: DNS_PORTS },
      ],
    });
    assert.deepEqual(specs["allow-dns-egress"], {
      podSelector: {},
      policyTypes: ["Egress"],
      egress: [{ to: [KUBE_DNS_PEER], ports: DNS_PORTS }],
    });
    assert.deepEqual(specs["default-deny-all"], { podSelector: {}, policyTypes: ["Ingress", "Egress"] });
  });

  it("puts every policy in the application namespace with labels saying who manages it", () => {
    for (const policy of networkPolicies(run)) {
      const metadata = policy.inputs.metadata;
      assert.equal(metadata.namespace, "flash-ticket");
      assert.equal(metadata.labels["app.kubernetes.io/managed-by"], "pulumi");
      assert.equal(metadata.labels["app.kubernetes.io/part-of"], "flash-netpol");
    }
  });

  it("exports the policy names, the CIDRs per data store and the effective flow table", () => {
    assert.deepEqual(run.outputs.cidrs, {
      alb: DEV_ALB,
      redis: DEV_DATA,
      postgres: DEV_DATA,
      mq: DEV_MQ,
      vpc: ["10.20.0.0/16"],
      payment: ["0.0.0.0/0"],
    });
    assert.equal((run.outputs.policyNames as string[]).length, 8);
    const flows = run.outputs.flowTable as { from: string; to: string; ports: { port: number }[] }[];
    assert.equal(flows.length, 11, "DEVELOPERS.md lists 11 allowed flows");
    const postgres = flows.find((flow) => flow.from === "flash-api" && flow.to === "postgres");
    assert.deepEqual(
      postgres?.ports.map((port) => port.port),
      [15432],
    );
  });

  it("validates every manifest against the Kubernetes NetworkPolicy schema", () => {
    for (const policy of networkPolicies(run)) {
      assert.doesNotThrow(() => new NetworkPolicy(policy.inputs as never).validate(), policy.name);
    }
  });
});

describe("program under mocks: prod (mid-rollout)", () => {
  let run: ProgramRun;
  before(async () => {
    run = await runStack({ stack: "prod" });
  });

  it("registers every ingress, the egress of gateway and pay worker, and no default deny", () => {
    assert.deepEqual(Object.keys(specsByName(run)).sort(), [
      "flash-api-ingress",
      "flash-gateway-egress",
      "flash-gateway-ingress",
      "flash-pay-egress",
      "flash-pay-ingress",
    ]);
  });

  it("uses the prod subnets, the Aurora subnet group and NodeLocal DNSCache", () => {
    const specs = specsByName(run);
    assert.deepEqual(specs["flash-gateway-ingress"], {
      podSelector: { matchLabels: { app: "flash-gateway" } },
      policyTypes: ["Ingress"],
      ingress: [{ from: ipBlocks(PROD_ALB), ports: tcp(3000) }],
    });
    assert.deepEqual(specs["flash-gateway-egress"], {
      podSelector: { matchLabels: { app: "flash-gateway" } },
      policyTypes: ["Egress"],
      egress: [
        { to: [pods("flash-api")], ports: tcp(4000) },
        { to: ipBlocks(PROD_REDIS), ports: tcp(6379) },
        { to: [KUBE_DNS_PEER, { ipBlock: { cidr: "169.254.20.10/32" } }], ports: DNS_PORTS },
      ],
    });
    assert.deepEqual(specs["flash-pay-egress"], {
      podSelector: { matchLabels: { app: "flash-pay" } },
      policyTypes: ["Egress"],
      egress: [
        { to: ipBlocks(PROD_MQ), ports: tcp(5671) },
        {
          // prod's secondary VPC range 100.64.0.0/16 (pod custom networking) lies in the carrier-grade NAT
          // space 100.64.0.0/10, which is always excepted, as RFC1918 is.
          to: [
            {
              ipBlock: {
                cidr: "0.0.0.0/0",
                except: ["10.0.0.0/8", "100.64.0.0/10", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16"],
              },
            },
          ],
          ports: tcp(443),
        },
        { to: [KUBE_DNS_PEER, { ipBlock: { cidr: "169.254.20.10/32" } }], ports: DNS_PORTS },
      ],
    });
    assert.deepEqual(run.outputs.cidrs, {
      alb: PROD_ALB,
      redis: PROD_REDIS,
      postgres: PROD_POSTGRES,
      mq: PROD_MQ,
      // 10.31.0.0/16 is recorded as disassociated and must not count.
      vpc: ["10.30.0.0/16", "100.64.0.0/16"],
      payment: ["0.0.0.0/0"],
    });
  });

  it("validates every manifest against the Kubernetes NetworkPolicy schema", () => {
    for (const policy of networkPolicies(run)) {
      assert.doesNotThrow(() => new NetworkPolicy(policy.inputs as never).validate(), policy.name);
    }
  });
});

describe("the schema check can fail", () => {
  it("rejects a NetworkPolicy with a port of the wrong type and an unknown policy type", () => {
    const broken = {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "broken" },
      spec: { podSelector: {}, policyTypes: [42], ingress: [{ ports: [{ port: { number: 80 } }] }] },
    };
    assert.throws(() => new NetworkPolicy(broken as never).validate());
  });
});
