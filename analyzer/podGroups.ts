import type { CompiledPolicy } from "./compiledPolicy";
import { compileIpBlock, parseAddress, type AddressMatcher } from "./ipBlock";
import type { Cluster, PodInfo } from "../core/kubernetes";

export interface PodGroup {
  /** Any member: every member gets the same verdicts, so one stands for all. */
  readonly representative: PodInfo;
  /** Indices into cluster.pods. */
  readonly members: readonly number[];
}

export interface PodGrouping {
  readonly groups: readonly PodGroup[];
  /** groupOfPod[podIndex] = index into groups. */
  readonly groupOfPod: Int32Array;
}

export function canonicalLabels(labels: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function canonicalPorts(pod: PodInfo): string {
  return JSON.stringify(pod.ports.map((p) => [p.name ?? "", p.port, p.protocol]).sort());
}

function distinctIpBlockMatchers(policies: readonly CompiledPolicy[]): AddressMatcher[] {
  const byKey = new Map<string, AddressMatcher>();
  for (const policy of policies) {
    for (const rule of [...policy.rules.ingress, ...policy.rules.egress]) {
      for (const peer of rule.peers ?? []) {
        const block = peer.ipBlock;
        if (block !== undefined && !byKey.has(peer.cacheKey)) byKey.set(peer.cacheKey, compileIpBlock(block));
      }
    }
  }
  return [...byKey.values()];
}

/**
 * Groups pods that no policy can tell apart: same namespace, labels and declared ports, and the
 * same membership in every ipBlock the policies mention (ipBlocks see pod IPs, so replicas whose
 * IPs straddle an except range must not share a verdict).
 */
export function groupPods(cluster: Cluster, policies: readonly CompiledPolicy[]): PodGrouping {
  const ipBlocks = distinctIpBlockMatchers(policies);
  const groupIndexByKey = new Map<string, number>();
  const groups: { representative: PodInfo; members: number[] }[] = [];
  const groupOfPod = new Int32Array(cluster.pods.length);
  cluster.pods.forEach((pod, podIndex) => {
    let ipSignature = "";
    if (ipBlocks.length > 0) {
      const address = parseAddress(pod.ip);
      ipSignature = ipBlocks.map((inBlock) => (inBlock(address) ? "1" : "0")).join("");
    }
    const key = `${pod.namespace}\u0000${canonicalLabels(pod.labels)}\u0000${canonicalPorts(pod)}\u0000${ipSignature}`;
    let groupIndex = groupIndexByKey.get(key);
    if (groupIndex === undefined) {
      groupIndex = groups.length;
      groupIndexByKey.set(key, groupIndex);
      groups.push({ representative: pod, members: [] });
    }
    groups[groupIndex].members.push(podIndex);
    groupOfPod[podIndex] = groupIndex;
  });
  return { groups, groupOfPod };
}
