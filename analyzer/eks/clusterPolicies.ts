/**
 * ClusterNetworkPolicy tiers as EKS enforces them: what the controller resolves a policy into
 * (pkg/resolvers/clusternetworkpolicy_resolver.go: every rule is converted to a one-rule NetworkPolicy
 * and resolved by the NetworkPolicy resolver), what the agent writes into a pod's cluster-policy map
 * (fw_rule_processor.go ComputeClusterPolicyMapEntriesFromEndpointRules) and how the eBPF program
 * picks the Admin and Baseline answer from it (tc.v4egress.bpf.c evaluateClusterPolicyByLookUp).
 * Line references: docs/fidelity-eks.md.
 */
import { compileLabelSelector } from "../labelSelector";
import type {
  Direction,
  LabelSelector,
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  PodInfo,
  Protocol,
} from "../model";
import { canonicalCidr, cidrContains, parseAddress, parseCidr } from "../ipBlock";
import type { EndpointsResolver } from "./controller";
import type {
  ApplicationNetworkPolicy,
  ClusterNetworkPolicy,
  ClusterNetworkPolicyPort,
  ClusterPolicyAction,
} from "./clusterPolicyObjects";
import type { L4Entry } from "./model";

/** fw_rule_processor.go BASELINE_TIER_PRIORITY_OFFSET: Baseline priorities are stored +2000. */
export const BASELINE_TIER_PRIORITY_OFFSET = 2000;
/** tc.v4egress.bpf.c ADMIN_TIER_PRIORITY_LIMIT: a stored priority above it is a Baseline rule. */
export const ADMIN_TIER_PRIORITY_LIMIT = 1000;
/** utils.go ADMIN_TRIE_VALUE_LENGTH 384 bytes / 16 bytes per slot. */
export const MAX_CLUSTER_SLOTS = 24;

/** utils.go CPActionType: Deny 0, Accept 1, Pass 2; the stored value is priority*10 + action. */
const ACTION_RANK: Record<ClusterPolicyAction, number> = { Deny: 0, Accept: 1, Pass: 2 };

/** One resolved ClusterEndpointInfo, tagged with where it came from. */
export interface ClusterRule {
  readonly policy: string;
  readonly tier: "Admin" | "Baseline";
  /** spec.priority as written (0-1000). */
  readonly priority: number;
  readonly action: ClusterPolicyAction;
  readonly direction: Direction;
  readonly ruleIndex: number;
  readonly ruleName?: string;
  readonly cidr: string;
  /** Empty: every protocol and port. */
  readonly ports: readonly L4Entry[];
}

/** A domainNames peer: resolved by the controller, skipped by the agent (CIDR is empty). */
export interface SkippedDomainRule {
  readonly policy: string;
  readonly ruleIndex: number;
  readonly domainName: string;
}

export interface ClusterPolicyEndpoints {
  readonly policy: string;
  readonly tier: "Admin" | "Baseline";
  readonly priority: number;
  readonly selects: (pod: PodInfo) => boolean;
  readonly ingress: readonly ClusterRule[];
  readonly egress: readonly ClusterRule[];
  readonly skippedDomains: readonly SkippedDomainRule[];
}

/** One slot of a cluster-policy map value. */
export interface ClusterSlot {
  /** "ANY" = every protocol and port (IsL4RuleEmpty). */
  readonly protocol: Protocol | "ANY";
  readonly port?: number;
  readonly endPort?: number;
  /** The stored priority: spec.priority, +2000 for Baseline; 0 for the node IP. */
  readonly storedPriority: number;
  readonly action: ClusterPolicyAction;
  /** The rule that wrote it; undefined for the agent's own node-IP Accept. */
  readonly rule?: ClusterRule;
}

export interface ClusterMapEntry {
  readonly cidr: string;
  readonly slots: readonly ClusterSlot[];
  /** Slots beyond the 24 the value holds; which ones upstream keeps is Go map order (unspecified). */
  readonly overflow: boolean;
}

function npPorts(ports: readonly ClusterNetworkPolicyPort[] | undefined): NetworkPolicyPort[] | undefined {
  if (ports === undefined) return undefined;
  // convertCNPPortsToNPPorts: portNumber, portRange (port + endPort) and namedPort (protocol unset).
  return ports.flatMap((port): NetworkPolicyPort[] => [
    ...(port.portNumber ? [{ protocol: port.portNumber.protocol, port: port.portNumber.port }] : []),
    ...(port.portRange
      ? [{ protocol: port.portRange.protocol, port: port.portRange.start, endPort: port.portRange.end }]
      : []),
    ...(port.namedPort !== undefined ? [{ port: port.namedPort }] : []),
  ]);
}

