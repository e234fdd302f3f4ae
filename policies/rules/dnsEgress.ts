/**
 * dns-egress-kube-dns-only: port 53 is the classic exfiltration channel, so DNS may go only to
 * kube-dns (namespace chosen by kubernetes.io/metadata.name, which the API server sets and nobody can
 * forge by labelling another namespace) or to the NodeLocal DNSCache address, and always on both
 * UDP and TCP (TCP carries truncated answers; without it large lookups fail intermittently).
 */
import { KUBE_DNS_NAMESPACE, KUBE_DNS_POD_LABELS, NAMESPACE_NAME_LABEL } from "../../core/networkPolicies";
import { z } from "zod";
import { DNS_PORT } from "../../core/flowTable";
import { protocolOf } from "../../core/kubernetes";
import { ipv4AddressTextSchema } from "../../core/cidrs";
import { networkPolicyRule, violation, type Violation } from "./common";
import { weakensWhen } from "./configStrictness";
import { portCovers, rulePath, rulesOf, type PeerView, type Selector } from "./k8s";

export const NAME = "dns-egress-kube-dns-only";
export const DESCRIPTION =
  "Egress on port 53 only to kube-dns in kube-system (by kubernetes.io/metadata.name) or the NodeLocal DNSCache /32, on both UDP and TCP.";

export const CONFIG = z.object({
  /** The NodeLocal DNSCache link-local address, when the cluster runs it (e.g. 169.254.20.10). */
  nodeLocalAddress: weakensWhen(ipv4AddressTextSchema.optional(), "changes"),
});
export type DnsEgressConfig = z.output<typeof CONFIG>;

function selectsExactly(selector: Selector | undefined, labels: Readonly<Record<string, string>>): boolean {
  if (selector === undefined || (selector.matchExpressions ?? []).length > 0) return false;
  const given = selector.matchLabels ?? {};
  const keys = Object.keys(labels);
  return Object.keys(given).length === keys.length && keys.every((key) => given[key] === labels[key]);
}

/** Why a DNS peer is not acceptable, or undefined when it is kube-dns or the NodeLocal address. */
function peerProblem(peer: PeerView, config: DnsEgressConfig): string | undefined {
  if (peer.ipBlock !== undefined) {
    const expected = config.nodeLocalAddress === undefined ? undefined : `${config.nodeLocalAddress}/32`;
    if (expected !== undefined && peer.ipBlock.cidr === expected && (peer.ipBlock.except ?? []).length === 0)
      return undefined;
    return expected === undefined
      ? `sends DNS to ipBlock ${String(peer.ipBlock.cidr)}, and no NodeLocal DNSCache address is configured`
      : `sends DNS to ipBlock ${String(peer.ipBlock.cidr)}, not the NodeLocal DNSCache address ${expected}`;
  }
  if (!selectsExactly(peer.namespaceSelector, { [NAMESPACE_NAME_LABEL]: KUBE_DNS_NAMESPACE })) {
    return peer.namespaceSelector === undefined
      ? "sends DNS to pods of its own namespace instead of kube-system"
      : `selects the DNS namespace by ${JSON.stringify(peer.namespaceSelector)} instead of ${NAMESPACE_NAME_LABEL}: ${KUBE_DNS_NAMESPACE} (a hand-set label can be put on any namespace)`;
  }
  if (!selectsExactly(peer.podSelector, KUBE_DNS_POD_LABELS)) {
    return `selects DNS pods by ${JSON.stringify(peer.podSelector ?? {})} instead of ${JSON.stringify(KUBE_DNS_POD_LABELS)}`;
  }
  return undefined;
}

export const dnsEgressKubeDnsOnly = networkPolicyRule({
  name: NAME,
  description: DESCRIPTION,
  config: CONFIG,
  facts: (config) => ({ "dns-egress-kube-dns-only.nodeLocalAddress": config.nodeLocalAddress ?? null }),
  check: ({ policy, resource, config }) => {
    const allowedPeers =
      `{namespaceSelector: {matchLabels: {${NAMESPACE_NAME_LABEL}: ${KUBE_DNS_NAMESPACE}}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}` +
      (config.nodeLocalAddress === undefined ? "" : ` or {ipBlock: {cidr: ${config.nodeLocalAddress}/32}}`);
    const found: Violation[] = [];
    for (const located of rulesOf(policy)) {
      if (located.direction !== "egress") continue;
      const dnsPorts = (located.rule.ports ?? []).filter((port) => portCovers(port, DNS_PORT));
      if (dnsPorts.length === 0) continue;
      const where = rulePath(located);
      const peers = located.peers ?? [];
      if (!located.hasPeersKey || peers.length === 0) {
        found.push({
          message: violation(
            resource,
            `${where} allows port 53 to every destination`,
            `set ${where}.to to ${allowedPeers}`,
          ),
        });
      }
      peers.forEach((peer, index) => {
        const problem = peerProblem(peer, config);
        if (problem !== undefined) {
          found.push({
            message: violation(
              resource,
              `${where}.to[${index}] ${problem}`,
              `set ${where}.to to ${allowedPeers}`,
            ),
          });
        }
      });
      const protocols = new Set<string>(dnsPorts.map(protocolOf));
      const missing = ["UDP", "TCP"].filter((protocol) => !protocols.has(protocol));
      if (missing.length > 0) {
        found.push({
          message: violation(
            resource,
            `${where} allows DNS on ${[...protocols].join(", ")} but not ${missing.join(", ")}`,
            `list port 53 with both protocol UDP and protocol TCP in ${where}.ports (TCP carries truncated answers)`,
          ),
        });
      }
    }
    return found;
  },
});
