/**
 * Pods the EKS agent model cannot tell apart, as subjects (whose maps) and as peers (whose address is
 * looked up). A pod's maps depend on the policies selecting it (namespace, labels) and on its node's
 * IP; a peer's answer in a map depends on which selector rules list its IP (namespace, labels, and for
 * egress its container ports) and on where its address falls among the map's other keys. Those keys
 * are ipBlock CIDRs and excepts, Service ClusterIPs, cluster-policy networks and node IPs: a group's
 * members fall inside the same ones. Why nothing else matters: docs/fidelity/eks-agent.md ("The EKS
 * model by pod group").
 */
import type { NetworkPolicy, NetworkPolicyPeer, PodInfo } from "../../core/kubernetes";
import { podKey } from "../../core/kubernetes";
import { plainIpv4Bytes } from "../../core/addresses";
import { canonicalCidr, cidrContains, parseCidr, type ParsedCidr } from "../ipBlock";
import { canonicalLabels, type PodGroup } from "../podGroups";
import type { ClusterNetworkPolicy } from "./clusterPolicyObjects";
import { applicationPolicyAsNetworkPolicy } from "./clusterPolicyResolver";
import type { EksClusterState } from "./enforcer";
import { isHeadless } from "./controller";
import type { EksCluster } from "./model";

export interface EksPodGrouping {
  readonly groups: readonly PodGroup[];
  readonly groupOfPod: Int32Array;
  /**
   * Per group: its members' IP is itself a key's network address, a node IP, or not a canonical IPv4
   * address. Such a group holds one IP only (the IP is in its key) and is answered with the rules in
   * their written order, never from a cache shared with other groups.
   */
  readonly exactAddress: readonly boolean[];
  /** Per group: which of the cluster's address ranges (see rangeSignature) its members fall in. */
  readonly addressClass: Int32Array;
  /** Per group: the node IP its members' maps depend on beyond the node-IP key ("" when none). */
  readonly relevantNode: readonly string[];
}

function peerCidrs(peers: readonly NetworkPolicyPeer[] | undefined): string[] {
  return (peers ?? []).flatMap((peer) =>
    peer.ipBlock === undefined ? [] : [peer.ipBlock.cidr, ...(peer.ipBlock.except ?? [])],
  );
}

function policyCidrs(policy: NetworkPolicy): string[] {
  return [
    ...(policy.spec.ingress ?? []).flatMap((rule) => peerCidrs(rule.from)),
    ...(policy.spec.egress ?? []).flatMap((rule) => peerCidrs(rule.to)),
  ];
}

function clusterPolicyCidrs(cnp: ClusterNetworkPolicy): string[] {
  return (cnp.spec.egress ?? []).flatMap((rule) => rule.to.flatMap((peer) => peer.networks ?? []));
}

const withMask = (cidr: string) => (cidr.includes("/") ? cidr : `${cidr}/32`);

/**
 * Every CIDR text a map key can come from, canonical: ipBlock cidrs and excepts, ClusterIPs,
 * cluster-policy networks, node IPs, and the 0.0.0.0/0 of peerless rules. A superset is harmless (it
 * only splits groups further); a missing one would merge pods a map tells apart.
 */
function keyRanges(cluster: EksCluster, state: EksClusterState): string[] {
  const texts = [
    "0.0.0.0/0",
    ...cluster.policies.flatMap(policyCidrs),
    ...(state.applicationPolicies ?? []).flatMap((anp) =>
      policyCidrs(applicationPolicyAsNetworkPolicy(anp).policy),
    ),
    ...(state.clusterPolicies ?? []).flatMap(clusterPolicyCidrs),
    ...(cluster.services ?? []).flatMap((service) => (isHeadless(service) ? [] : [service.clusterIP!])),
    ...Object.values(cluster.nodeIps ?? {}),
  ];
  const canonical = new Set<string>();
  for (const text of texts) {
    try {
      canonical.add(canonicalCidr(withMask(text)));
    } catch {
      // Not a CIDR: the agent model skips it wherever it appears; it holds no address.
    }
  }
  return [...canonical];
}

