/**
 * ClusterNetworkPolicy tiers in aws-network-policy-agent: what it writes into a pod's cluster-policy
 * map (fw_rule_processor.go ComputeClusterPolicyMapEntriesFromEndpointRules) and how the eBPF program
 * picks the Admin and Baseline answer from it (tc.v4egress.bpf.c evaluateClusterPolicyByLookUp).
 * The rules come from clusterPolicyResolver.ts. Line references: docs/fidelity/eks-tiers.md.
 */
import type { Protocol } from "../../core/kubernetes";
import { canonicalCidr, cidrContains, parseAddress, parseCidr } from "../ipBlock";
import type { ClusterPolicyAction } from "./clusterPolicyObjects";
import type { ClusterRule } from "./clusterPolicyResolver";

/** fw_rule_processor.go BASELINE_TIER_PRIORITY_OFFSET: Baseline priorities are stored +2000. */
export const BASELINE_TIER_PRIORITY_OFFSET = 2000;
/** tc.v4egress.bpf.c ADMIN_TIER_PRIORITY_LIMIT: a stored priority above it is a Baseline rule. */
export const ADMIN_TIER_PRIORITY_LIMIT = 1000;
/** utils.go ADMIN_TRIE_VALUE_LENGTH 384 bytes / 16 bytes per slot. */
export const MAX_CLUSTER_SLOTS = 24;

/** utils.go CPActionType: Deny 0, Accept 1, Pass 2; the stored value is priority*10 + action. */
const ACTION_RANK: Record<ClusterPolicyAction, number> = { Deny: 0, Accept: 1, Pass: 2 };

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
