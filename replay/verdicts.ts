/**
 * Each observed connection judged by our analyzer on the rendered manifests: allowed or blocked at
 * the stack's current rollout and at the candidate, and whether the flow table intends it (the same
 * intent predicates the plan's proofs use). Connections are then rolled up per (source workload,
 * destination, port, protocol); members that disagree on a verdict stay apart.
 */
import { PolicyAnalyzer, type Cluster, type NetworkPolicy } from "../analyzer";
import { flowsIntending, intendedFlows } from "../analyzer/flash";
import {
  KUBE_DNS_NAMESPACE,
  NAMESPACE_NAME_LABEL,
  type NetworkPolicyManifest,
} from "../core/networkPolicies";
import type { AggregatedConnection, TrafficTotals } from "./connections";
import { isPortless, type ReplayProtocol } from "./orientation";
import type { Places } from "./places";

export type Verdict = "allowed" | "blocked";

export interface ConnectionVerdict extends TrafficTotals {
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol: ReplayProtocol;
  readonly current: Verdict;
  readonly candidate: Verdict;
  readonly intended: boolean;
  /** DENY lines the network policy agent logged for it (at the stage running when it was logged). */
  agentDenies: number;
}

export interface VerdictSummary {
  readonly newlyBlockedIntended: number;
  readonly newlyBlockedUnintended: number;
  /** Distinct addresses inside the VPC that no pod, data store, ALB subnet or DNS explains. */
  readonly unattributed: number;
}

type AnyPolicy = NetworkPolicy | NetworkPolicyManifest;

function clusterOf(places: Places, policies: readonly AnyPolicy[]): Cluster {
  const names = new Set([...places.pods.namespaces, places.config.namespace, KUBE_DNS_NAMESPACE]);
  return {
    // The API server sets kubernetes.io/metadata.name on every namespace; our policies select by it only.
    namespaces: [...names].map((name) => ({ name, labels: { [NAMESPACE_NAME_LABEL]: name } })),
    pods: places.pods.pods,
    policies: policies as readonly NetworkPolicy[],
  };
}

export function judgeConnections(
  connections: Iterable<AggregatedConnection>,
  places: Places,
  currentPolicies: readonly AnyPolicy[],
  candidatePolicies: readonly AnyPolicy[],
): ConnectionVerdict[] {
  const current = new PolicyAnalyzer(clusterOf(places, currentPolicies));
  const candidate = new PolicyAnalyzer(clusterOf(places, candidatePolicies));
  const flows = intendedFlows(places.topology);
  const rows = new Map<string, ConnectionVerdict>();
  for (const connection of connections) {
    const from = connection.client.endpoint;
    const to = connection.server.endpoint;
    const { port, protocol } = connection;
    const verdictOf = (analyzer: PolicyAnalyzer): Verdict =>
      (
        isPortless(protocol)
          ? analyzer.isAllowedPortless(from, to)
          : analyzer.isAllowed({ from, to, port, protocol })
      )
        ? "allowed"
        : "blocked";
    const row = {
      from: places.nameOf(connection.client, connection.port),
      to: places.nameOf(connection.server, connection.port),
      port: connection.port,
      protocol: connection.protocol,
      current: verdictOf(current),
      candidate: verdictOf(candidate),
      // The flow table declares TCP, UDP and SCTP ports only: no ICMP flow is intended.
      intended: !isPortless(protocol) && flowsIntending(flows, from, to, port, protocol).length > 0,
    };
    const key = [row.from, row.to, row.port, row.protocol, row.current, row.candidate, row.intended].join(
      "|",
    );
    const existing = rows.get(key);
    if (existing === undefined) {
      rows.set(key, {
        ...row,
        connections: connection.connections,
        packets: connection.packets,
        bytes: connection.bytes,
        firstSeen: connection.firstSeen,
        lastSeen: connection.lastSeen,
        agentDenies: connection.agentDenies,
      });
      continue;
    }
    existing.connections += connection.connections;
    existing.packets += connection.packets;
    existing.bytes += connection.bytes;
    existing.agentDenies += connection.agentDenies;
    existing.firstSeen = Math.min(existing.firstSeen, connection.firstSeen);
    existing.lastSeen = Math.max(existing.lastSeen, connection.lastSeen);
  }
  return [...rows.values()].sort(
    (a, b) =>
      a.from.localeCompare(b.from) ||
      a.to.localeCompare(b.to) ||
      a.port - b.port ||
      a.protocol.localeCompare(b.protocol),
  );
}

export function isNewlyBlocked(row: ConnectionVerdict): boolean {
  return row.current === "allowed" && row.candidate === "blocked";
}

export function unattributedAddresses(connections: Iterable<AggregatedConnection>, places: Places): string[] {
  const found = new Set<string>();
  for (const connection of connections)
    for (const place of [connection.client, connection.server])
      if (places.isUnattributed(place)) found.add(place.ip);
  return [...found].sort();
}

export function summarize(
  rows: readonly ConnectionVerdict[],
  unattributed: readonly string[],
): VerdictSummary {
  return {
    newlyBlockedIntended: rows.filter((row) => isNewlyBlocked(row) && row.intended).length,
    newlyBlockedUnintended: rows.filter((row) => isNewlyBlocked(row) && !row.intended).length,
    unattributed: unattributed.length,
  };
}
