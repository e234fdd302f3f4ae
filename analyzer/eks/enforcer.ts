/**
 * The EKS VPC CNI enforcer: every pod's ingress and egress map built from the policies selecting
 * it, as the controller resolves them and the agent computes them, and each probe answered by
 * longest-prefix match on the source's egress map and the destination's ingress map.
 */
import type { Direction, PodInfo, Protocol } from "../../core/kubernetes";
import { addressOf, podKey } from "../../core/kubernetes";
import { canonicalLabels } from "../podGroups";
import { catchAllRule, computeMapEntries, longestPrefixMatch, valueAllows } from "./agent";
import { MAIN_AGENT_MODEL, type AgentModel } from "./agentVersions";
import { computeClusterMapEntries, evaluateClusterMap, type ClusterMapEntry } from "./clusterPolicies";
import {
  ClusterPolicyResolver,
  applicationPolicyAsNetworkPolicy,
  type ClusterPolicyEndpoints,
  type ClusterRule,
} from "./clusterPolicyResolver";
import type { ApplicationNetworkPolicy, ClusterNetworkPolicy } from "./clusterPolicyObjects";
import { EndpointsResolver, type PolicyEndpoints } from "./controller";
import { computeLegacyMapEntries, legacyValueAllows } from "./legacyAgent";
import type {
  EksCluster,
  EksProbe,
  EksVerdict,
  EndpointRule,
  EnforcingMode,
  PodMap,
  SideDecision,
} from "./model";
import { sideAllows } from "./model";

/** What the cluster enforces beyond its namespaced NetworkPolicies, and which agent enforces it. */
export interface EksClusterState {
  /** The agent version the maps follow; the pinned main commit when absent. */
  readonly agent?: AgentModel;
  /** networking.k8s.aws/v1alpha1 ClusterNetworkPolicies; enforced only by agents with cluster policies. */
  readonly clusterPolicies?: readonly ClusterNetworkPolicy[];
  /** ApplicationNetworkPolicies: namespace tier, beside the NetworkPolicies. */
  readonly applicationPolicies?: readonly ApplicationNetworkPolicy[];
}

export interface EksEnforcerOptions extends EksClusterState {
  readonly mode?: EnforcingMode;
}

const CATCH_ALL_SOURCE = "(no isolation: agent catch-all)";

export interface SelectingPolicies {
  readonly policies: readonly PolicyEndpoints[];
  readonly cluster: readonly ClusterPolicyEndpoints[];
}

export class EksEnforcer {
  readonly mode: EnforcingMode;
  readonly policyEndpoints: readonly PolicyEndpoints[];
  readonly agent: AgentModel;
  /** Empty when the agent version has no cluster policies (they are read, not enforced). */
  readonly clusterEndpoints: readonly ClusterPolicyEndpoints[];
  private readonly maps = new Map<PodInfo, Record<Direction, PodMap>>();
  private readonly clusterMaps = new Map<PodInfo, Record<Direction, ClusterMapEntry[]>>();
  /**
   * Maps by pod group: a pod's maps depend only on the policies selecting it (its namespace and
   * labels) and its node's IP (the node-IP allowance), so identical pods on one node share them, as
   * analyzer/podGroups.ts groups pods for the upstream matrix. 20,000 pods with 2,000 label sets
   * build 2,000 maps per node instead of 20,000.
   */
  private readonly mapsByGroup = new Map<string, Record<Direction, PodMap>>();
  private readonly clusterMapsByGroup = new Map<string, Record<Direction, ClusterMapEntry[]>>();
  private readonly groupKeys = new Map<PodInfo, string>();
  /** A policy selects pods of its own namespace only. */
  private readonly endpointsByNamespace = new Map<string, PolicyEndpoints[]>();

