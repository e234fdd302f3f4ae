/**
 * The pod-to-pod matrix under the EKS VPC CNI agent model, computed per pod group (podGroups.ts) and
 * exactly equal to asking EksEnforcer about every pair of pods.
 *
 * Why per group is exact (docs/fidelity/eks-agent.md, "The EKS model by pod group"): in the agent's
 * map a /32 key contains one address and passes no ports on (only non-host CIDRs do), so a lookup of
 * peer P reaches only the map's non-pod keys (ipBlocks, excepts, ClusterIPs, 0.0.0.0/0, the node IP)
 * and the /32 key of P's own IP. The model therefore builds, for each subject group, the maps from
 * its non-pod rules plus the rules listing the peer group's representative, and that answer holds for
 * every member: they are listed by the same rules with the same ports and fall in the same ranges.
 * Peers whose rules and ranges coincide share one answer (a cache per subject map).
 */
import type { Direction, PodInfo, TrafficPort } from "../../core/kubernetes";
import { podKey } from "../../core/kubernetes";
import type { GroupedReachabilityMatrix } from "../groupedMatrix";
import type { ClusterRule } from "./clusterPolicyResolver";
import { EksEnforcer, type EksEnforcerOptions, type SelectingPolicies } from "./enforcer";
import type { EksCluster, EndpointRule } from "./model";
import { sideAllows } from "./model";
import { cidrContains, parseAddress, parseCidr } from "../ipBlock";
import { PairIds, ShapeIds } from "./interning";
import { PeerRuleIndex } from "./peerRuleIndex";
import { groupEksPods, type EksPodGrouping } from "./podGroups";

const DIRECTIONS: readonly Direction[] = ["ingress", "egress"];

function grown(array: Int32Array): Int32Array {
  const bigger = new Int32Array(array.length * 2);
  bigger.set(array);
  return bigger;
}

/** Answers shared by maps alike in all but their pod rules, by (peer's pod rules, local class). */
interface SharedAnswers {
  readonly answers: Map<number, Uint8Array>;
  /** Address class -> class among this map's own ranges. */
  readonly localClass: Int32Array;
}

/** Per direction, per peer group and port: 1 where this side of the flow allows it. */
type SideAnswers = Record<Direction, Uint8Array>;

/**
 * `grouping` is the pods' partition; the answer is exact only for the one groupEksPods computes (a
 * test hands in a coarser one to show the property test catches it).
 */
