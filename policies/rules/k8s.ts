/**
 * The NetworkPolicy as the pack sees it: whatever the engine sent, so every field is optional and
 * nothing is trusted. Rules read these objects through @pulumi/policy's unknown-checking proxy, so a
 * value unknown during preview throws on access and the framework turns it into an advisory
 * "can't be known during preview" instead of a crash.
 */
import type { PolicyProviderResource } from "@pulumi/policy";
import {
  DIRECTIONS,
  protocolOf,
  type Direction,
  type LabelSelector,
  type NetworkPolicy,
  type NetworkPolicyEgressRule,
  type NetworkPolicyIngressRule,
  type NetworkPolicyPeer,
  type NetworkPolicyPort,
} from "../../core/kubernetes";

import { BREAK_GLASS_LABEL } from "../../core/networkPolicies";
import { memoisedOnFrozenKey } from "./memo";

/** Set by the program on the emergency allow-all policy; see rule `break-glass-active`. */
export { BREAK_GLASS_LABEL };

/**
 * The analyzer's NetworkPolicy (core/kubernetes.ts, the one definition), as the engine may send it:
 * every field optional and writable, nothing trusted.
 */
export type Untrusted<T> = T extends readonly (infer Item)[]
  ? Untrusted<Item>[]
  : T extends object
    ? string extends keyof T
      ? { [key: string]: T[string] }
      : { -readonly [Key in keyof T]?: Untrusted<T[Key]> }
    : T;

export type Selector = Untrusted<LabelSelector>;
export type PeerView = Untrusted<NetworkPolicyPeer>;
export type PortView = Untrusted<NetworkPolicyPort>;
export type RuleView = Untrusted<NetworkPolicyIngressRule & NetworkPolicyEgressRule>;
export type NetworkPolicyView = Untrusted<NetworkPolicy>;

/** A rule of a policy with where it sits, so a message can point at `spec.egress[2]`. */
export interface LocatedRule {
  direction: Direction;
  index: number;
  rule: RuleView;
  /** `from` for ingress, `to` for egress; undefined when the key is absent (= every peer). */
  peers: PeerView[] | undefined;
  hasPeersKey: boolean;
}

/** The policy's rules in order; memoised on a frozen policy, which every rule shares (sharedProps.ts). */
export function rulesOf(policy: NetworkPolicyView): readonly LocatedRule[] {
  return locatedRulesOf(policy);
}

const locatedRulesOf = memoisedOnFrozenKey((policy: NetworkPolicyView): readonly LocatedRule[] => {
  const located: LocatedRule[] = [];
  for (const direction of DIRECTIONS) {
    const rules: RuleView[] = policy.spec?.[direction] ?? [];
    rules.forEach((rule, index) => {
      const key = direction === "ingress" ? "from" : "to";
      const hasPeersKey = Object.prototype.hasOwnProperty.call(rule, key) && rule[key] !== undefined;
      located.push({ direction, index, rule, peers: rule[key], hasPeersKey });
    });
  }
  return located;
});

export function rulePath(rule: LocatedRule): string {
  return `spec.${rule.direction}[${rule.index}]`;
}

/** Where the resource lands: metadata.namespace, else the provider's namespace, else `default` (as kubectl does). */
export function namespaceOf(policy: NetworkPolicyView, provider?: PolicyProviderResource): string {
  const explicit = policy.metadata?.namespace;
  if (explicit !== undefined && explicit !== "") return explicit;
  const providerNamespace: unknown = provider?.props["namespace"];
  return typeof providerNamespace === "string" && providerNamespace !== "" ? providerNamespace : "default";
}

/** "NetworkPolicy flash-ticket/flash-api-egress": the one readable form used in every message. */
export function describePolicy(
  policy: NetworkPolicyView,
  fallbackName: string,
  provider?: PolicyProviderResource,
): string {
  return `NetworkPolicy ${namespaceOf(policy, provider)}/${policy.metadata?.name ?? fallbackName}`;
}

/** Carries the break-glass label; whether it is the program's own policy is breakGlassExemption.ts's question. */
export function isBreakGlass(policy: NetworkPolicyView): boolean {
  return policy.metadata?.labels?.[BREAK_GLASS_LABEL] === "true";
}

export function isEmptySelector(selector: Selector | undefined): boolean {
  if (selector === undefined) return false;
  return (
    Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0
  );
}

/** A peer with none of podSelector / namespaceSelector / ipBlock: matches every source or destination. */
export function isEmptyPeer(peer: PeerView): boolean {
  return peer.podSelector === undefined && peer.namespaceSelector === undefined && peer.ipBlock === undefined;
}

/** True when the port entry covers `target` (a single number, or a numeric range with endPort). */
export function portCovers(port: PortView, target: number): boolean {
  if (typeof port.port !== "number") return false;
  if (port.endPort !== undefined) return port.port <= target && target <= port.endPort;
  return port.port === target;
}

export function describePort(port: PortView): string {
  const range =
    port.endPort !== undefined ? `${String(port.port)}-${port.endPort}` : String(port.port ?? "every port");
  return `${range}/${protocolOf(port)}`;
}

export function describePorts(ports: readonly PortView[]): string {
  return ports.length === 0 ? "every port" : ports.map(describePort).join(", ");
}

export interface AllowedPort {
  readonly port: number;
  readonly protocol: string;
}

/**
 * The entries of `ports` that are not one of `allowed` (a single numbered port, its protocol; a
 * range or a named port is never allowed). An empty list means every port: then all of `ports` is
 * nothing is returned for it: the caller treats `ports.length === 0` (every port) itself.
 */
export function portsOutside(ports: readonly PortView[], allowed: readonly AllowedPort[]): PortView[] {
  return ports.filter(
    (entry) =>
      typeof entry.port !== "number" ||
      entry.endPort !== undefined ||
      !allowed.some((candidate) => candidate.port === entry.port && candidate.protocol === protocolOf(entry)),
  );
}

/** An ipBlock a rule's peers amount to, with where it is written. */
export interface LocatedBlock {
  cidr: string;
  except: readonly string[];
  /** `spec.egress[1].to[0].ipBlock`, or `spec.egress[1].to` for a rule that allows every address. */
  where: string;
}

/**
 * The address ranges an egress rule reaches: its ipBlocks, and for a rule with no `to`, an empty
 * `to` or a `{}` peer every address (0.0.0.0/0 and ::/0), which reaches link-local space and the
 * nodes as surely as an ipBlock does. (no-allow-all-peers refuses those forms too, but it has an
 * allow list; the credential and node rules do not rely on it.)
 */
export function egressBlocksOf(located: LocatedRule): LocatedBlock[] {
  const field = `${rulePath(located)}.to`;
  const peers = located.peers ?? [];
  const everything = (where: string): LocatedBlock[] => [
    { cidr: "0.0.0.0/0", except: [], where },
    { cidr: "::/0", except: [], where },
  ];
  if (!located.hasPeersKey || peers.length === 0) return everything(field);
  return peers.flatMap((peer, index) => {
    if (isEmptyPeer(peer)) return everything(`${field}[${index}]`);
    const cidr = peer.ipBlock?.cidr;
    if (cidr === undefined) return [];
    return [{ cidr, except: peer.ipBlock?.except ?? [], where: `${field}[${index}].ipBlock` }];
  });
}
