/**
 * eks-vpc-cni-pod-maps (advisory): what eks-vpc-cni-lints cannot see from one policy. The VPC CNI
 * agent merges the rules of every policy selecting a pod into one longest-prefix map per direction
 * (docs/fidelity/eks-agent.md, "EKS VPC CNI network policy agent"); this rule builds those maps with the same
 * model the plan's EKS enforcer uses (analyzer/eks: controller resolution, then the agent's merge)
 * and reports, across policies:
 *  - an `except` range of one policy that is no key of the map while another policy's CIDR contains
 *    it without excepting it: the range becomes a deny-all key, the longer prefix wins, and the
 *    other policy's addresses there are dropped on EKS although upstream Kubernetes allows them;
 *  - a CIDR key with more than 24 port entries after the merge (and the ports it inherits from
 *    containing CIDRs): the agent writes 24 and drops the rest.
 *
 * Approximation: the pack sees policies, not pods. Each policy's podSelector stands for the pods it
 * selects, one representative pod per distinct selector (matchLabels, the first value of an `In`,
 * any value for `Exists`); the maps are those of that pod, built from every policy of the namespace
 * that selects it. Pods whose labels combine several selectors are not enumerated, and selector
 * peers (pod IPs, Service ClusterIPs) are left out, as their addresses are unknown here: only
 * ipBlocks and rules without peers (0.0.0.0/0) enter the maps.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { MAX_PORT_PROTOCOL } from "../../analyzer/eks/agent";
import { EksEnforcer } from "../../analyzer/eks/enforcer";
import type { EndpointRule, MapEntry } from "../../analyzer/eks/model";
import { compileLabelSelector } from "../../core/labelSelector";
import {
  DIRECTIONS,
  policyKey,
  type Direction,
  type Labels,
  type NetworkPolicy,
  type PodInfo,
} from "../../core/kubernetes";
import { networkPolicySchema } from "../../analyzer/scenarioSchema";
import { canonicalCidr } from "../../analyzer/ipBlock";
import { isExcepted, isValidCidr, strictlyContains } from "../../core/cidrs";
import { NETWORK_POLICY_TYPE } from "../../core/resourceTypes";
import { report, violation, type Violation } from "./common";
import { namespaceOf, type NetworkPolicyView } from "./k8s";
import { sharedProps } from "./sharedProps";

export const NAME = "eks-vpc-cni-pod-maps";
export const DESCRIPTION =
  "VPC CNI per-pod maps across policies (each policy's podSelector standing for its pods): an except range another policy selecting the same pods covers without excepting it (a deny-all key on EKS), over 24 port entries for one CIDR.";

interface ParsedPolicy {
  policy: NetworkPolicy;
  resource: PolicyResource;
}

/** The stack's NetworkPolicies in the analyzer's model, namespaced as they land; unreadable ones left to flows-match-flow-table. */
function parsedPolicies(resources: readonly PolicyResource[]): ParsedPolicy[] {
  return resources.flatMap((resource) => {
    if (resource.type !== NETWORK_POLICY_TYPE) return [];
    // The shared plain parse (sharedProps.ts) spares the SDK proxy's allocation on every read.
    const view = sharedProps(resource.props) as NetworkPolicyView;
    const parsed = networkPolicySchema.safeParse({
      ...view,
      metadata: {
        ...view.metadata,
        name: view.metadata?.name ?? resource.name,
        namespace: namespaceOf(view, resource.provider),
      },
    });
    return parsed.success ? [{ policy: parsed.data, resource }] : [];
  });
}

/** A pod the policy's podSelector selects: its matchLabels, an `In`'s first value, any value for `Exists`. */
function representativeLabels(policy: NetworkPolicy): Labels {
  const labels: Record<string, string> = { ...policy.spec.podSelector.matchLabels };
  for (const requirement of policy.spec.podSelector.matchExpressions ?? []) {
    if (requirement.operator === "In" && requirement.values?.[0] !== undefined)
      labels[requirement.key] = requirement.values[0];
    if (requirement.operator === "Exists") labels[requirement.key] = "any";
  }
  return labels;
}

function representativePods(policies: readonly ParsedPolicy[]): PodInfo[] {
  const pods = new Map<string, PodInfo>();
  for (const { policy } of policies) {
    const labels = representativeLabels(policy);
    // A selector no label set can meet (NotIn over an In's value, say) stands for no pod.
    if (!compileLabelSelector(policy.spec.podSelector)(labels)) continue;
    const namespace = policy.metadata.namespace;
    const key = JSON.stringify([namespace, Object.entries(labels).sort()]);
    if (!pods.has(key)) pods.set(key, { namespace, name: key, labels, ip: "192.0.2.1", ports: [] });
  }
  return [...pods.values()];
}

function describePod(pod: PodInfo): string {
  const labels = Object.entries(pod.labels).map(([key, value]) => `${key}=${value}`);
  return labels.length === 0
    ? `every pod of ${pod.namespace}`
    : `pods labelled ${labels.join(",")} in ${pod.namespace}`;
}

