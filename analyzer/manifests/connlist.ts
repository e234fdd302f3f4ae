/**
 * Workload-level connectivity from a ManifestSet, in np-guard netpol-analyzer's connlist terms:
 * one entry per ordered pair of workloads or external IPv4 ranges with a non-empty allowed set.
 * Upstream semantics: ipBlocks select only addresses outside every pod, so pods get synthetic
 * addresses no IPv4 ipBlock can contain, and external endpoints are the IPv4 ranges the ipBlocks
 * split the address space into.
 */
import { PolicyAnalyzer } from "../analyzer";
import { EksEnforcer, type EnforcingMode } from "../eks";
import { parseCidr } from "../ipBlock";
import type {
  Cluster,
  Direction,
  Endpoint,
  IPBlock,
  NetworkPolicy,
  NetworkPolicyPeer,
  PodInfo,
  Protocol,
} from "../../core/kubernetes";
import { workloadName, type ManifestSet, type Workload } from "./objects";

export interface Connection {
  readonly src: string;
  readonly dst: string;
  readonly conn: string;
}

export interface ConnlistResult {
  readonly connections: readonly Connection[];
  /** Host-network workloads, named: evaluated as pods, but a real cluster sees their node's address. */
  readonly hostNetworkWorkloads: readonly string[];
  readonly externalRanges: readonly string[];
}

export type Enforcer =
  { readonly kind: "upstream" } | { readonly kind: "eks-vpc-cni"; readonly mode: EnforcingMode };

export const ALL_CONNECTIONS = "All Connections";
const PROTOCOLS: readonly Protocol[] = ["SCTP", "TCP", "UDP"]; // np-guard sorts "PROTO ports" strings
const FIRST_PORT = 1;
const LAST_PORT = 65535;
const IPV4_SPACE_END = 2 ** 32; // exclusive

/** A peer no pod can match: label keys cannot contain "!", so this selector selects nothing. */
const MATCHES_NOTHING: NetworkPolicyPeer = {
  namespaceSelector: {},
  podSelector: { matchExpressions: [{ key: "flash-netpol.invalid/!no-pod", operator: "Exists" }] },
};

function isIpv4Peer(peer: NetworkPolicyPeer): boolean {
  return peer.ipBlock === undefined || parseCidr(peer.ipBlock.cidr).family === "ipv4";
}

/**
 * Pods live in IPv6 (fd00::/8) so that IPv4 ipBlocks never select them; an IPv6 ipBlock could,
 * so it becomes a peer that matches nothing (the external endpoints are IPv4 only).
 */
function withoutIpv6Blocks(policy: NetworkPolicy): NetworkPolicy {
  const peers = (list: readonly NetworkPolicyPeer[] | undefined): NetworkPolicyPeer[] | undefined =>
    list?.map((peer) => (isIpv4Peer(peer) ? peer : MATCHES_NOTHING));
  return {
    ...policy,
    spec: {
      ...policy.spec,
      ingress: policy.spec.ingress?.map((rule) => ({ ...rule, from: peers(rule.from) })),
      egress: policy.spec.egress?.map((rule) => ({ ...rule, to: peers(rule.to) })),
    },
  };
}

function ipv4ToNumber(bytes: readonly number[]): number {
  return ((bytes[0] << 24) >>> 0) + (bytes[1] << 16) + (bytes[2] << 8) + bytes[3];
}

function numberToIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join(".");
}

/** [start, end) of a CIDR as 32-bit numbers. */
function ipv4Span(cidr: string): [number, number] | undefined {
  const parsed = parseCidr(cidr);
  if (parsed.family !== "ipv4") return undefined;
  const start = ipv4ToNumber(parsed.bytes);
  return [start, start + 2 ** (32 - parsed.prefixLength)];
}

/**
 * An ipBlock as its maximal address intervals [first, end): excepts that touch merge, so
 * 0.0.0.0/0 except 10.0.0.0/9 and 10.128.0.0/9 cuts at 10.0.0.0 and 11.0.0.0 only, as np-guard's
 * canonical interval sets do (netset.IPBlock.Split in internal/k8s/netpol.go rulePeersReferencedIPBlocks).
 */
function ipv4Intervals(block: IPBlock): [number, number][] {
  const whole = ipv4Span(block.cidr);
  if (whole === undefined) return [];
  const holes = (block.except ?? [])
    .map(ipv4Span)
    .filter((span): span is [number, number] => span !== undefined)
    .sort((a, b) => a[0] - b[0]);
  const intervals: [number, number][] = [];
  let next = whole[0];
  for (const [holeStart, holeEnd] of holes) {
    if (holeStart > next) intervals.push([next, Math.min(holeStart, whole[1])]);
    next = Math.max(next, holeEnd);
  }
  if (next < whole[1]) intervals.push([next, whole[1]]);
  return intervals;
}

/**
 * The IPv4 space cut at every cidr and except boundary of the ipBlocks of one direction's rules,
 * as [first, last]: sources come from ingress rules, destinations from egress rules (np-guard
 * pkg/netpol/eval/resources.go getDisjointIPBlocks, internal/k8s/netpol.go GetReferencedIPBlocks).
 */
