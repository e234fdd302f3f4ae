import { compilePolicy, type CompiledPolicy, type CompiledRule } from "./compiledPolicy";
import type { Cluster, Direction, NamespaceInfo, TrafficPort } from "../core/kubernetes";
import type { CompiledPeer } from "./peerMatcher";
import { groupPods, type PodGroup } from "./podGroups";
import type { ReachabilityMatrix } from "./reachabilityMatrix";
import { podTrafficPeer, type TrafficPeer } from "./trafficPeer";

export interface GroupedReachabilityMatrix extends ReachabilityMatrix {
  readonly groups: readonly PodGroup[];
  readonly groupOfPod: Int32Array;
}

/** Membership over groups: 1 where the group is in the set. */
type GroupSet = Uint8Array;
/** undefined stands for "every group" (not isolated, or a rule with no peer list). */
type GroupSetOrAll = GroupSet | undefined;

/**
 * Evaluates the full pod-to-pod matrix once per group of indistinguishable pods, then expands.
 * Peer and selector results are computed once per distinct selector over groups, and a rule's
 * admitted peers become a bitmap, so a direction's verdict for a group is an OR of bitmaps.
 */
export function computeGroupedMatrix(
  cluster: Cluster,
  ports: readonly TrafficPort[],
): GroupedReachabilityMatrix {
  const policies = cluster.policies.map(compilePolicy);
  const { groups, groupOfPod } = groupPods(cluster, policies);
  const groupCount = groups.length;
  const namespaces = new Map<string, NamespaceInfo>(cluster.namespaces.map((ns) => [ns.name, ns]));
  const groupPeers: TrafficPeer[] = groups.map(({ representative }) => {
    const namespace = namespaces.get(representative.namespace);
    if (namespace === undefined) throw new Error(`unknown namespace "${representative.namespace}"`);
    return podTrafficPeer(representative, namespace);
  });

  const peerMembersCache = new Map<string, GroupSet>();
  const peerMembers = (peer: CompiledPeer): GroupSet => {
    let members = peerMembersCache.get(peer.cacheKey);
    if (members === undefined) {
      members = new Uint8Array(groupCount);
      for (let g = 0; g < groupCount; g++) members[g] = peer.matches(groupPeers[g]) ? 1 : 0;
      peerMembersCache.set(peer.cacheKey, members);
    }
    return members;
  };
  const ruleMembers = new Map<CompiledRule, GroupSetOrAll>();
  const membersOfRule = (rule: CompiledRule): GroupSetOrAll => {
    if (ruleMembers.has(rule)) return ruleMembers.get(rule);
    let members: GroupSetOrAll;
    if (rule.peers !== undefined) {
      members = new Uint8Array(groupCount);
      for (const peer of rule.peers) orInto(members, peerMembers(peer));
    }
    ruleMembers.set(rule, members);
    return members;
  };

  const isolating = isolatingPoliciesPerGroup(groups, policies);
  const cellsPerPort = groupCount * groupCount;
  const cells = new Uint8Array(cellsPerPort * ports.length);
  ports.forEach((trafficPort, portIndex) => {
    const allowedSources: GroupSetOrAll[] = groups.map((group, g) =>
      ingressAllowedSources(isolating.ingress[g], group, trafficPort, membersOfRule, groupCount),
    );
    const allowedDestinations: GroupSetOrAll[] = groups.map((_, g) =>
      egressAllowedDestinations(isolating.egress[g], groups, trafficPort, membersOfRule),
    );
    const offset = portIndex * cellsPerPort;
    for (let from = 0; from < groupCount; from++) {
      const egress = allowedDestinations[from];
      for (let to = 0; to < groupCount; to++) {
        const ingress = allowedSources[to];
        const allowed =
          (egress === undefined || egress[to] === 1) && (ingress === undefined || ingress[from] === 1);
        cells[offset + from * groupCount + to] = allowed ? 1 : 0;
      }
    }
  });

  return {
    pods: cluster.pods,
    ports,
    sourcePods: cluster.pods.map((_, index) => index),
    groups,
    groupOfPod,
    isAllowed(fromPod, toPod, portIndex) {
      return cells[portIndex * cellsPerPort + groupOfPod[fromPod] * groupCount + groupOfPod[toPod]] === 1;
    },
  };
}

function orInto(target: GroupSet, source: GroupSet): void {
  for (let i = 0; i < target.length; i++) target[i] |= source[i];
}

function isolatingPoliciesPerGroup(
  groups: readonly PodGroup[],
  policies: readonly CompiledPolicy[],
): Record<Direction, CompiledPolicy[][]> {
  const result: Record<Direction, CompiledPolicy[][]> = {
    ingress: groups.map(() => []),
    egress: groups.map(() => []),
  };
  const groupsByNamespace = new Map<string, number[]>();
  groups.forEach(({ representative }, g) => {
    const list = groupsByNamespace.get(representative.namespace) ?? [];
    list.push(g);
    groupsByNamespace.set(representative.namespace, list);
  });
  // Many policies share a podSelector; resolve each distinct (namespace, selector) once.
  const selectedCache = new Map<string, number[]>();
  for (const policy of policies) {
    const cacheKey = `${policy.namespace}\u0000${policy.podSelectorKey}`;
    let selected = selectedCache.get(cacheKey);
    if (selected === undefined) {
      selected = (groupsByNamespace.get(policy.namespace) ?? []).filter((g) =>
        policy.selectsPod(groups[g].representative.labels),
      );
      selectedCache.set(cacheKey, selected);
    }
    for (const g of selected) {
      if (policy.isolates.ingress) result.ingress[g].push(policy);
      if (policy.isolates.egress) result.egress[g].push(policy);
    }
  }
  return result;
}

function ingressAllowedSources(
  isolating: readonly CompiledPolicy[],
  destination: PodGroup,
  { port, protocol }: TrafficPort,
  membersOfRule: (rule: CompiledRule) => GroupSetOrAll,
  groupCount: number,
): GroupSetOrAll {
  if (isolating.length === 0) return undefined;
  const allowed = new Uint8Array(groupCount);
  for (const policy of isolating) {
    for (const rule of policy.rules.ingress) {
      if (!rule.ports.matches(port, protocol, destination.representative.ports)) continue;
      const members = membersOfRule(rule);
      if (members === undefined) return undefined;
      orInto(allowed, members);
    }
  }
  return allowed;
}

function egressAllowedDestinations(
  isolating: readonly CompiledPolicy[],
  groups: readonly PodGroup[],
  { port, protocol }: TrafficPort,
  membersOfRule: (rule: CompiledRule) => GroupSetOrAll,
): GroupSetOrAll {
  if (isolating.length === 0) return undefined;
  const allowed = new Uint8Array(groups.length);
  for (const policy of isolating) {
    for (const rule of policy.rules.egress) {
      const members = membersOfRule(rule);
      if (!rule.ports.usesNamedPorts) {
        // Numeric ports and protocols do not depend on who the destination is.
        if (!rule.ports.matches(port, protocol, undefined)) continue;
        if (members === undefined) return undefined;
        orInto(allowed, members);
        continue;
      }
      for (let g = 0; g < groups.length; g++) {
        if (
          (members === undefined || members[g] === 1) &&
          rule.ports.matches(port, protocol, groups[g].representative.ports)
        ) {
          allowed[g] = 1;
        }
      }
    }
  }
  return allowed;
}