export function groupEksPods(cluster: EksCluster, state: EksClusterState = {}): EksPodGrouping {
  const ranges = keyRanges(cluster, state);
  // A plain IPv4 pod address that is no key's network address lies in no /32 key and in no IPv6 one;
  // the IPv4 ranges shorter than /32 see only its first `widest` bits.
  const parsedRanges: ParsedCidr[] = ranges
    .map((range) => parseCidr(range))
    .filter((range) => range.family === "ipv4" && range.prefixLength < 32);
  const widest = Math.max(0, ...parsedRanges.map((range) => range.prefixLength));
  const signatureByPrefix = new Map<number, string>();
  // Addresses a rule or key is compared with as text (networkAddressOf(cidr) === nodeIp, key equality).
  const exactAddresses = new Set<string>([
    ...ranges.map((range) => range.split("/")[0]),
    ...Object.values(cluster.nodeIps ?? {}),
  ]);
  const podIps = new Set(cluster.pods.map((pod) => pod.ip));
  const nodeRelevance = new Map<string, string>();
  const nodeMatters = (nodeIp: string | undefined): string => {
    if (nodeIp === undefined) return "";
    let relevant = nodeRelevance.get(nodeIp);
    if (relevant === undefined) {
      relevant = nodeDecides(nodeIp) ? nodeIp : "";
      nodeRelevance.set(nodeIp, relevant);
    }
    return relevant;
  };
  const nodeDecides = (nodeIp: string): boolean => {
    // The node IP decides more than its own key only when some pod or rule CIDR has that address.
    const plain = (() => {
      try {
        return canonicalCidr(withMask(nodeIp)) === `${nodeIp}/32`;
      } catch {
        return false;
      }
    })();
    const ruleAddresses = ranges.some((range) => range.split("/")[0] === nodeIp && range !== `${nodeIp}/32`);
    return !plain || podIps.has(nodeIp) || ruleAddresses;
  };

  const classIndex = new Map<string, number>();
  const groupIndexByKey = new Map<string, number>();
  const groups: { representative: PodInfo; members: number[] }[] = [];
  const exactAddress: boolean[] = [];
  const addressClasses: number[] = [];
  const relevantNode: string[] = [];
  const groupOfPod = new Int32Array(cluster.pods.length);
  cluster.pods.forEach((pod, podIndex) => {
    const bytes = plainIpv4Bytes(pod.ip);
    const exact = bytes === undefined || exactAddresses.has(pod.ip);
    let signature = pod.ip;
    if (!exact) {
      const value = bytes.reduce((number, byte) => number * 256 + byte, 0);
      const prefix = value - (value % 2 ** (32 - widest));
      let inRanges = signatureByPrefix.get(prefix);
      if (inRanges === undefined) {
        const address = { family: "ipv4" as const, bytes };
        inRanges = parsedRanges.map((range) => (cidrContains(range, address) ? "1" : "0")).join("");
        signatureByPrefix.set(prefix, inRanges);
      }
      signature = `ranges ${inRanges}`;
    }
    let addressClass = classIndex.get(signature);
    if (addressClass === undefined) {
      addressClass = classIndex.size;
      classIndex.set(signature, addressClass);
    }
    const node = nodeMatters(cluster.nodeIps?.[podKey(pod)]);
    const ports = JSON.stringify(pod.ports.map((p) => [p.name ?? "", p.port, p.protocol]));
    const key = [pod.namespace, canonicalLabels(pod.labels), ports, `${exact}`, addressClass, node].join(
      "\u0000",
    );
    let groupIndex = groupIndexByKey.get(key);
    if (groupIndex === undefined) {
      groupIndex = groups.length;
      groupIndexByKey.set(key, groupIndex);
      groups.push({ representative: pod, members: [] });
      exactAddress.push(exact);
      addressClasses.push(addressClass);
      relevantNode.push(node);
    }
    groups[groupIndex].members.push(podIndex);
    groupOfPod[podIndex] = groupIndex;
  });
  return { groups, groupOfPod, exactAddress, addressClass: Int32Array.from(addressClasses), relevantNode };
}
