/**
 * What aws-network-policy-agent writes into one pod's ingress or egress LPM map
 * (pkg/fwruleprocessor/fw_rule_processor.go, ComputeMapEntriesFromEndpointRules) and how its eBPF
 * program answers a packet from it (pkg/ebpf/c/tc.v4egress.bpf.c, evaluateNamespacePolicyByLookUp).
 * Line references: docs/fidelity/eks-agent.md.
 */
import { canonicalCidr, cidrContains, parseAddress, parseCidr } from "../ipBlock";
import type { Protocol } from "../../core/kubernetes";
import type { EndpointRule, L4Entry, MapEntry, MapEntryKind, RuleSource } from "./model";

/** TRIE_VALUE_LENGTH 288 bytes / 12 bytes per (protocol, start, end): MAX_PORT_PROTOCOL. */
export const MAX_PORT_PROTOCOL = 24;

const CATCH_ALL: L4Entry = { protocol: "ANY" };
const DENY_ALL: L4Entry = { protocol: "DENY" };

interface WorkingRule {
  cidr: string;
  except: string[];
  l4: L4Entry[];
  inheritedFrom: string[];
  rules: RuleSource[];
  kind: MapEntryKind;
}

/** Bare addresses get the host mask, then host bits are cleared (Go's net.ParseCIDR network). */
function normalise(cidr: string): string {
  return canonicalCidr(cidr.includes("/") ? cidr : `${cidr}/32`);
}

const prefixOf = (cidr: string) => Number(cidr.split("/")[1]);
const isIpv4 = (cidr: string) => parseCidr(cidr).family === "ipv4";
const networkAddressOf = (cidr: string) => cidr.split("/")[0];

function l4Key(entry: L4Entry): string {
  return `${entry.protocol}@${entry.port ?? 0}@${entry.endPort ?? 0}`;
}

/** mergeDuplicateL4Info: one entry per (protocol, port, endPort). */
function mergeDuplicates(entries: readonly L4Entry[]): L4Entry[] {
  return [...new Map(entries.map((entry) => [l4Key(entry), entry])).values()];
}

// Every probe asks "is this address in that key" for every key of a map: core/cidrs parses each text once.
function contains(outer: string, address: string): boolean {
  return cidrContains(parseCidr(outer), parseAddress(address));
}

/**
 * The map of one pod and direction. `rules` are the PolicyEndpoint entries of every policy selecting
 * the pod, in any order; `nodeIp` is the pod's node, always allowed. IPv4 cluster: IPv6 keys skipped.
 */
export function computeMapEntries(rules: readonly EndpointRule[], nodeIp: string | undefined): MapEntry[] {
  const byCidr = new Map<string, WorkingRule>();
  const exceptCidrs = new Set<string>();
  // Keys that are not /32 and may pass their ports on to narrower keys (the containment trie).
  const nonHost: WorkingRule[] = [];
  const sorted = rules
    .map((rule) => ({ rule, cidr: rule.cidr.includes("/") ? rule.cidr : `${rule.cidr}/32` }))
    .sort((a, b) => prefixOf(a.cidr) - prefixOf(b.cidr));
  for (const { rule } of sorted) {
    for (const except of rule.except) exceptCidrs.add(except);
    const cidr = normalise(rule.cidr);
    if (!isIpv4(cidr)) continue;
    if (nodeIp !== undefined && networkAddressOf(cidr) === nodeIp) continue;
    const l4 = rule.ports.length === 0 ? [CATCH_ALL] : [...rule.ports];
    const existing = byCidr.get(cidr);
    let working: WorkingRule;
    if (existing !== undefined) {
      working = {
        ...existing,
        l4: [...l4, ...existing.l4],
        except: [...rule.except, ...existing.except],
        rules: [...existing.rules, { policy: rule.policy, ruleIndex: rule.ruleIndex }],
      };
    } else {
      const inherited = nonHost.filter(
        (outer) =>
          contains(outer.cidr, networkAddressOf(cidr)) &&
          !outer.except.some((except) => contains(except, networkAddressOf(cidr))),
      );
      working = {
        cidr,
        except: [...rule.except],
        l4: [...l4, ...inherited.flatMap((outer) => outer.l4)],
        inheritedFrom: inherited.map((outer) => outer.cidr),
        rules: [
          { policy: rule.policy, ruleIndex: rule.ruleIndex },
          ...inherited.flatMap((outer) => outer.rules),
        ],
        kind: "rules",
      };
    }
    byCidr.set(cidr, working);
    if (prefixOf(cidr) !== 32) {
      const index = nonHost.findIndex((outer) => outer.cidr === cidr);
      if (index >= 0) nonHost[index] = working;
      else nonHost.push(working);
    }
  }
  for (const except of exceptCidrs) {
    const cidr = normalise(except);
    if (byCidr.has(cidr) || !isIpv4(cidr)) continue;
    const exceptedBy = sorted
      .filter(({ rule }) => rule.except.includes(except))
      .map(({ rule }) => ({ policy: rule.policy, ruleIndex: rule.ruleIndex }));
    byCidr.set(cidr, {
      cidr,
      except: [],
      l4: [DENY_ALL],
      inheritedFrom: [],
      rules: exceptedBy,
      kind: "except-deny",
    });
  }
  const entries: MapEntry[] = [];
  if (nodeIp !== undefined && !byCidr.has(`${nodeIp}/32`)) {
    entries.push({
      cidr: `${nodeIp}/32`,
      kind: "node-ip",
      l4: [CATCH_ALL],
      dropped: [],
      inheritedFrom: [],
      rules: [],
    });
  }
  for (const working of byCidr.values()) {
    const merged = mergeDuplicates(working.l4);
    entries.push({
      cidr: working.cidr,
      kind: working.kind,
      l4: merged.slice(0, MAX_PORT_PROTOCOL),
      dropped: merged.slice(MAX_PORT_PROTOCOL),
      inheritedFrom: working.inheritedFrom,
      rules: dedupSources(working.rules),
    });
  }
  return entries;
}

function dedupSources(sources: readonly RuleSource[]): RuleSource[] {
  return [...new Map(sources.map((source) => [`${source.policy}#${source.ruleIndex}`, source])).values()];
}

/** The allow-all list the agent uses for a direction no policy isolates (addCatchAllEntry). */
export function catchAllRule(policy: string): EndpointRule {
  return { policy, ruleIndex: 0, cidr: "0.0.0.0/0", except: [], ports: [] };
}

/** BPF_MAP_TYPE_LPM_TRIE lookup: the longest key containing the address. */
export function longestPrefixMatch(entries: readonly MapEntry[], address: string): MapEntry | undefined {
  let best: MapEntry | undefined;
  for (const entry of entries) {
    if (!contains(entry.cidr, address)) continue;
    if (best === undefined || prefixOf(entry.cidr) > prefixOf(best.cidr)) best = entry;
  }
  return best;
}

/**
 * evaluateNamespacePolicyByLookUp over one value: a deny-all slot denies; an ANY or matching
 * protocol slot allows when its start port is 0 (any), equals the port, or the port is in
 * (start, end].
 */
export function valueAllows(l4: readonly L4Entry[], port: number, protocol: Protocol): boolean {
  for (const entry of l4) {
    if (entry.protocol === "DENY") return false;
    if (entry.protocol !== "ANY" && entry.protocol !== protocol) continue;
    const start = entry.port ?? 0;
    const end = entry.endPort ?? 0;
    if (start === 0 || port === start || (port > start && port <= end)) return true;
  }
  return false;
}