  constructor(
    readonly cluster: EksCluster,
    options: EksEnforcerOptions = {},
  ) {
    this.mode = options.mode ?? "standard";
    const resolver = new EndpointsResolver(cluster);
    this.agent = options.agent ?? MAIN_AGENT_MODEL;
    this.policyEndpoints = [
      ...cluster.policies.map((policy) => resolver.resolve(policy)),
      ...(options.applicationPolicies ?? []).map((anp) => {
        const { policy, podIsolation } = applicationPolicyAsNetworkPolicy(anp);
        return {
          ...resolver.resolve(policy),
          policy: `ApplicationNetworkPolicy ${anp.metadata.namespace}/${anp.metadata.name}`,
          podIsolation,
        };
      }),
    ];
    for (const endpoints of this.policyEndpoints) {
      const list = this.endpointsByNamespace.get(endpoints.namespace) ?? [];
      list.push(endpoints);
      this.endpointsByNamespace.set(endpoints.namespace, list);
    }
    const clusterResolver = new ClusterPolicyResolver(resolver, cluster.namespaces);
    this.clusterEndpoints = this.agent.clusterPolicies
      ? (options.clusterPolicies ?? []).map((cnp) => clusterResolver.resolve(cnp))
      : [];
  }

  /** The namespaced policies (NetworkPolicies, ApplicationNetworkPolicies) and cluster policies selecting the pod. */
  selectingOf(pod: PodInfo): SelectingPolicies {
    return {
      policies: (this.endpointsByNamespace.get(pod.namespace) ?? []).filter((endpoints) =>
        endpoints.selects(pod),
      ),
      cluster: this.clusterEndpoints.filter((endpoints) => endpoints.selects(pod)),
    };
  }

  /**
   * A pod's NetworkPolicy map for one direction, from the policies selecting it:
   * deriveIngressAndEgressFirewallRules then ComputeMapEntriesFromEndpointRules. `keyRules`, when
   * given, is the part of the direction's rules whose keys are computed; the catch-all decision still
   * asks whether the pod has any rule at all (analyzer/eks/groupedMatrix.ts keeps only the rules a
   * lookup of one peer can reach).
   */
  directionMap(
    selecting: readonly PolicyEndpoints[],
    direction: Direction,
    nodeIp: string | undefined,
    keyRules?: readonly EndpointRule[],
  ): PodMap {
    if (selecting.length === 0) {
      return { state: this.mode === "strict" ? "default-deny" : "default-allow", entries: [] };
    }
    const hasRules = selecting.some((endpoints) => endpoints.hasRules[direction]);
    const isolated = selecting.some((endpoints) =>
      endpoints.podIsolation.includes(direction === "ingress" ? "Ingress" : "Egress"),
    );
    const compute = this.agent.mapAlgorithm === "except-set" ? computeMapEntries : computeLegacyMapEntries;
    if (!hasRules && !isolated) {
      // No rules and no isolation for this direction: the agent appends an allow-all entry.
      const entries = compute([catchAllRule(CATCH_ALL_SOURCE)], nodeIp).map((entry) => ({
        ...entry,
        kind: entry.kind === "node-ip" ? entry.kind : ("catch-all" as const),
      }));
      return { state: "policies-applied", entries };
    }
    const rules = keyRules ?? selecting.flatMap((endpoints) => endpoints[direction]);
    return { state: "policies-applied", entries: compute(rules, nodeIp) };
  }

  /** A pod's cluster-policy map for one direction; `keyRules` as in directionMap. */
  clusterDirectionMap(
    selecting: readonly ClusterPolicyEndpoints[],
    direction: Direction,
    nodeIp: string | undefined,
    keyRules?: readonly ClusterRule[],
  ): ClusterMapEntry[] {
    if (selecting.length === 0) return [];
    const rules = keyRules ?? selecting.flatMap((endpoints) => endpoints[direction]);
    return computeClusterMapEntries(rules, nodeIp, { nodeIpAccept: this.agent.clusterNodeIpAccept });
  }

  /** The pod's cluster-policy maps (cp_ingress_map, cp_egress_map); empty when no cluster policy selects it. */
  clusterMapsOf(pod: PodInfo): Record<Direction, ClusterMapEntry[]> {
    let maps = this.clusterMaps.get(pod) ?? this.clusterMapsByGroup.get(this.groupKeyOf(pod));
    if (maps === undefined) {
      const selecting = this.selectingOf(pod).cluster;
      const nodeIp = this.cluster.nodeIps?.[podKey(pod)];
      maps = {
        ingress: this.clusterDirectionMap(selecting, "ingress", nodeIp),
        egress: this.clusterDirectionMap(selecting, "egress", nodeIp),
      };
      this.clusterMapsByGroup.set(this.groupKeyOf(pod), maps);
    }
    this.clusterMaps.set(pod, maps);
    return maps;
  }

