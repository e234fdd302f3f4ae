import { z } from "zod";

// The analyzer's input vocabulary. Policy types mirror networking.k8s.io/v1 *before* API
// defaulting, so the analyzer itself owns the defaulting rules (protocol, policyTypes).

export type Protocol = "TCP" | "UDP" | "SCTP";
export type PolicyType = "Ingress" | "Egress";
export const DIRECTIONS = ["ingress", "egress"] as const;
export type Direction = (typeof DIRECTIONS)[number];

export type Labels = Readonly<Record<string, string>>;

export interface NamespaceInfo {
  readonly name: string;
  readonly labels: Labels;
}

export interface ContainerPort {
  readonly name?: string;
  readonly port: number;
  readonly protocol: Protocol;
}

export interface PodInfo {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
  readonly ip: string;
  readonly ports: readonly ContainerPort[];
}

export type SelectorOperator = "In" | "NotIn" | "Exists" | "DoesNotExist";

export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  readonly values?: readonly string[];
}

export interface LabelSelector {
  readonly matchLabels?: Labels;
  readonly matchExpressions?: readonly LabelSelectorRequirement[];
}

export interface IPBlock {
  readonly cidr: string;
  readonly except?: readonly string[];
}

export interface NetworkPolicyPeer {
  readonly podSelector?: LabelSelector;
  readonly namespaceSelector?: LabelSelector;
  readonly ipBlock?: IPBlock;
}

export interface NetworkPolicyPort {
  readonly protocol?: Protocol;
  readonly port?: number | string;
  readonly endPort?: number;
}

export interface NetworkPolicyIngressRule {
  readonly from?: readonly NetworkPolicyPeer[];
  readonly ports?: readonly NetworkPolicyPort[];
}

export interface NetworkPolicyEgressRule {
  readonly to?: readonly NetworkPolicyPeer[];
  readonly ports?: readonly NetworkPolicyPort[];
}

export interface NetworkPolicySpec {
  readonly podSelector: LabelSelector;
  readonly policyTypes?: readonly PolicyType[];
  readonly ingress?: readonly NetworkPolicyIngressRule[];
  readonly egress?: readonly NetworkPolicyEgressRule[];
}

export interface NetworkPolicy {
  readonly apiVersion: "networking.k8s.io/v1";
  readonly kind: "NetworkPolicy";
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly labels?: Labels;
    readonly annotations?: Labels;
  };
  readonly spec: NetworkPolicySpec;
}

export interface Cluster {
  readonly namespaces: readonly NamespaceInfo[];
  readonly pods: readonly PodInfo[];
  readonly policies: readonly NetworkPolicy[];
}

/** A resolved traffic endpoint: a pod of the cluster, or an address outside every pod. */
export type Endpoint =
  { readonly kind: "pod"; readonly pod: PodInfo } | { readonly kind: "external"; readonly ip: string };

/** The address an endpoint sends from or is reached at: the pod's IP, or the external address. */
export function addressOf(endpoint: Endpoint): string {
  return endpoint.kind === "pod" ? endpoint.pod.ip : endpoint.ip;
}

export interface Probe {
  readonly from: Endpoint;
  readonly to: Endpoint;
  readonly port: number;
  readonly protocol: Protocol;
}

export interface TrafficPort {
  readonly port: number;
  readonly protocol: Protocol;
}

export const DEFAULT_PROTOCOL: Protocol = "TCP";

/** A port entry's protocol: Kubernetes defaults an omitted one to TCP (NetworkPolicyPort, ServicePort, ContainerPort). */
export function protocolOf<P extends string>(port: { readonly protocol?: P }): P | Protocol {
  return port.protocol ?? DEFAULT_PROTOCOL;
}

/** The highest TCP/UDP/SCTP port number. */
export const MAX_PORT = 65535;
/** A port number as Kubernetes and AWS accept it (1 to 65535); plain checks, so it stays expressible in JSON Schema. */
export const portNumberSchema = z.number().int().min(1).max(MAX_PORT);

export function podKey(pod: Pick<PodInfo, "namespace" | "name">): string {
  return `${pod.namespace}/${pod.name}`;
}

export function policyKey(policy: NetworkPolicy): string {
  return `${policy.metadata.namespace}/${policy.metadata.name}`;
}