const policyOf = (key: string) => `NetworkPolicy ${key}`;
const ruleOf = (direction: Direction, rule: EndpointRule) =>
  `${policyOf(rule.policy)} spec.${direction}[${rule.ruleIndex}]`;

/** Deny-all keys from one policy's except that beat another policy's containing CIDR. */
function exceptHazards(
  pod: PodInfo,
  direction: Direction,
  deny: MapEntry,
  rules: readonly EndpointRule[],
): { key: string; urnOf: string; message: string }[] {
  if (deny.kind !== "except-deny") return [];
  const found: { key: string; urnOf: string; message: string }[] = [];
  for (const excepting of rules) {
    // The agent's deny key is the except range itself, host bits cleared.
    if (!excepting.except.some((range) => isValidCidr(range) && canonicalCidr(range) === deny.cidr)) continue;
    for (const covering of rules) {
      if (covering.policy === excepting.policy || !isValidCidr(covering.cidr)) continue;
      if (!strictlyContains(covering.cidr, deny.cidr) || isExcepted(deny.cidr, covering.except)) continue;
      found.push({
        key: JSON.stringify(["except", direction, deny.cidr, excepting.policy, covering.policy]),
        urnOf: excepting.policy,
        message: violation(
          policyOf(excepting.policy),
          `${ruleOf(direction, excepting)} excepts ${deny.cidr} from ${excepting.cidr}, and ${ruleOf(direction, covering)} ` +
            `allows ${covering.cidr}, which contains it, without excepting it; both select ${describePod(pod)}, so the VPC CNI agent ` +
            `merges them into one ${direction} map where ${deny.cidr} is a deny-all key that beats ${covering.cidr}: on EKS those pods ` +
            `lose ${deny.cidr}, which upstream Kubernetes allows through ${policyOf(covering.policy)}`,
          `list ${deny.cidr} as a plain ipBlock in ${ruleOf(direction, covering)} (a listed CIDR is never a deny-all key), or except it there too if it is meant to be closed`,
        ),
      });
    }
  }
  return found;
}

function portHazard(pod: PodInfo, direction: Direction, entry: MapEntry) {
  const total = entry.l4.length + entry.dropped.length;
  const policies = [...new Set(entry.rules.map((rule) => rule.policy))].sort();
  if (total <= MAX_PORT_PROTOCOL || policies.length < 2) return [];
  return [
    {
      key: JSON.stringify(["ports", direction, entry.cidr, policies]),
      urnOf: policies[0]!,
      message: violation(
        policyOf(policies[0]!),
        `${direction} CIDR ${entry.cidr} gets ${total} port/protocol entries from ${policies.map(policyOf).join(", ")}, which all select ` +
          `${describePod(pod)}; the VPC CNI agent merges them into one map key of at most ${MAX_PORT_PROTOCOL} entries and drops the rest on EKS`,
        `use endPort ranges or split the CIDR so that, together, the policies selecting those pods give it at most ${MAX_PORT_PROTOCOL} port entries`,
      ),
    },
  ];
}

export function checkPodMaps(resources: readonly PolicyResource[]): Violation[] {
  const byNamespace = new Map<string, ParsedPolicy[]>();
  for (const parsed of parsedPolicies(resources)) {
    const namespace = parsed.policy.metadata.namespace;
    byNamespace.set(namespace, [...(byNamespace.get(namespace) ?? []), parsed]);
  }
  const found = new Map<string, Violation>();
  // A policy selects pods of its own namespace only: one model per namespace keeps this linear in the stack.
  for (const policies of byNamespace.values()) {
    if (policies.length < 2) continue;
    const urns = new Map(policies.map(({ policy, resource }) => [policyKey(policy), resource.urn]));
    // No pods and no Services: selector peers resolve to nothing, ipBlocks and peerless rules as the controller does.
    const enforcer = new EksEnforcer({
      namespaces: [],
      pods: [],
      policies: policies.map(({ policy }) => policy),
    });
    for (const pod of representativePods(policies)) {
      const selecting = enforcer.policyEndpoints.filter((endpoints) => endpoints.selects(pod));
      if (selecting.length < 2) continue;
      const maps = enforcer.mapsOf(pod);
      for (const direction of DIRECTIONS) {
        const rules = selecting.flatMap((endpoints) => endpoints[direction]);
        for (const entry of maps[direction].entries) {
          for (const hazard of [
            ...exceptHazards(pod, direction, entry, rules),
            ...portHazard(pod, direction, entry),
          ]) {
            if (!found.has(hazard.key))
              found.set(hazard.key, { message: hazard.message, urn: urns.get(hazard.urnOf) });
          }
        }
      }
    }
  }
  return [...found.values()];
}

export const eksVpcCniPodMaps: StackValidationPolicy = {
  name: NAME,
  description: DESCRIPTION,
  enforcementLevel: "advisory",
  validateStack: (args, reportViolation) => {
    for (const found of checkPodMaps(args.resources)) report(reportViolation, DESCRIPTION, found);
  },
};
