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
import type { EksCluster, EndpointRule, L4Entry } from "./model";
import { sideAllows } from "./model";
import { groupEksPods, type EksPodGrouping } from "./podGroups";

const DIRECTIONS: readonly Direction[] = ["ingress", "egress"];
/** Shape ids stay below this, so (sequence, shape) pairs pack into one number. */
const SHAPE_LIMIT = 2 ** 20;

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
  const groupOfRepresentative = new Map<string, number>(representatives.map((pod, g) => [podKey(pod), g]));
  const shapes = new ShapeIds();
  const addressClassCount = Math.max(0, ...addressClass) + 1;

  const answersByMaps = new Map<string, SideAnswers>();
  const answersOfGroup: SideAnswers[] = representatives.map((subject, g) => {
    const selecting = enforcer.selectingOf(subject);
    // The node IP enters the key only where it decides more than its own /32 (podGroups.ts).
    const key = `${selecting.policies.map((e) => e.policy).join("\u0001")}\u0000${selecting.cluster
      .map((e) => e.policy)
      .join("\u0001")}\u0000${relevantNode[g]}`;
    let answers = answersByMaps.get(key);
    if (answers === undefined) {
      answers = sideAnswers(subject, selecting);
      answersByMaps.set(key, answers);
    }
    return answers;
  });

  function sideAnswers(subject: PodInfo, selecting: SelectingPolicies): SideAnswers {
    const nodeIp = cluster.nodeIps?.[podKey(subject)];
    const answers = {} as SideAnswers;
    for (const direction of DIRECTIONS) {
      const rules = selecting.policies.flatMap((endpoints) => endpoints[direction]);
      const clusterRules = selecting.cluster.flatMap((endpoints) => endpoints[direction]);
      const fixedRules = rules.filter((rule) => rule.pod === undefined);
      const fixedClusterRules = clusterRules.filter((rule) => rule.pod === undefined);
      // Per peer group: its pod rules in order, and an id standing for the sequence of their shapes.
      const listed = new Map<number, EndpointRule[]>();
      const listedCluster = new Map<number, ClusterRule[]>();
      const sequence = new Int32Array(groupCount);
      const sequences = new Map<number, number>();
      const append = <Rule extends EndpointRule | ClusterRule>(byGroup: Map<number, Rule[]>, rule: Rule) => {
        if (rule.pod === undefined) return;
        const g = groupOfRepresentative.get(rule.pod)!;
        const list = byGroup.get(g);
        if (list === undefined) byGroup.set(g, [rule]);
        else list.push(rule);
        const next = sequence[g] * SHAPE_LIMIT + shapes.of(rule);
        let id = sequences.get(next);
        if (id === undefined) {
          id = sequences.size + 1;
          sequences.set(next, id);
        }
        sequence[g] = id;
      };
      for (const rule of rules) append(listed, rule);
      for (const rule of clusterRules) append(listedCluster, rule);

      const cache = new Map<number, Uint8Array>();
      const cells = new Uint8Array(groupCount * portCount);
      for (let peer = 0; peer < groupCount; peer++) {
        let verdicts: Uint8Array | undefined;
        if (exactAddress[peer]) {
          // Its IP is also some other key's: the rules in their written order, answered alone.
          const own = podKey(representatives[peer]);
          const keep = (rule: EndpointRule | ClusterRule) => rule.pod === undefined || rule.pod === own;
          verdicts = answerFor(
            selecting,
            nodeIp,
            direction,
            representatives[peer],
            rules.filter(keep),
            clusterRules.filter(keep),
          );
        } else {
          const key = sequence[peer] * addressClassCount + addressClass[peer];
          verdicts = cache.get(key);
          if (verdicts === undefined) {
            const own = listed.get(peer) ?? [];
            const ownCluster = listedCluster.get(peer) ?? [];
            verdicts = answerFor(
              selecting,
              nodeIp,
              direction,
              representatives[peer],
              own.length === 0 ? fixedRules : [...fixedRules, ...own],
              ownCluster.length === 0 ? fixedClusterRules : [...fixedClusterRules, ...ownCluster],
            );
            cache.set(key, verdicts);
          }
        }
        cells.set(verdicts, peer * portCount);
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

/**
 * What of a pod rule can change an answer: its ports (and, for a cluster rule, tier, priority and
 * action). Interned so a peer's rules compare as a short text.
 */
class ShapeIds {
  private readonly byRule = new WeakMap<object, number>();
  private readonly byText = new Map<string, number>();

  of(rule: EndpointRule | ClusterRule): number {
    let id = this.byRule.get(rule);
    if (id === undefined) {
      const text = JSON.stringify(
        "action" in rule
          ? ["cluster", rule.tier, rule.priority, rule.action, portsText(rule.ports)]
          : ["np", portsText(rule.ports)],
      );
      id = this.byText.get(text);
      if (id === undefined) {
        if (this.byText.size + 1 >= SHAPE_LIMIT)
          throw new Error("more distinct EKS rule shapes than the grouped matrix packs");
        id = this.byText.size + 1;
        this.byText.set(text, id);
      }
      this.byRule.set(rule, id);
    }
    return id;
  }
}

function portsText(ports: readonly L4Entry[]): string {
  return ports.map((entry) => `${entry.protocol}@${entry.port ?? ""}@${entry.endPort ?? ""}`).join(" ");
}
