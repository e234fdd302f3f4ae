/**
 * The NetworkPolicy map of agents v1.2.0-v1.2.3 (pkg/ebpf/bpf_client.go computeMapEntriesFromEndpointRules
 * at v1.2.2, moved unchanged to pkg/fwruleprocessor/fw_rule_processor.go at v1.2.3), and its eBPF match
 * (an ANY_IP_PROTOCOL slot matches every port). Line references: docs/fidelity/eks-tiers.md.
 */
import { canonicalCidr, cidrContains, parseAddress, parseCidr } from "../ipBlock";
import type { Protocol } from "../../core/kubernetes";
import { MAX_PORT_PROTOCOL } from "./agent";
import type { EndpointRule, L4Entry, MapEntry, MapEntryKind, RuleSource } from "./model";

const CATCH_ALL: L4Entry = { protocol: "ANY" };
const DENY_ALL: L4Entry = { protocol: "DENY" };

const prefixOf = (cidr: string) => Number(cidr.split("/")[1]);
const withMask = (cidr: string) => (cidr.includes("/") ? cidr : `${cidr}/32`);

function mergeDuplicates(entries: readonly L4Entry[]): L4Entry[] {
  const key = (entry: L4Entry) => `${entry.protocol}@${entry.port ?? 0}@${entry.endPort ?? 0}`;
  return [...new Map(entries.map((entry) => [key(entry), entry])).values()];
}

/**
 * ComputeTrieValue(l4, allowAll, denyAll): allowAll or denyAll writes a first ANY or RESERVED slot and
 * turns every following slot's protocol into the same; an empty list means allowAll.
 */
function trieValue(l4: readonly L4Entry[], allowAll: boolean, denyAll: boolean): L4Entry[] {
  const allow = allowAll || l4.length === 0;
  if (denyAll) return [DENY_ALL, ...l4.map((entry) => ({ ...entry, protocol: "DENY" as const }))];
  if (allow) return [CATCH_ALL, ...l4.map((entry) => ({ ...entry, protocol: "ANY" as const }))];
  return [...l4];
}

interface Written {
  l4: L4Entry[];
  kind: MapEntryKind;
  rules: RuleSource[];
}

export function computeLegacyMapEntries(
  rules: readonly EndpointRule[],
  nodeIp: string | undefined,
): MapEntry[] {
  const map = new Map<string, Written>();
  const ipv4 = (cidr: string) => parseCidr(canonicalCidr(withMask(cidr))).family === "ipv4";
  // sortFirewallRulesByPrefixLength: stable, shortest prefix first.
  const sorted = [...rules].sort((a, b) => prefixOf(withMask(a.cidr)) - prefixOf(withMask(b.cidr)));
  if (nodeIp !== undefined) map.set(`${nodeIp}/32`, { l4: [CATCH_ALL], kind: "node-ip", rules: [] });
  // checkAndDeriveCatchAllIPPorts: every /0 rule's ports; allowAll when one has none.
  const catchAll = sorted.filter((rule) => prefixOf(withMask(rule.cidr)) === 0 && ipv4(rule.cidr));
  const catchAllPorts = catchAll.flatMap((rule) => rule.ports);
  const allowAll = catchAll.some((rule) => rule.ports.length === 0);
  const catchAllSources = catchAll.map(({ policy, ruleIndex }) => ({ policy, ruleIndex }));
  if (catchAll.length > 0) {
    map.set("0.0.0.0/0", {
      l4: trieValue(catchAllPorts, allowAll, false),
      kind: "rules",
      rules: catchAllSources,
    });
  }
  const nonHost = new Map<string, { l4: L4Entry[]; rules: RuleSource[] }>();
  const hosts = new Map<string, { l4: L4Entry[]; rules: RuleSource[] }>();
  const containing = (cidr: string) => {
    const address = parseAddress(cidr.split("/")[0]);
    return [...nonHost.entries()].filter(([outer]) => cidrContains(parseCidr(outer), address));
  };
  for (const rule of sorted) {
    const cidr = canonicalCidr(withMask(rule.cidr));
    if (nodeIp !== undefined && cidr === `${nodeIp}/32`) continue;
    if (!ipv4(cidr)) continue;
    const source = { policy: rule.policy, ruleIndex: rule.ruleIndex };
    let l4: L4Entry[] = [...rule.ports];
    let sources: RuleSource[] = [source];
    if (prefixOf(cidr) !== 0) {
      if (l4.length === 0) l4.push(CATCH_ALL);
      const table = prefixOf(cidr) === 32 ? hosts : nonHost;
      const existing = table.get(cidr);
      if (existing !== undefined) {
        l4 = [...l4, ...existing.l4];
        sources = [...sources, ...existing.rules];
      }
      // A /32 always inherits from the containing CIDRs; a new non-host CIDR only when first seen.
      if (table === hosts || existing === undefined) {
        for (const [, outer] of containing(cidr)) {
          l4 = [...l4, ...outer.l4];
          sources = [...sources, ...outer.rules];
        }
      }
      table.set(cidr, { l4, rules: sources });
      // The catch-all rules' ports are appended to every key.
      l4 = [...l4, ...catchAllPorts];
      sources = [...sources, ...catchAllSources];
      map.set(cidr, { l4: trieValue(mergeDuplicates(l4), allowAll, false), kind: "rules", rules: sources });
    }
    // Each except range becomes a deny key, written per rule (a later write to the same key wins).
    for (const except of rule.except) {
      const key = canonicalCidr(withMask(except));
      if (!ipv4(key)) continue;
      map.set(key, { l4: trieValue(mergeDuplicates(l4), false, true), kind: "except-deny", rules: [source] });
    }
  }
  return [...map.entries()].map(([cidr, written]) => ({
    cidr,
    kind: written.kind,
    l4: written.l4.slice(0, MAX_PORT_PROTOCOL),
    dropped: written.l4.slice(MAX_PORT_PROTOCOL),
    inheritedFrom: [],
    rules: [...new Map(written.rules.map((rule) => [`${rule.policy}#${rule.ruleIndex}`, rule])).values()],
  }));
}

/** v1.2.0-v1.2.3 tc.v4egress.bpf.c: RESERVED denies; ANY allows whatever the port; else protocol and port. */
export function legacyValueAllows(l4: readonly L4Entry[], port: number, protocol: Protocol): boolean {
  for (const entry of l4) {
    if (entry.protocol === "DENY") return false;
    if (entry.protocol === "ANY") return true;
    if (entry.protocol !== protocol) continue;
    const start = entry.port ?? 0;
    const end = entry.endPort ?? 0;
    if (start === 0 || port === start || (port > start && port <= end)) return true;
  }
  return false;
}