  /** Namespace, labels and node IP: everything a pod's maps depend on (see mapsByGroup). */
  private groupKeyOf(pod: PodInfo): string {
    let key = this.groupKeys.get(pod);
    if (key === undefined) {
      key = `${pod.namespace}\u0000${canonicalLabels(pod.labels)}\u0000${this.cluster.nodeIps?.[podKey(pod)] ?? ""}`;
      this.groupKeys.set(pod, key);
    }
    return key;
  }

  /** The pod's maps, built once: deriveIngressAndEgressFirewallRules then ComputeMapEntriesFromEndpointRules. */
  mapsOf(pod: PodInfo): Record<Direction, PodMap> {
    let maps = this.maps.get(pod) ?? this.mapsByGroup.get(this.groupKeyOf(pod));
    if (maps === undefined) {
      const selecting = this.selectingOf(pod).policies;
      const nodeIp = this.cluster.nodeIps?.[podKey(pod)];
      maps = {
        ingress: this.directionMap(selecting, "ingress", nodeIp),
        egress: this.directionMap(selecting, "egress", nodeIp),
      };
      this.mapsByGroup.set(this.groupKeyOf(pod), maps);
    }
    this.maps.set(pod, maps);
    return maps;
  }

  isAllowed(probe: EksProbe): boolean {
    return this.decide(probe).allowed;
  }

  decide(probe: EksProbe): EksVerdict {
    const egress =
      probe.from.kind === "pod"
        ? this.side(
            probe.from.pod,
            "egress",
            probe.viaService?.clusterIP ?? addressOf(probe.to),
            probe.viaService?.port ?? probe.port,
            probe,
          )
        : ({ kind: "not-a-pod" } as const);
    const ingress =
      probe.to.kind === "pod"
        ? this.side(probe.to.pod, "ingress", addressOf(probe.from), probe.port, probe)
        : ({ kind: "not-a-pod" } as const);
    return { allowed: sideAllows(egress) && sideAllows(ingress), egress, ingress };
  }

  private side(
    subject: PodInfo,
    direction: Direction,
    address: string,
    port: number,
    probe: EksProbe,
  ): SideDecision {
    return this.decideSide(
      this.mapsOf(subject)[direction],
      this.clusterMapsOf(subject)[direction],
      address,
      port,
      probe.protocol,
    );
  }

  /** One side of a flow over given maps (the subject's, for the direction). */
  decideSide(
    map: PodMap,
    clusterMap: readonly ClusterMapEntry[],
    address: string,
    port: number,
    protocol: Protocol,
  ): SideDecision {
    // evaluateFlow: Admin tier, then the namespace tier, then (only for a pod no policy selects) Baseline.
    const tiers = clusterMap.length === 0 ? {} : evaluateClusterMap(clusterMap, address, port, protocol);
    if (tiers.admin !== undefined && tiers.admin.action !== "Pass") {
      return {
        kind: "cluster-tier",
        tier: "Admin",
        address,
        port,
        slot: tiers.admin,
        allowed: tiers.admin.action === "Accept",
      };
    }
    const namespaceTier = this.namespaceTier(map, address, port, protocol);
    if (namespaceTier.kind === "lookup") return namespaceTier;
    if (tiers.baseline !== undefined && tiers.baseline.action !== "Pass") {
      return {
        kind: "cluster-tier",
        tier: "Baseline",
        address,
        port,
        slot: tiers.baseline,
        allowed: tiers.baseline.action === "Accept",
      };
    }
    return namespaceTier;
  }

  private namespaceTier(map: PodMap, address: string, port: number, protocol: Protocol): SideDecision {
    if (map.state === "default-allow") return { kind: "default-allow" };
    if (map.state === "default-deny") return { kind: "default-deny" };
    const entry = longestPrefixMatch(map.entries, address);
    const allows = this.agent.anyProtocolMatchesEveryPort ? legacyValueAllows : valueAllows;
    return {
      kind: "lookup",
      address,
      port,
      entry,
      allowed: entry !== undefined && allows(entry.l4, port, protocol),
    };
  }
}