type CnpPeer = {
  namespaces?: LabelSelector;
  pods?: { namespaceSelector: LabelSelector; podSelector: LabelSelector };
};

/** convertSingleCNP*RuleToNP: namespaces -> namespaceSelector; pods -> namespaceSelector + podSelector. */
function npPeer(peer: CnpPeer): NetworkPolicyPeer {
  if (peer.pods !== undefined)
    return { namespaceSelector: peer.pods.namespaceSelector, podSelector: peer.pods.podSelector };
  return { namespaceSelector: peer.namespaces };
}

function tempPolicy(name: string, namespace: string, spec: Partial<NetworkPolicy["spec"]>): NetworkPolicy {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name, namespace },
    // The temp NetworkPolicy leaves podSelector at its zero value and sets no policyTypes.
    spec: { podSelector: {}, policyTypes: [], ...spec },
  };
}

export class ClusterPolicyResolver {
  constructor(
    private readonly resolver: EndpointsResolver,
    private readonly namespaces: readonly { name: string; labels: Readonly<Record<string, string>> }[],
  ) {}

  /** resolveNamespacesBySelector: an empty selector lists every namespace. */
  private namespacesMatching(selector: LabelSelector): string[] {
    const matches = compileLabelSelector(selector);
    return this.namespaces.filter((ns) => matches(ns.labels)).map((ns) => ns.name);
  }

  resolve(cnp: ClusterNetworkPolicy): ClusterPolicyEndpoints {
    const { tier, priority, subject } = cnp.spec;
    const policy = cnp.metadata.name;
    // resolvePodEndpointsFromSubject: namespaces selects every pod of the matching namespaces.
    const subjectNamespaces = new Set(
      this.namespacesMatching(subject.namespaces ?? subject.pods?.namespaceSelector ?? {}),
    );
    const subjectPods = compileLabelSelector(subject.pods?.podSelector ?? {});
    const base = { policy, tier, priority };
    const ingress: ClusterRule[] = [];
    for (const [ruleIndex, rule] of (cnp.spec.ingress ?? []).entries()) {
      // resolveCNPIngressRules: the target namespaces come from the FIRST peer only; the whole rule
      // is resolved once per such namespace (each peer carries its own namespaceSelector).
      const first = rule.from[0];
      const targets =
        first === undefined
          ? []
          : this.namespacesMatching(first.namespaces ?? first.pods?.namespaceSelector ?? {});
      for (const namespace of targets) {
        const temp = tempPolicy(policy, namespace, {
          ingress: [{ from: rule.from.map(npPeer), ports: npPorts(rule.ports) }],
        });
        for (const entry of this.resolver.resolve(temp).ingress) {
          ingress.push({
            ...base,
            action: rule.action,
            direction: "ingress",
            ruleIndex,
            ruleName: rule.name,
            cidr: entry.cidr,
            ports: entry.ports,
          });
        }
      }
    }
    const egress: ClusterRule[] = [];
    const skippedDomains: SkippedDomainRule[] = [];
    for (const [ruleIndex, rule] of (cnp.spec.egress ?? []).entries()) {
      // convertSingleCNPEgressRuleToNP: networks become ipBlocks (no except), selectors as for
      // ingress, domainNames are left out; the whole rule is resolved once per peer (networks: in
      // "default"; selectors: once per namespace the peer selects).
      const temp = (namespace: string) =>
        tempPolicy(policy, namespace, {
          egress: [
            {
              to: rule.to.flatMap((peer): NetworkPolicyPeer[] =>
                peer.networks !== undefined
                  ? peer.networks.map((cidr) => ({ ipBlock: { cidr } }))
                  : peer.domainNames !== undefined
                    ? []
                    : [npPeer(peer)],
              ),
              ports: npPorts(rule.ports),
            },
          ],
        });
      for (const peer of rule.to) {
        let namespaces: string[];
        if (peer.networks !== undefined) namespaces = ["default"];
        else if (peer.domainNames !== undefined) {
          for (const domainName of peer.domainNames) skippedDomains.push({ policy, ruleIndex, domainName });
          continue;
        } else namespaces = this.namespacesMatching(peer.namespaces ?? peer.pods?.namespaceSelector ?? {});
        for (const namespace of namespaces) {
          for (const entry of this.resolver.resolve(temp(namespace)).egress) {
            egress.push({
              ...base,
              action: rule.action,
              direction: "egress",
              ruleIndex,
              ruleName: rule.name,
              cidr: entry.cidr,
              ports: entry.ports,
            });
          }
        }
      }
    }
    return {
      ...base,
      selects: (pod) => subjectNamespaces.has(pod.namespace) && subjectPods(pod.labels),
      ingress: dedupRules(ingress),
      egress: dedupRules(egress),
      skippedDomains,
    };
  }
}

