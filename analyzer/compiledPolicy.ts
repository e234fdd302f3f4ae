import { compileLabelSelector, selectorCacheKey, type LabelMatcher } from "../core/labelSelector";
import type { Direction, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort } from "../core/kubernetes";
import { policyKey } from "../core/kubernetes";
import { compilePeer, type CompiledPeer } from "./peerMatcher";
import { effectivePolicyTypes } from "./policyTypes";
import { compilePorts, type CompiledPorts } from "./portMatcher";

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

export function ruleAdmits(
  rule: CompiledRule,
  peerMatches: (peer: CompiledPeer) => boolean,
  portMatches: (ports: CompiledPorts) => boolean,
): boolean {
  return portMatches(rule.ports) && (rule.peers === undefined || rule.peers.some(peerMatches));
}
