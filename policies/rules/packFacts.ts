/**
 * Facts about the account that the pack config states (policies/config/<stack>.json) and the
 * program discovers or is configured with: the VPC CIDRs (public-egress, public-ingress), the
 * services the ALB may reach (public-ingress, from the flow table), the ClusterIP range
 * (eks-vpc-cni-lints) and the NodeLocal DNSCache address (dns-egress-kube-dns-only).
 *
 * The engine hands each rule only its own config (@pulumi/policy 1.21 server.js makeGetConfigFun),
 * and a stack rule sees no other rule's. So the rules that own a fact note it each time the engine
 * calls them: Analyze runs for every registered resource before AnalyzeStack, in the same pack
 * process (pulumi step_generator.go analyzeAll, then AnalyzeResources), and flows-match-flow-table
 * compares the notes with the component's recorded facts. A rule that is disabled is never called,
 * so its fact is not compared.
 */

export interface AlbTargetFact {
  readonly namespace: string;
  readonly podLabels: Readonly<Record<string, string>>;
  readonly port: number;
}

export interface WorkloadFact {
  readonly namespace: string;
  readonly podLabels: Readonly<Record<string, string>>;
}

/** A data store or external endpoint as a rule's config states it: where, which ports, who may call. */
export interface DestinationFact {
  readonly name: string;
  readonly cidrs: readonly string[];
  readonly ports: readonly number[];
  readonly callers: readonly WorkloadFact[];
}

export interface PackFacts {
  "public-egress.vpcCidrs"?: readonly string[];
  "public-ingress.vpcCidrs"?: readonly string[];
  /** The services the flow table lets the ALB reach, as public-ingress is configured with them. */
  "public-ingress.albTargets"?: readonly AlbTargetFact[];
  "eks-vpc-cni-lints.serviceCidrs"?: readonly string[];
  /** null: the config names no NodeLocal address. */
  "dns-egress-kube-dns-only.nodeLocalAddress"?: string | null;
  "link-local-egress.nodeLocalAddress"?: string | null;
  "public-ingress.albCidrs"?: readonly string[];
  "public-egress.externalEndpoints"?: readonly DestinationFact[];
  "known-peers-only.workloads"?: readonly WorkloadFact[];
  "cluster-infrastructure.nodeCidrs"?: readonly string[];
  "cluster-infrastructure.controlPlaneCidrs"?: readonly string[];
  "cluster-infrastructure.podCidrs"?: readonly string[];
  "data-store-egress.vpcCidrs"?: readonly string[];
  "data-store-egress.stores"?: readonly DestinationFact[];
}

const noted: PackFacts = {};

export function notedPackFacts(): PackFacts {
  return { ...noted };
}

/** Notes a rule's facts from its config: the rule calls it on every call, whatever the resource. */
export function notePackFacts(facts: PackFacts): void {
  Object.assign(noted, facts);
}
