/**
 * The vocabulary of the EKS VPC CNI enforcer model: what the network policy controller resolves a
 * NetworkPolicy into (PolicyEndpoints), and what the node agent writes into each pod's
 * longest-prefix-match maps. docs/fidelity/eks-agent.md ("EKS VPC CNI network policy agent") cites the
 * upstream lines each shape follows.
 */
import type { Cluster, Labels, PodInfo, Probe, Protocol } from "../../core/kubernetes";
import type { ClusterSlot } from "./clusterPolicies";

/** The agent's enforcing mode (NETWORK_POLICY_ENFORCING_MODE). */
export type EnforcingMode = "standard" | "strict";

export interface ServicePortInfo {
  readonly name?: string;
  readonly port: number;
  readonly protocol: Protocol;
  /** Number or container port name; kubectl prints the API default (= port) when it was omitted. */
  readonly targetPort: number | string;
}

/** The fields of a core/v1 Service the controller reads. */
export interface ServiceInfo {
  readonly namespace: string;
  readonly name: string;
  /** "None" or empty: headless. */
  readonly clusterIP?: string;
  readonly selector?: Labels;
  readonly ports: readonly ServicePortInfo[];
}

export interface EksCluster extends Cluster {
  readonly services?: readonly ServiceInfo[];
  /** The primary IP of the node each pod runs on ("namespace/name" -> IP); absent: unknown node. */
  readonly nodeIps?: Readonly<Record<string, string>>;
}

/** One L4 entry of a map value. ANY = every protocol and port; DENY = the except range's deny-all. */
export interface L4Entry {
  readonly protocol: Protocol | "ANY" | "DENY";
  /** Absent: every port of the protocol. */
  readonly port?: number;
  readonly endPort?: number;
}

/** One PolicyEndpoint ingress/egress entry, tagged with the policy it came from. */
export interface EndpointRule {
  readonly policy: string;
  /** Position in the policy's ingress/egress list. */
  readonly ruleIndex: number;
  readonly cidr: string;
  readonly except: readonly string[];
  /** Empty: no L4 restriction (the agent adds a catch-all). */
  readonly ports: readonly L4Entry[];
  /** Set when the controller added a Service's ClusterIP for a podSelector peer. */
  readonly service?: string;
  /** Set when the controller resolved a selector peer to this pod's IP. */
  readonly pod?: PodInfo;
}

export type MapEntryKind = "node-ip" | "rules" | "except-deny" | "catch-all";

/** One key of a pod's LPM map and the value the agent writes for it. */
export interface MapEntry {
  readonly cidr: string;
  readonly kind: MapEntryKind;
  /** At most MAX_PORT_PROTOCOL entries, as written. */
  readonly l4: readonly L4Entry[];
  /** Entries the 24-slot value could not hold (which ones upstream drops is Go map order: unspecified). */
  readonly dropped: readonly L4Entry[];
  /** Containing CIDRs whose ports this key inherited. */
  readonly inheritedFrom: readonly string[];
  /** The policy rules whose peers, excepts or inherited ports produced this key. */
  readonly rules: readonly RuleSource[];
}

export interface RuleSource {
  readonly policy: string;
  readonly ruleIndex: number;
}

export interface PodMap {
  /** No policy selects the pod for any direction: the pod state decides (standard allow, strict deny). */
  readonly state: "policies-applied" | "default-allow" | "default-deny";
  readonly entries: readonly MapEntry[];
}

/** A probe as the EKS model sees it: the source's egress may see a Service's ClusterIP, not the pod. */
export interface EksProbe extends Probe {
  /** The connection is made to this ClusterIP and Service port; kube-proxy DNATs it to `to` at `port`. */
  readonly viaService?: { readonly service: string; readonly clusterIP: string; readonly port: number };
}

/** How one side of a probe was decided. */
export type SideDecision =
  | { readonly kind: "not-a-pod" }
  | { readonly kind: "default-allow" }
  | { readonly kind: "default-deny" }
  | {
      readonly kind: "lookup";
      readonly address: string;
      readonly port: number;
      /** The longest-prefix entry, or undefined when no key contains the address. */
      readonly entry: MapEntry | undefined;
      readonly allowed: boolean;
    }
  /** A ClusterNetworkPolicy tier decided (Admin before the namespace tier, Baseline after it). */
  | {
      readonly kind: "cluster-tier";
      readonly tier: "Admin" | "Baseline";
      readonly address: string;
      readonly port: number;
      /** The winning slot of the pod's cluster-policy map (lowest priority; Deny before Accept before Pass). */
      readonly slot: ClusterSlot;
      readonly allowed: boolean;
    };

export interface EksVerdict {
  readonly allowed: boolean;
  readonly egress: SideDecision;
  readonly ingress: SideDecision;
}

export function sideAllows(decision: SideDecision): boolean {
  switch (decision.kind) {
    case "not-a-pod":
    case "default-allow":
      return true;
    case "default-deny":
      return false;
    case "lookup":
    case "cluster-tier":
      return decision.allowed;
  }
}
