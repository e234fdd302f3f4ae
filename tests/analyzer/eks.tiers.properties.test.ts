/**
 * The tier model against an independent reference written straight from the agent source
 * (tc.v4egress.bpf.c evaluateFlow / evaluateClusterPolicyByLookUp, fw_rule_processor.go
 * ComputeClusterPolicyMapEntriesFromEndpointRules, clusterpolicyendpoints_controller.go), for random
 * cluster policies over nested CIDRs, tied priorities and port ranges.
 *
 * The reference does not build maps: it states the same semantics as set algebra. The key the LPM
 * lookup finds is the longest rule CIDR containing the address; the copy-from-most-specific-container
 * loop leaves in that key exactly the rules whose CIDR contains the key; the winner is the minimum
 * of (priority [+2000 for Baseline], Deny 0 / Accept 1 / Pass 2).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { cidrContains, parseAddress, parseCidr } from "../../analyzer/ipBlock";
import type { NetworkPolicy, PodInfo } from "../../core/kubernetes";
import {
  EksEnforcer,
  agentModelFor,
  clusterNetworkPoliciesFromKubectl,
  sideAllows,
  type AgentModel,
} from "../../analyzer/eks";

const CIDRS = ["0.0.0.0/0", "10.0.0.0/8", "10.0.5.0/24", "10.0.5.10/32", "10.1.0.0/16"];
const ADDRESSES = ["10.0.5.10", "10.0.5.11", "10.0.9.9", "10.1.2.3", "8.8.8.8"];
const PORTS = [80, 85, 90, 443, 5432];
const NAMESPACES = ["app", "other"];

type Action = "Accept" | "Deny" | "Pass";
interface PortSpec {
  kind: "number" | "range";
  port: number;
  end?: number;
}
interface RuleSpec {
  action: Action;
  networks: string[];
  ports?: PortSpec[];
}
interface PolicySpec {
  tier: "Admin" | "Baseline";
  priority: number;
  subject: string;
  rules: RuleSpec[];
}
interface NpRule {
  cidr: string;
  port: number;
}

const portArb: fc.Arbitrary<PortSpec> = fc.oneof(
  fc.record({ kind: fc.constant("number" as const), port: fc.constantFrom(...PORTS) }),
  fc.record({ kind: fc.constant("range" as const), port: fc.constant(80), end: fc.constantFrom(85, 90) }),
);
const ruleArb: fc.Arbitrary<RuleSpec> = fc.record(
  {
    action: fc.constantFrom<Action>("Accept", "Deny", "Pass"),
    networks: fc.subarray(CIDRS, { minLength: 1, maxLength: 2 }),
    ports: fc.array(portArb, { minLength: 1, maxLength: 2 }),
  },
  { requiredKeys: ["action", "networks"] },
);
const policyArb: fc.Arbitrary<PolicySpec> = fc.record({
  tier: fc.constantFrom("Admin" as const, "Baseline" as const),
  // A tiny range makes equal priorities (the tie-break) common.
  priority: fc.integer({ min: 0, max: 2 }),
  subject: fc.constantFrom(...NAMESPACES),
  rules: fc.array(ruleArb, { minLength: 1, maxLength: 2 }),
});
const npRulesArb = fc.option(
  fc.array(fc.record({ cidr: fc.constantFrom(...CIDRS.slice(1)), port: fc.constantFrom(...PORTS) }), {
    maxLength: 2,
  }),
);

const pods: PodInfo[] = NAMESPACES.map((namespace, index) => ({
  namespace,
  name: "pod",
  labels: { app: "x" },
  ip: `10.9.0.${index + 1}`,
  ports: [],
}));

const v135 = (agentModelFor("v1.3.5") as { ok: true; model: AgentModel }).model;

const contains = (outer: string, address: string) => cidrContains(parseCidr(outer), parseAddress(address));
const prefix = (cidr: string) => Number(cidr.split("/")[1]);
const RANK: Record<Action, number> = { Deny: 0, Accept: 1, Pass: 2 };

function portMatches(ports: PortSpec[] | undefined, port: number): boolean {
  if (ports === undefined) return true;
  return ports.some((spec) =>
    spec.kind === "number" ? port === spec.port : port >= spec.port && port <= spec.end!,
  );
}

/** The reference: evaluateFlow for one pod's egress, with no node IP and standard mode. */
function reference(
  policies: PolicySpec[],
  npRules: NpRule[] | null,
  pod: PodInfo,
  address: string,
  port: number,
): boolean {
  const rules = policies
    .filter((policy) => policy.subject === pod.namespace)
    .flatMap((policy) =>
      policy.rules.flatMap((rule) =>
        rule.networks.map((cidr) => ({
          cidr,
          ports: rule.ports,
          action: rule.action,
          stored: policy.tier === "Baseline" ? policy.priority + 2000 : policy.priority,
        })),
      ),
    );
  const keys = rules.map((rule) => rule.cidr).filter((cidr) => contains(cidr, address));
  const key = keys.sort((a, b) => prefix(b) - prefix(a))[0];
  const inKey =
    key === undefined
      ? []
      : rules.filter((rule) => contains(rule.cidr, key.split("/")[0]) && prefix(rule.cidr) <= prefix(key));
  const matching = inKey.filter((rule) => portMatches(rule.ports, port));
  const best = (candidates: typeof matching) =>
    [...candidates].sort((a, b) => a.stored - b.stored || RANK[a.action] - RANK[b.action])[0];
  const admin = best(matching.filter((rule) => rule.stored <= 1000));
  if (admin !== undefined && admin.action !== "Pass") return admin.action === "Accept";
  const selected = npRules !== null && pod.namespace === "app";
  if (selected) return npRules.some((rule) => contains(rule.cidr, address) && rule.port === port);
  const baseline = best(matching.filter((rule) => rule.stored > 1000));
  if (baseline !== undefined && baseline.action !== "Pass") return baseline.action === "Accept";
  return true;
}