/** mergeClusterEndpointInfo: one entry per (cidr, action, ports). */
function dedupRules(rules: readonly ClusterRule[]): ClusterRule[] {
  const seen = new Map<string, ClusterRule>();
  for (const rule of rules) {
    const key = `${rule.cidr}|${rule.action}|${JSON.stringify(rule.ports)}`;
    if (!seen.has(key)) seen.set(key, rule);
  }
  return [...seen.values()];
}

/**
 * ApplicationNetworkPolicy, resolved by applicationnetworkpolicy_resolver.go into a namespaced
 * PolicyEndpoint: ingress as a NetworkPolicy's, egress with every domainNames peer left out (the
 * agent skips FQDN entries: CIDR empty), and PodIsolation = spec.policyTypes exactly as written
 * (manager.go: no API defaulting for a CRD).
 */
export function applicationPolicyAsNetworkPolicy(anp: ApplicationNetworkPolicy): {
  policy: NetworkPolicy;
  podIsolation: NonNullable<ApplicationNetworkPolicy["spec"]["policyTypes"]>;
} {
  const egress = (anp.spec.egress ?? []).flatMap((rule) => {
    const to = (rule.to ?? [])
      .filter((peer) => (peer.domainNames ?? []).length === 0)
      .map(({ podSelector, namespaceSelector, ipBlock }) => ({ podSelector, namespaceSelector, ipBlock }));
    return to.length > 0 ? [{ ports: rule.ports, to }] : [];
  });
  return {
    policy: {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: anp.metadata.name, namespace: anp.metadata.namespace },
      spec: {
        podSelector: anp.spec.podSelector,
        policyTypes: anp.spec.policyTypes,
        ingress: anp.spec.ingress,
        egress,
      },
    },
    podIsolation: anp.spec.policyTypes ?? [],
  };
}

const prefixOf = (cidr: string) => Number(cidr.split("/")[1]);
const networkAddressOf = (cidr: string) => cidr.split("/")[0];

function slotsOf(rule: ClusterRule): ClusterSlot[] {
  const storedPriority =
    rule.tier === "Baseline" ? rule.priority + BASELINE_TIER_PRIORITY_OFFSET : rule.priority;
  if (rule.ports.length === 0) return [{ protocol: "ANY", storedPriority, action: rule.action, rule }];
  return rule.ports.map((port) => ({
    protocol: port.protocol === "ANY" || port.protocol === "DENY" ? "ANY" : port.protocol,
    port: port.port,
    endPort: port.endPort,
    storedPriority,
    action: rule.action,
    rule,
  }));
}

/**
 * ComputeClusterPolicyMapEntriesFromEndpointRules: rules sorted by prefix length (stable); each key
 * copies the slots of the most specific processed key containing it, then adds its own; `nodeIp`,
 * when the agent version writes it, gets an Accept at priority 0.
 */
