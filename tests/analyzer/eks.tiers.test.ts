/**
 * ClusterNetworkPolicy tiers and agent versions in the EKS enforcer. Every expectation is read off
 * the upstream source cited in docs/fidelity/eks-tiers.md, not off this model's output:
 *  - tc.v4egress.bpf.c evaluateFlow: Admin (priority <= 1000) decides unless it is Pass; then the
 *    namespace tier (final when a policy selects the pod); then Baseline; then the pod's default.
 *  - evaluateClusterPolicyByLookUp: lowest priority wins; at equal priority the lower action value,
 *    Deny 0 < Accept 1 < Pass 2 (utils.go CPActionType).
 *  - v1.2.0-v1.2.3 computeMapEntriesFromEndpointRules: the 0.0.0.0/0 rules' ports go into every key.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { NetworkPolicy, PodInfo } from "../../core/kubernetes";
import {
  EksEnforcer,
  agentModelFor,
  agentVersionOfAddon,
  agentVersionOfImage,
  applicationNetworkPoliciesFromKubectl,
  clusterNetworkPoliciesFromKubectl,
  type AgentModel,
  type ApplicationNetworkPolicy,
  type ClusterNetworkPolicy,
  type EksCluster,
} from "../../analyzer/eks";
import { eksPreflight } from "../../verify/eksPreflight";

const app: PodInfo = { namespace: "app", name: "api", labels: { app: "api" }, ip: "10.1.0.10", ports: [] };
const other: PodInfo = {
  namespace: "other",
  name: "batch",
  labels: { app: "batch" },
  ip: "10.1.0.20",
  ports: [],
};
const DB = "10.0.5.10";

function netpol(name: string, egress: NetworkPolicy["spec"]["egress"]): NetworkPolicy {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name, namespace: "app" },
    spec: { podSelector: { matchLabels: { app: "api" } }, policyTypes: ["Egress"], egress },
  };
}

const allowDb = netpol("allow-db", [{ to: [{ ipBlock: { cidr: "10.0.5.0/24" } }], ports: [{ port: 5432 }] }]);

function cnp(
  name: string,
  tier: "Admin" | "Baseline",
  priority: number,
  action: "Accept" | "Deny" | "Pass",
  namespace = "app",
  ports?: unknown[],
): ClusterNetworkPolicy {
  return clusterNetworkPoliciesFromKubectl(
    [
      {
        metadata: { name },
        spec: {
          tier,
          priority,
          subject: { namespaces: { matchLabels: { "kubernetes.io/metadata.name": namespace } } },
          egress: [
            {
              name: `${name}-rule`,
              action,
              to: [{ networks: ["10.0.5.0/24"] }],
              ...(ports ? { ports } : {}),
            },
          ],
        },
      },
    ],
    "test",
  )[0]!;
}

function cluster(policies: NetworkPolicy[]): EksCluster {
  return {
    namespaces: ["app", "other"].map((name) => ({ name, labels: { "kubernetes.io/metadata.name": name } })),
    pods: [app, other],
    policies,
  };
}

const v135 = (agentModelFor("v1.3.5") as { ok: true; model: AgentModel }).model;
const v127 = (agentModelFor("v1.2.7") as { ok: true; model: AgentModel }).model;
const v122 = (agentModelFor("v1.2.2") as { ok: true; model: AgentModel }).model;

function egressTo(
  pod: PodInfo,
  address: string,
  port: number,
  options: { policies?: NetworkPolicy[]; clusterPolicies?: ClusterNetworkPolicy[]; agent?: AgentModel } = {},
) {
  const enforcer = new EksEnforcer(cluster(options.policies ?? [allowDb]), {
    agent: options.agent ?? v135,
    clusterPolicies: options.clusterPolicies ?? [],
  });
  return enforcer.decide({
    from: { kind: "pod", pod },
    to: { kind: "external", ip: address },
    port,
    protocol: "TCP",
  }).egress;
}

describe("EKS cluster network policy tiers (agent v1.3.x)", () => {
  it("an Admin Deny cuts a flow a NetworkPolicy allows, and names the cluster policy", () => {
    const side = egressTo(app, DB, 5432, { clusterPolicies: [cnp("deny-db", "Admin", 10, "Deny")] });
    assert.equal(side.kind, "cluster-tier");
    assert.equal(side.kind === "cluster-tier" && side.tier, "Admin");
    assert.equal(side.kind === "cluster-tier" && side.allowed, false);
    assert.equal(side.kind === "cluster-tier" && side.slot.rule?.policy, "deny-db");
  });

  it("an Admin Pass changes nothing: the namespace tier answers", () => {
    const side = egressTo(app, DB, 5432, { clusterPolicies: [cnp("pass-db", "Admin", 10, "Pass")] });
    assert.deepEqual([side.kind, side.kind === "lookup" && side.allowed], ["lookup", true]);
    const denied = egressTo(app, DB, 5433, { clusterPolicies: [cnp("pass-db", "Admin", 10, "Pass")] });
    assert.deepEqual([denied.kind, denied.kind === "lookup" && denied.allowed], ["lookup", false]);
  });

  it("lower priority wins across actions: Pass at 5 beats Deny at 10", () => {
    const side = egressTo(app, DB, 5432, {
      clusterPolicies: [cnp("deny-db", "Admin", 10, "Deny"), cnp("pass-db", "Admin", 5, "Pass")],
    });
    assert.deepEqual([side.kind, side.kind === "lookup" && side.allowed], ["lookup", true]);
  });

  it("at equal priority Deny beats Accept and Accept beats Pass, whatever the order", () => {
    for (const order of [
      [cnp("accept", "Admin", 7, "Accept"), cnp("deny", "Admin", 7, "Deny")],
      [cnp("deny", "Admin", 7, "Deny"), cnp("accept", "Admin", 7, "Accept")],
    ]) {
      const side = egressTo(app, DB, 5432, { clusterPolicies: order });
      assert.equal(side.kind === "cluster-tier" && side.slot.rule?.policy, "deny");
    }
    const side = egressTo(other, DB, 80, {
      clusterPolicies: [
        cnp("pass", "Admin", 7, "Pass", "other"),
        cnp("accept", "Admin", 7, "Accept", "other"),
      ],
    });
    assert.equal(side.kind === "cluster-tier" && side.slot.rule?.policy, "accept");
  });

  it("a Baseline Deny does nothing to a pod a NetworkPolicy selects, and denies a pod none selects", () => {
    const baseline = [
      cnp("baseline-deny", "Baseline", 0, "Deny", "app"),
      cnp("baseline-deny-other", "Baseline", 0, "Deny", "other"),
    ];
    const selected = egressTo(app, DB, 5432, { clusterPolicies: baseline });
    assert.deepEqual([selected.kind, selected.kind === "lookup" && selected.allowed], ["lookup", true]);
    const unselected = egressTo(other, DB, 5432, { clusterPolicies: baseline });
    assert.equal(unselected.kind === "cluster-tier" && unselected.tier, "Baseline");
    assert.equal(unselected.kind === "cluster-tier" && unselected.allowed, false);
  });

  it("an Admin rule with ports matches only those ports (range inclusive of its start)", () => {
    const ranged = [
      cnp("deny-range", "Admin", 1, "Deny", "other", [{ portRange: { start: 5000, end: 5432 } }]),
    ];
    assert.equal(egressTo(other, DB, 5000, { clusterPolicies: ranged }).kind, "cluster-tier");
    assert.equal(egressTo(other, DB, 5432, { clusterPolicies: ranged }).kind, "cluster-tier");
    assert.equal(egressTo(other, DB, 5433, { clusterPolicies: ranged }).kind, "default-allow");
  });

  it("agent v1.2.7 has no cluster-policy maps: an Admin Deny is read but not enforced", () => {
    const side = egressTo(app, DB, 5432, {
      agent: v127,
      clusterPolicies: [cnp("deny-db", "Admin", 10, "Deny")],
    });
    assert.deepEqual([side.kind, side.kind === "lookup" && side.allowed], ["lookup", true]);
  });
});

describe("EKS agent versions", () => {
  // flash-pay's shape: the payment API anywhere on 443 except the VPC, and the broker on 5671.
  const pay = netpol("pay", [
    { to: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/8"] } }], ports: [{ port: 443 }] },
    { to: [{ ipBlock: { cidr: "10.0.5.0/24" } }], ports: [{ port: 5671 }] },
  ]);

  it("v1.2.2 copies the 0.0.0.0/0 rule's ports into the broker's key: MQ is reachable on 443", () => {
    assert.equal(egressTo(app, DB, 443, { policies: [pay], agent: v122 }).kind, "lookup");
    const side = egressTo(app, DB, 443, { policies: [pay], agent: v122 });
    assert.equal(side.kind === "lookup" && side.allowed, true);
  });

  it("v1.2.7 does not: the broker's key keeps 5671 only", () => {
    const side = egressTo(app, DB, 443, { policies: [pay], agent: v127 });
    assert.equal(side.kind === "lookup" && side.allowed, false);
    const mq = egressTo(app, DB, 5671, { policies: [pay], agent: v127 });
    assert.equal(mq.kind === "lookup" && mq.allowed, true);
  });

  it("both write the except range as a deny: another VPC address is denied on 443", () => {
    for (const agent of [v122, v127]) {
      const side = egressTo(app, "10.9.9.9", 443, { policies: [pay], agent });
      assert.equal(side.kind === "lookup" && side.allowed, false, agent.version);
    }
  });

  it("ranges: v1.2.0-v1.2.3 copy catch-all ports, v1.2.4+ do not, v1.3.0+ have cluster policies", () => {
    const model = (version: string) => {
      const answer = agentModelFor(version);
      assert.ok(answer.ok, version);
      return answer.model;
    };
    assert.deepEqual(
      ["v1.2.0", "v1.2.3", "v1.2.4", "v1.2.7", "v1.3.0", "v1.4.1"].map((version) => [
        model(version).mapAlgorithm,
        model(version).clusterPolicies,
      ]),
      [
        ["catch-all-ports-copied", false],
        ["catch-all-ports-copied", false],
        ["except-set", false],
        ["except-set", false],
        ["except-set", true],
        ["except-set", true],
      ],
    );
  });

  it("an unknown version is refused by name, never modelled as another", () => {
    for (const version of ["v9.9.9", "v1.1.6", "v1.3.3", "latest"]) {
      const answer = agentModelFor(version);
      assert.equal(answer.ok, false, version);
      assert.match(answer.ok ? "" : answer.problem, new RegExp(version.replace(/\./g, "\\.")));
    }
  });

  it("the vpc-cni chart's node agent tags (charts/aws-vpc-cni/values.yaml at each tag)", () => {
    assert.equal(agentVersionOfAddon("v1.20.4-eksbuild.1"), "v1.2.7");
    assert.equal(agentVersionOfAddon("v1.19.6-eksbuild.2"), "v1.2.2");
    assert.equal(agentVersionOfAddon("v1.20.0-eksbuild.1"), "v1.2.3");
    assert.equal(agentVersionOfAddon("v1.21.0-eksbuild.1"), "v1.3.0");
    assert.equal(agentVersionOfAddon("v1.99.0-eksbuild.1"), undefined);
    assert.equal(
      agentVersionOfImage(
        "602401143452.dkr.ecr.ap-northeast-2.amazonaws.com/amazon/aws-network-policy-agent:v1.3.5-eksbuild.1",
      ),
      "v1.3.5",
    );
  });
});

describe("ClusterNetworkPolicy objects", () => {
  it("refuse what the CRD refuses, naming where", () => {
    const bad = (spec: object) => () =>
      clusterNetworkPoliciesFromKubectl(
        [{ metadata: { name: "x" }, spec }],
        "k8s.json: clusterNetworkPolicies.items",
      );
    const subject = { namespaces: {} };
    assert.throws(
      bad({ tier: "Admin", priority: 1001, subject }),
      /k8s\.json: clusterNetworkPolicies\.items\[0\]\.spec\.priority/,
    );
    assert.throws(bad({ tier: "Platform", priority: 1, subject }), /spec\.tier/);
    assert.throws(
      bad({
        tier: "Admin",
        priority: 1,
        subject: { namespaces: {}, pods: { namespaceSelector: {}, podSelector: {} } },
      }),
      /exactly one/,
    );
    assert.throws(
      bad({
        tier: "Admin",
        priority: 1,
        subject,
        egress: [{ action: "Deny", to: [{ domainNames: ["x.example"] }] }],
      }),
      /domainNames peer can only be used with Accept/,
    );
  });
});

describe("docs on break-glass", () => {
  const root = path.resolve(__dirname, "..", "..");
  const docs = [
    "README.md",
    ...fs
      .readdirSync(path.join(root, "docs"), { recursive: true, encoding: "utf8" })
      .map((file) => path.join("docs", file)),
  ];

  it("no page claims that turning break-glass off restores anything exactly (the agent keeps established connections)", () => {
    for (const file of docs.filter((name) => name.endsWith(".md"))) {
      const sentences = fs
        .readFileSync(path.join(root, file), "utf8")
        .replace(/\s+/g, " ")
        .split(/(?<=[.!?])\s/);
      const claims = sentences.filter((sentence) => /restor/i.test(sentence) && /exact/i.test(sentence));
      assert.deepEqual(claims, [], file);
    }
  });

  it("the runbook gives the step that ends connections opened under break-glass", () => {
    const runbook = fs.readFileSync(path.join(root, "docs", "operations.md"), "utf8");
    assert.match(
      runbook,
      /kubectl rollout restart deployment\/flash-gateway deployment\/flash-api deployment\/flash-pay -n flash-ticket/,
    );
    assert.match(runbook, /kubectl get clusternetworkpolicies/);
  });
});

describe("verify's live preflight of cluster policies and the agent version", () => {
  const ok = (stdout: unknown) => ({
    exitCode: 0,
    stdout: JSON.stringify(stdout),
    stderr: "",
    elapsedMs: 1,
    timedOut: false,
    aborted: false,
  });
  const refused = (stderr: string) => ({
    exitCode: 1,
    stdout: "",
    stderr,
    elapsedMs: 1,
    timedOut: false,
    aborted: false,
  });

  it("names the agent version, each cluster policy and each ApplicationNetworkPolicy it read", async () => {
    const calls: string[] = [];
    const lines = await eksPreflight(async (args) => {
      calls.push(args.join(" "));
      if (args[1] === "daemonset")
        return ok({
          spec: {
            template: {
              spec: {
                containers: [
                  { name: "aws-eks-nodeagent", image: "x/aws-network-policy-agent:v1.2.7-eksbuild.1" },
                ],
              },
            },
          },
        });
      if (args[1] === "clusternetworkpolicies.networking.k8s.aws")
        return ok({
          items: [
            {
              metadata: { name: "deny-db" },
              spec: { tier: "Admin", priority: 3, subject: { namespaces: {} } },
            },
          ],
        });
      return ok({
        items: [{ metadata: { name: "fqdn", namespace: "flash-ticket" }, spec: { podSelector: {} } }],
      });
    }, "flash-ticket");
    assert.deepEqual(calls, [
      "get daemonset aws-node -n kube-system -o json",
      "get clusternetworkpolicies.networking.k8s.aws -o json",
      "get applicationnetworkpolicies.networking.k8s.aws -n flash-ticket -o json",
    ]);
    assert.deepEqual(lines, [
      "EKS agent version: v1.2.7 (x/aws-network-policy-agent:v1.2.7-eksbuild.1)",
      "ClusterNetworkPolicy deny-db: tier Admin, priority 3 (not enforced by this agent version)",
      "ApplicationNetworkPolicy flash-ticket/fqdn",
    ]);
  });

  it("a read kubectl refuses is reported as unreadable, never as none", async () => {
    const lines = await eksPreflight(
      async () => refused('error: the server doesn\'t have a resource type "clusternetworkpolicies"'),
      "flash-ticket",
    );
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /EKS agent version: UNKNOWN/);
    assert.match(
      lines[1]!,
      /ClusterNetworkPolicies: not readable \(error: the server doesn't have a resource type/,
    );
  });
});

describe("ingress tiers and ApplicationNetworkPolicies", () => {
  const fromOther = (
    clusterPolicies: ClusterNetworkPolicy[],
    applicationPolicies: ApplicationNetworkPolicy[] = [],
  ) =>
    new EksEnforcer(cluster([]), { agent: v135, clusterPolicies, applicationPolicies }).decide({
      from: { kind: "pod", pod: other },
      to: { kind: "pod", pod: app },
      port: 8080,
      protocol: "TCP",
    });
  const ingressDeny = (from: object[]) =>
    clusterNetworkPoliciesFromKubectl(
      [
        {
          metadata: { name: "deny-in" },
          spec: {
            tier: "Admin",
            priority: 1,
            subject: { namespaces: { matchLabels: { "kubernetes.io/metadata.name": "app" } } },
            ingress: [{ action: "Deny", from }],
          },
        },
      ],
      "test",
    );
  const ns = (name: string) => ({ namespaces: { matchLabels: { "kubernetes.io/metadata.name": name } } });

  it("an Admin ingress Deny from a namespace drops its pods' connections", () => {
    const verdict = fromOther(ingressDeny([ns("other")]));
    assert.equal(verdict.ingress.kind === "cluster-tier" && verdict.ingress.slot.rule?.policy, "deny-in");
    assert.equal(verdict.allowed, false);
  });

  it("the controller takes an ingress rule's namespaces from its first peer: a first peer selecting none drops the rule", () => {
    // clusternetworkpolicy_resolver.go resolveCNPIngressRules: targetNamespaces from rule.From[0] only.
    assert.equal(fromOther(ingressDeny([ns("nowhere"), ns("other")])).allowed, true);
    assert.equal(fromOther(ingressDeny([ns("other"), ns("nowhere")])).allowed, false);
  });

  it("an ApplicationNetworkPolicy isolating egress with only domainNames denies egress (the agent skips FQDN entries)", () => {
    const [fqdnOnly] = applicationNetworkPoliciesFromKubectl(
      [
        {
          metadata: { name: "fqdn", namespace: "other" },
          spec: {
            podSelector: {},
            policyTypes: ["Egress"],
            egress: [{ to: [{ domainNames: ["api.example.com"] }] }],
          },
        },
      ],
      "test",
    );
    assert.equal(fromOther([], [fqdnOnly!]).egress.kind, "lookup");
    assert.equal(fromOther([], [fqdnOnly!]).allowed, false);
    // Without policyTypes the CRD gets no defaulting: no isolation, the agent's catch-all allows.
    const [untyped] = applicationNetworkPoliciesFromKubectl(
      [
        {
          metadata: { name: "fqdn", namespace: "other" },
          spec: { podSelector: {}, egress: [{ to: [{ domainNames: ["api.example.com"] }] }] },
        },
      ],
      "test",
    );
    assert.equal(fromOther([], [untyped!]).allowed, true);
  });
});