function toObjects(policies: PolicySpec[]) {
  return clusterNetworkPoliciesFromKubectl(
    policies.map((policy, index) => ({
      metadata: { name: `cnp-${index}` },
      spec: {
        tier: policy.tier,
        priority: policy.priority,
        subject: { namespaces: { matchLabels: { "kubernetes.io/metadata.name": policy.subject } } },
        egress: policy.rules.map((rule) => ({
          action: rule.action,
          to: [{ networks: rule.networks }],
          ...(rule.ports === undefined
            ? {}
            : {
                ports: rule.ports.map((spec) =>
                  spec.kind === "number"
                    ? { portNumber: { port: spec.port } }
                    : { portRange: { start: spec.port, end: spec.end } },
                ),
              }),
        })),
      },
    })),
    "fuzz",
  );
}

function networkPolicy(npRules: NpRule[]): NetworkPolicy {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: "np", namespace: "app" },
    spec: {
      podSelector: {},
      policyTypes: ["Egress"],
      egress: npRules.map((rule) => ({
        to: [{ ipBlock: { cidr: rule.cidr } }],
        ports: [{ port: rule.port }],
      })),
    },
  };
}

describe("EKS tier model against a reference from the agent source", () => {
  it("agrees on every egress verdict for random cluster policies, priorities, ports and NetworkPolicies", () => {
    fc.assert(
      fc.property(fc.array(policyArb, { maxLength: 4 }), npRulesArb, (policies, npRules) => {
        const enforcer = new EksEnforcer(
          {
            namespaces: NAMESPACES.map((name) => ({ name, labels: { "kubernetes.io/metadata.name": name } })),
            pods,
            policies: npRules === null ? [] : [networkPolicy(npRules)],
          },
          { agent: v135, clusterPolicies: toObjects(policies) },
        );
        for (const pod of pods) {
          for (const address of ADDRESSES) {
            for (const port of PORTS) {
              const side = enforcer.decide({
                from: { kind: "pod", pod },
                to: { kind: "external", ip: address },
                port,
                protocol: "TCP",
              }).egress;
              assert.equal(
                sideAllows(side),
                reference(policies, npRules, pod, address, port),
                `${pod.namespace} -> ${address}:${port}`,
              );
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