export function computeEksGroupedMatrix(
  cluster: EksCluster,
  ports: readonly TrafficPort[],
  options: EksEnforcerOptions = {},
  grouping: EksPodGrouping = groupEksPods(cluster, options),
): GroupedReachabilityMatrix {
  const { groups, groupOfPod, exactAddress, addressClass, relevantNode } = grouping;
  const groupCount = groups.length;
  const portCount = ports.length;
  const representatives = groups.map((group) => group.representative);
  const repNodeIps: Record<string, string> = {};
  for (const pod of representatives) {
    const nodeIp = cluster.nodeIps?.[podKey(pod)];
    if (nodeIp !== undefined) repNodeIps[podKey(pod)] = nodeIp;
  }
  // The controller's resolution over one pod per group: each selector rule lists the representative's
  // IP once where it would list every member's, in the same order and with the same ports.
  const enforcer = new EksEnforcer({ ...cluster, pods: representatives, nodeIps: repNodeIps }, options);
  const groupOfRepresentative = new Map<PodInfo, number>(representatives.map((pod, g) => [pod, g]));
  const shapes = new ShapeIds();

  const index = new PeerRuleIndex(groupOfRepresentative, shapes);
  // A peer's pod rules in a map, as one number: sequences of shape ids, interned.
  const sequences = new PairIds();
  // (sequence, address class) -> one cache key.
  const peerKeys = new PairIds();
  const sequence = new Int32Array(groupCount);
  // Per map, each peer group's pod rules as a chain (newest first) through these positions.
  const head = new Int32Array(groupCount);
  let chainList: Int32Array = new Int32Array(1024);
  let chainRule: Int32Array = new Int32Array(1024);
  let chainNext: Int32Array = new Int32Array(1024);

  // Answers for peers whose IP is no other key's, shared by every map whose non-pod part and state
  // match: such a peer's answer depends on nothing else (its own rules and ranges are in the key).
  const caches = new Map<string, SharedAnswers>();
  // One address per class, to ask which of a map's ranges the class falls in.
  const classAddresses: string[] = [];
  groups.forEach((group, g) => (classAddresses[addressClass[g]] ??= group.representative.ip));
  function sharedCache(
    selecting: SelectingPolicies,
    direction: Direction,
    fixed: { keyRules: readonly EndpointRule[]; clusterKeyRules: readonly ClusterRule[] },
    relevant: string,
  ): SharedAnswers {
    const state = [
      selecting.policies.length > 0,
      selecting.policies.some((endpoints) => endpoints.hasRules[direction]),
      selecting.policies.some((endpoints) =>
        endpoints.podIsolation.includes(direction === "ingress" ? "Ingress" : "Egress"),
      ),
      selecting.cluster.length > 0,
      relevant,
    ].join(" ");
    const key = [
      state,
      ...fixed.keyRules.map((rule) => `${rule.cidr} ${rule.except.join(",")} ${shapes.of(rule)}`),
      "cluster",
      ...fixed.clusterKeyRules.map((rule) => `${rule.cidr} ${shapes.of(rule)}`),
    ].join("\n");
    let cache = caches.get(key);
    if (cache === undefined) {
      // Only the ranges of this map's non-pod keys tell addresses apart in it.
      const ranges = [
        ...fixed.keyRules.flatMap((rule) => [rule.cidr, ...rule.except]),
        ...fixed.clusterKeyRules.map((rule) => rule.cidr),
      ].flatMap((text) => {
        try {
          return [parseCidr(text.includes("/") ? text : `${text}/32`)];
        } catch {
          return [];
        }
      });
      const localIds = new Map<string, number>();
      const localClass = Int32Array.from(classAddresses, (ip) => {
        const address = parseAddress(ip);
        const signature = ranges.map((range) => (cidrContains(range, address) ? "1" : "0")).join("");
        let id = localIds.get(signature);
        if (id === undefined) {
          id = localIds.size;
          localIds.set(signature, id);
        }
        return id;
      });
      cache = { answers: new Map(), localClass };
      caches.set(key, cache);
    }
    return cache;
  }

  function sideAnswers(subject: PodInfo, selecting: SelectingPolicies, relevant: string): SideAnswers {
    const nodeIp = cluster.nodeIps?.[podKey(subject)];
    const answers = {} as SideAnswers;
    for (const direction of DIRECTIONS) {
      const lists = [
        ...selecting.policies.map((endpoints) =>
          index.ofItems(direction === "ingress" ? endpoints.ingressItems : endpoints.egressItems),
        ),
        ...selecting.cluster.map((endpoints) => index.ofRules(endpoints[direction])),
      ];
      const namespaced = selecting.policies.length;
      sequence.fill(0);
      head.fill(-1);
      let length = 0;
      // The rules that list no pod, in written order: every lookup reaches them.
      const fixed = { keyRules: [] as EndpointRule[], clusterKeyRules: [] as ClusterRule[] };
      lists.forEach((list, listIndex) => {
        for (let i = 0; i < list.group.length; i++) {
          const g = list.group[i];
          if (g < 0) {
            if (listIndex < namespaced) fixed.keyRules.push(list.ruleAt(i) as EndpointRule);
            else fixed.clusterKeyRules.push(list.ruleAt(i) as ClusterRule);
            continue;
          }
          sequence[g] = sequences.idOf(sequence[g], list.shape[i]);
          if (length === chainList.length) {
            chainList = grown(chainList);
            chainRule = grown(chainRule);
            chainNext = grown(chainNext);
          }
          chainList[length] = listIndex;
          chainRule[length] = i;
          chainNext[length] = head[g];
          head[g] = length++;
        }
      });
      const split = (keepPodRule: (listIndex: number, rule: number) => boolean) => {
        const keyRules: EndpointRule[] = [];
        const clusterKeyRules: ClusterRule[] = [];
        lists.forEach((list, listIndex) => {
          for (let i = 0; i < list.group.length; i++) {
            if (list.group[i] >= 0 && !keepPodRule(listIndex, i)) continue;
            if (listIndex < namespaced) keyRules.push(list.ruleAt(i) as EndpointRule);
            else clusterKeyRules.push(list.ruleAt(i) as ClusterRule);
          }
        });
        return { keyRules, clusterKeyRules };
      };
      /** The map's rules a lookup of `peer` can reach; its own after the rest unless writtenOrder. */
      const reachable = (peer: number, writtenOrder: boolean) => {
        if (writtenOrder) return split((listIndex, rule) => lists[listIndex].group[rule] === peer);
        const own: number[] = [];
        for (let at = head[peer]; at >= 0; at = chainNext[at]) own.push(at);
        if (own.length === 0) return fixed;
        const keyRules = [...fixed.keyRules];
        const clusterKeyRules = [...fixed.clusterKeyRules];
        for (const at of own.reverse()) {
          const rule = lists[chainList[at]].ruleAt(chainRule[at]);
          if (chainList[at] < namespaced) keyRules.push(rule as EndpointRule);
          else clusterKeyRules.push(rule as ClusterRule);
        }
        return { keyRules, clusterKeyRules };
      };
      const answerPeer = (peer: number, writtenOrder: boolean) => {
        const { keyRules, clusterKeyRules } = reachable(peer, writtenOrder);
        return answerFor(selecting, nodeIp, direction, representatives[peer], keyRules, clusterKeyRules);
      };

      const cache = sharedCache(selecting, direction, fixed, relevant);
      const cells = new Uint8Array(groupCount * portCount);
      for (let peer = 0; peer < groupCount; peer++) {
        let verdicts: Uint8Array | undefined;
        if (exactAddress[peer]) {
          // Its IP is also some other key's: the rules in their written order, answered alone.
          verdicts = answerPeer(peer, true);
        } else {
          const local = cache.localClass[addressClass[peer]];
          // Most peers have no rule of their own in a map: their key is their class alone (negative).
          const key = sequence[peer] === 0 ? -1 - local : peerKeys.idOf(sequence[peer], local);
          verdicts = cache.answers.get(key);
          if (verdicts === undefined) {
            // Its own /32 rules may follow the others: no other key has its address (podGroups.ts).
            verdicts = answerPeer(peer, false);
            cache.answers.set(key, verdicts);
          }
        }
        for (let p = 0; p < portCount; p++) cells[peer * portCount + p] = verdicts[p];
      }
      answers[direction] = cells;
    }
    return answers;
  }

  /** The subject's side for one peer, from the rules its lookup can reach. */
  function answerFor(
    selecting: SelectingPolicies,
    nodeIp: string | undefined,
    direction: Direction,
    peer: PodInfo,
    keyRules: readonly EndpointRule[],
    clusterKeyRules: readonly ClusterRule[],
  ): Uint8Array {
    const map = enforcer.directionMap(selecting.policies, direction, nodeIp, keyRules);
    const clusterMap = enforcer.clusterDirectionMap(selecting.cluster, direction, nodeIp, clusterKeyRules);
    return Uint8Array.from(ports, ({ port, protocol }) =>
      sideAllows(enforcer.decideSide(map, clusterMap, peer.ip, port, protocol)) ? 1 : 0,
    );
  }

  const answersByMaps = new Map<string, SideAnswers>();
  const answersOfGroup: SideAnswers[] = representatives.map((subject, g) => {
    const selecting = enforcer.selectingOf(subject);
    // The node IP enters the key only where it decides more than its own /32 (podGroups.ts).
    const key = `${selecting.policies.map((e) => e.policy).join("\u0001")}\u0000${selecting.cluster
      .map((e) => e.policy)
      .join("\u0001")}\u0000${relevantNode[g]}`;
    let answers = answersByMaps.get(key);
    if (answers === undefined) {
      answers = sideAnswers(subject, selecting, relevantNode[g]);
      answersByMaps.set(key, answers);
    }
    return answers;
  });

  return {
    pods: cluster.pods,
    ports,
    sourcePods: cluster.pods.map((_, index) => index),
    groups,
    groupOfPod,
    isAllowed(fromPod, toPod, portIndex) {
      const from = groupOfPod[fromPod];
      const to = groupOfPod[toPod];
      return (
        answersOfGroup[from].egress[to * portCount + portIndex] === 1 &&
        answersOfGroup[to].ingress[from * portCount + portIndex] === 1
      );
    },
  };
}
