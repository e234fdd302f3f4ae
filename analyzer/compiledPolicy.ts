import { compileLabelSelector, selectorCacheKey, type LabelMatcher } from "../core/labelSelector";
import type {
  ContainerPort,
  Direction,
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  Protocol,
} from "../core/kubernetes";
import { policyKey } from "../core/kubernetes";
import { compilePeer, type CompiledPeer } from "./peerMatcher";
import { effectivePolicyTypes } from "./policyTypes";
import { compilePorts, type CompiledPorts } from "./portMatcher";
import type { TrafficPeer } from "./trafficPeer";

export interface CompiledRule {
  /** Position in the policy's ingress/egress list, for explanations. */
  readonly index: number;
  /** Undefined when the rule lists no peers, which admits every peer, external ones too. */
  readonly peers: readonly CompiledPeer[] | undefined;
  readonly ports: CompiledPorts;
}

export interface CompiledPolicy {
  readonly source: NetworkPolicy;
  /** "namespace/name" */
  readonly key: string;
  readonly namespace: string;
  readonly selectsPod: LabelMatcher;
  readonly podSelectorKey: string;
  readonly isolates: Readonly<Record<Direction, boolean>>;
  readonly rules: Readonly<Record<Direction, readonly CompiledRule[]>>;
}

function compileRule(
  index: number,
  peers: readonly NetworkPolicyPeer[] | undefined,
  ports: readonly NetworkPolicyPort[] | undefined,
  policyNamespace: string,
): CompiledRule {
  return {
    index,
    peers:
      peers === undefined || peers.length === 0
        ? undefined
        : peers.map((p) => compilePeer(p, policyNamespace)),
    ports: compilePorts(ports),
  };
}

export function compilePolicy(policy: NetworkPolicy): CompiledPolicy {
  const namespace = policy.metadata.namespace;
  const types = effectivePolicyTypes(policy.spec);
  const isolatesIngress = types.includes("Ingress");
  const isolatesEgress = types.includes("Egress");
  // Rules of a direction the policy does not declare are ignored by the API, so drop them here.
  const ingressRules = isolatesIngress
    ? (policy.spec.ingress ?? []).map((rule, index) => compileRule(index, rule.from, rule.ports, namespace))
    : [];
  const egressRules = isolatesEgress
    ? (policy.spec.egress ?? []).map((rule, index) => compileRule(index, rule.to, rule.ports, namespace))
    : [];
  return {
    source: policy,
    key: policyKey(policy),
    namespace,
    selectsPod: compileLabelSelector(policy.spec.podSelector),
    podSelectorKey: selectorCacheKey(policy.spec.podSelector),
    isolates: { ingress: isolatesIngress, egress: isolatesEgress },
    rules: { ingress: ingressRules, egress: egressRules },
  };
}

/**
 * Whether a rule admits one connection: its ports admit the port (or, for traffic without ports such
 * as ICMP, it lists none) and it lists no peers or one of them matches the other end. Plain
 * arguments, no closures: every probe of a matrix or proof asks this.
 */
export function ruleAdmits(
  rule: CompiledRule,
  peer: TrafficPeer,
  port: number,
  protocol: Protocol,
  destinationPorts: readonly ContainerPort[] | undefined,
  portless: boolean,
): boolean {
  const portMatches = portless
    ? rule.ports.admitsEveryProtocol
    : rule.ports.matches(port, protocol, destinationPorts);
  if (!portMatches) return false;
  if (rule.peers === undefined) return true;
  for (const candidate of rule.peers) if (candidate.matches(peer)) return true;
  return false;
}