export function externalRanges(
  policies: readonly NetworkPolicy[],
  direction: Direction,
): { first: number; last: number }[] {
  const cuts = new Set<number>([0, IPV4_SPACE_END]);
  for (const policy of policies) {
    const rules =
      direction === "ingress"
        ? (policy.spec.ingress ?? []).map((rule) => rule.from)
        : (policy.spec.egress ?? []).map((rule) => rule.to);
    for (const peer of rules.flat()) {
      if (peer?.ipBlock === undefined) continue;
      for (const [first, end] of ipv4Intervals(peer.ipBlock)) {
        cuts.add(first);
        cuts.add(end);
      }
    }
  }
  const sorted = [...cuts].sort((a, b) => a - b);
  return sorted.slice(0, -1).map((first, index) => ({ first, last: sorted[index + 1] - 1 }));
}

interface NamedEndpoint {
  readonly name: string;
  readonly endpoint: Endpoint;
}

function syntheticPodAddress(index: number): string {
  return `fd00::${Math.floor(index / 65536).toString(16)}:${(index % 65536).toString(16)}`;
}

function podOf(workload: Workload, index: number): PodInfo {
  return {
    namespace: workload.namespace,
    name: `${workload.name}[${workload.kind}]`,
    labels: workload.labels,
    ip: syntheticPodAddress(index),
    ports: workload.ports,
  };
}

/** The first port of every stretch over which no rule or declared port can change the verdict. */
function portCuts(policies: readonly NetworkPolicy[], destination: Endpoint): number[] {
  const cuts = new Set<number>([FIRST_PORT, LAST_PORT + 1]);
  for (const policy of policies) {
    for (const rule of [...(policy.spec.ingress ?? []), ...(policy.spec.egress ?? [])]) {
      for (const entry of rule.ports ?? []) {
        if (typeof entry.port !== "number") continue;
        cuts.add(entry.port);
        cuts.add((entry.endPort ?? entry.port) + 1);
      }
    }
  }
  // Named ports resolve against the destination's declared ports only.
  if (destination.kind === "pod") {
    for (const declared of destination.pod.ports) {
      cuts.add(declared.port);
      cuts.add(declared.port + 1);
    }
  }
  return [...cuts].sort((a, b) => a - b);
}

function formatRanges(ranges: readonly [number, number][]): string {
  return ranges.map(([first, last]) => (first === last ? `${first}` : `${first}-${last}`)).join(",");
}

/** Computes the connlist; `src`/`dst` sorted as np-guard sorts them (by src, then dst). */
export function computeConnlist(manifests: ManifestSet, enforcer: Enforcer): ConnlistResult {
  const policies = manifests.policies.map(withoutIpv6Blocks);
  const evaluated = manifests.workloads;
  const pods = evaluated.map(podOf);
  const cluster: Cluster = { namespaces: manifests.namespaces, pods, policies };
  const decider =
    enforcer.kind === "upstream"
      ? new PolicyAnalyzer(cluster)
      : new EksEnforcer({ ...cluster, services: manifests.services }, { mode: enforcer.mode });
  const rangesOf = (direction: Direction): NamedEndpoint[] =>
    externalRanges(policies, direction).map(({ first, last }) => ({
      name: `${numberToIpv4(first)}-${numberToIpv4(last)}`,
      endpoint: { kind: "external", ip: numberToIpv4(first) },
    }));
  const workloadEndpoints: NamedEndpoint[] = evaluated.map((workload, index) => ({
    name: workloadName(workload),
    endpoint: { kind: "pod", pod: pods[index] },
  }));
  const sources = rangesOf("ingress");
  const destinations = rangesOf("egress");
  const pairs: [NamedEndpoint, NamedEndpoint][] = [
    ...workloadEndpoints.flatMap((from) =>
      [...workloadEndpoints, ...destinations].map((to): [NamedEndpoint, NamedEndpoint] => [from, to]),
    ),
    ...sources.flatMap((from) => workloadEndpoints.map((to): [NamedEndpoint, NamedEndpoint] => [from, to])),
  ];
  const connections: Connection[] = [];
  for (const [from, to] of pairs) {
    {
      if (from === to) continue;
      const cuts = portCuts(policies, to.endpoint);
      const allowedByProtocol = PROTOCOLS.map((protocol) => {
        const allowed: [number, number][] = [];
        for (let index = 0; index < cuts.length - 1; index++) {
          const [first, last] = [cuts[index], cuts[index + 1] - 1];
          if (!decider.isAllowed({ from: from.endpoint, to: to.endpoint, port: first, protocol })) continue;
          const previous = allowed[allowed.length - 1];
          if (previous !== undefined && previous[1] === first - 1) previous[1] = last;
          else allowed.push([first, last]);
        }
        return { protocol, allowed };
      });
      const everything = allowedByProtocol.every(
        ({ allowed }) => allowed.length === 1 && allowed[0][0] === FIRST_PORT && allowed[0][1] === LAST_PORT,
      );
      const parts = allowedByProtocol
        .filter(({ allowed }) => allowed.length > 0)
        .map(({ protocol, allowed }) => `${protocol} ${formatRanges(allowed)}`);
      if (parts.length === 0) continue;
      connections.push({
        src: from.name,
        dst: to.name,
        conn: everything ? ALL_CONNECTIONS : parts.join(","),
      });
    }
  }
  connections.sort((a, b) =>
    a.src !== b.src ? (a.src < b.src ? -1 : 1) : a.dst < b.dst ? -1 : a.dst > b.dst ? 1 : 0,
  );
  return {
    connections,
    hostNetworkWorkloads: manifests.workloads.filter((workload) => workload.hostNetwork).map(workloadName),
    externalRanges: [...new Set([...sources, ...destinations].map((range) => range.name))],
  };
}