export function computeClusterMapEntries(
  rules: readonly ClusterRule[],
  nodeIp: string | undefined,
  options: { readonly nodeIpAccept: boolean },
): ClusterMapEntry[] {
  const byCidr = new Map<string, ClusterSlot[]>();
  const processed: string[] = [];
  const sorted = rules
    .map((rule) => ({ rule, cidr: canonicalCidr(rule.cidr.includes("/") ? rule.cidr : `${rule.cidr}/32`) }))
    .sort((a, b) => prefixOf(a.cidr) - prefixOf(b.cidr));
  for (const { rule, cidr } of sorted) {
    if (parseCidr(cidr).family !== "ipv4") continue;
    if (nodeIp !== undefined && networkAddressOf(cidr) === nodeIp) continue;
    const address = parseAddress(networkAddressOf(cidr));
    let overlapping: string | undefined;
    for (let index = processed.length - 1; index >= 0; index--) {
      if (cidrContains(parseCidr(processed[index]), address)) {
        overlapping = processed[index];
        break;
      }
    }
    const slots = byCidr.get(cidr) ?? [];
    if (overlapping !== undefined) slots.push(...(byCidr.get(overlapping) ?? []));
    slots.push(...slotsOf(rule));
    byCidr.set(cidr, slots);
    processed.push(cidr);
  }
  const entries: ClusterMapEntry[] = [];
  if (nodeIp !== undefined && options.nodeIpAccept) {
    entries.push({
      cidr: `${nodeIp}/32`,
      slots: [{ protocol: "ANY", storedPriority: 0, action: "Accept" }],
      overflow: false,
    });
  }
  for (const [cidr, slots] of byCidr) {
    if (options.nodeIpAccept && nodeIp !== undefined && cidr === `${nodeIp}/32`) continue;
    const unique = [...new Map(slots.map((slot) => [slotKey(slot), slot])).values()];
    entries.push({ cidr, slots: unique, overflow: unique.length > MAX_CLUSTER_SLOTS });
  }
  return entries;
}

function slotKey(slot: ClusterSlot): string {
  return `${slot.protocol}-${slot.port ?? 0}-${slot.endPort ?? 0}-${slot.storedPriority}-${slot.action}`;
}

export function clusterLongestPrefixMatch(
  entries: readonly ClusterMapEntry[],
  address: string,
): ClusterMapEntry | undefined {
  const parsed = parseAddress(address);
  let best: ClusterMapEntry | undefined;
  for (const entry of entries) {
    if (!cidrContains(parseCidr(entry.cidr), parsed)) continue;
    if (best === undefined || prefixOf(entry.cidr) > prefixOf(best.cidr)) best = entry;
  }
  return best;
}

/** The cluster map's match: ANY matches every packet; a protocol slot matches start 0, start, or [start, end]. */
export function clusterSlotMatches(slot: ClusterSlot, port: number, protocol: Protocol): boolean {
  if (slot.protocol === "ANY") return true;
  if (slot.protocol !== protocol) return false;
  const start = slot.port ?? 0;
  const end = slot.endPort ?? 0;
  return start === 0 || port === start || (end > 0 && port >= start && port <= end);
}

export interface ClusterTierAnswer {
  /** The matching slot of lowest (priority, action); decides when its priority <= 1000. */
  readonly admin?: ClusterSlot;
  /** The matching slot of lowest (priority, action) among Baseline ones (> 1000). */
  readonly baseline?: ClusterSlot;
}

/** evaluateClusterPolicyByLookUp over one map: at equal priority Deny < Accept < Pass wins. */
export function evaluateClusterMap(
  entries: readonly ClusterMapEntry[],
  address: string,
  port: number,
  protocol: Protocol,
): ClusterTierAnswer {
  const entry = clusterLongestPrefixMatch(entries, address);
  if (entry === undefined) return {};
  let admin: ClusterSlot | undefined;
  let baseline: ClusterSlot | undefined;
  const better = (candidate: ClusterSlot, current: ClusterSlot | undefined) =>
    current === undefined ||
    candidate.storedPriority < current.storedPriority ||
    (candidate.storedPriority === current.storedPriority &&
      ACTION_RANK[candidate.action] < ACTION_RANK[current.action]);
  for (const slot of entry.slots) {
    if (!clusterSlotMatches(slot, port, protocol)) continue;
    if (better(slot, admin)) admin = slot;
    if (slot.storedPriority > ADMIN_TIER_PRIORITY_LIMIT && better(slot, baseline)) baseline = slot;
  }
  return {
    ...(admin !== undefined && admin.storedPriority <= ADMIN_TIER_PRIORITY_LIMIT ? { admin } : {}),
    ...(baseline !== undefined ? { baseline } : {}),
  };
}

/** "ClusterNetworkPolicy deny-db (Admin, priority 10, egress rule 0 \"db\": Deny)" */
export function describeClusterSlot(slot: ClusterSlot): string {
  if (slot.rule === undefined) return "the agent's node-IP Accept (cluster-policy map, priority 0)";
  const { rule } = slot;
  const name = rule.ruleName === undefined ? "" : ` "${rule.ruleName}"`;
  return `ClusterNetworkPolicy ${rule.policy} (${rule.tier}, priority ${rule.priority}, ${rule.direction} rule ${rule.ruleIndex}${name}: ${rule.action})`;
}
