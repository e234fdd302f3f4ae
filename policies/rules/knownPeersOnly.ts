/**
 * known-peers-only: a pod or namespace selector as a peer must name pods the flow table knows. An
 * allow-list, because a selector can match far more than it seems to:
 *  - `podSelector: {}` is every pod of the namespace, so one compromised pod reaches the service;
 *  - a namespaceSelector opens other namespaces (`{}`, another name, a hand-set label anyone with
 *    namespace edit rights can put on theirs), and kube-system holds the cluster's most privileged
 *    pods; the only one allowed is the DNS peer: kube-system by kubernetes.io/metadata.name (set by
 *    the API server, unforgeable) and k8s-app=kube-dns, egress on port 53 only;
 *  - `NotIn`, `Exists` and `DoesNotExist` match every pod but a few, or any pod that adds a label.
 * A podSelector peer is accepted only when it pins every label of one service of the flow table
 * (`workloads`, the services' podLabels) in the policy's own namespace: lateral movement to or
 * from pods outside the table is refused.
 */
import { z } from "zod";
import { DNS_PORTS } from "../../core/flowTable";
import { KUBE_DNS_NAMESPACE, KUBE_DNS_POD_LABELS, NAMESPACE_NAME_LABEL } from "../../core/networkPolicies";
import { networkPolicyRule, violation, type Violation } from "./common";
import { weakensWhen } from "./configStrictness";
import {
  describePorts,
  namespaceOf,
  portsOutside,
  rulePath,
  rulesOf,
  type PeerView,
  type Selector,
} from "./k8s";
import { stackWorkloads } from "./stackConfig";
import { describeWorkloads, pinnedWorkload, workloadSchema } from "./workloads";

export const NAME = "known-peers-only";
export const DESCRIPTION =
  "Pod and namespace selector peers select only the flow table's services (by all their labels) or kube-dns on port 53; no podSelector {}, no other namespace, no NotIn/Exists/DoesNotExist.";

export const CONFIG = z.object({
  /**
   * The services of the flow table (flash-netpol:services podLabels, in flash-netpol:namespace). By
   * default read from the stack's config the engine hands the pack, so a service added in YAML is
   * known at once; none when the pack was handed no flow table.
   */
  workloads: weakensWhen(
    z.array(workloadSchema).default(() => stackWorkloads()),
    "changes",
  ),
});
export type KnownPeersOnlyConfig = z.output<typeof CONFIG>;

function selectsExactly(selector: Selector | undefined, labels: Readonly<Record<string, string>>): boolean {
  if (selector === undefined || (selector.matchExpressions ?? []).length > 0) return false;
  const given = selector.matchLabels ?? {};
  const keys = Object.keys(labels);
  return Object.keys(given).length === keys.length && keys.every((key) => given[key] === labels[key]);
}

export function isKubeDnsPeer(peer: PeerView): boolean {
  return (
    peer.ipBlock === undefined &&
    selectsExactly(peer.namespaceSelector, { [NAMESPACE_NAME_LABEL]: KUBE_DNS_NAMESPACE }) &&
    selectsExactly(peer.podSelector, KUBE_DNS_POD_LABELS)
  );
}

/** Every requirement but `In` (an allow-list: NotIn, Exists, DoesNotExist and anything unknown). */
function wideExpressions(selector: Selector | undefined): string[] {
  return (selector?.matchExpressions ?? [])
    .filter((requirement) => requirement.operator !== "In")
    .map((requirement) => `${requirement.key ?? "?"} ${requirement.operator ?? "?"}`);
}

export const knownPeersOnly = networkPolicyRule({
  name: NAME,
  description: DESCRIPTION,
  config: CONFIG,
  facts: (config) => ({ "known-peers-only.workloads": config.workloads }),
  check: ({ policy, resource, provider, config }) => {
    const namespace = namespaceOf(policy, provider);
    const known = describeWorkloads(config.workloads);
    const found: Violation[] = [];
    for (const located of rulesOf(policy)) {
      const ports = located.rule.ports ?? [];
      const key = located.direction === "ingress" ? "from" : "to";
      (located.peers ?? []).forEach((peer, index) => {
        if (peer.ipBlock !== undefined) return;
        if (peer.podSelector === undefined && peer.namespaceSelector === undefined) return;
        const where = `${rulePath(located)}.${key}[${index}]`;
        const refuse = (problem: string, fix: string) =>
          found.push({ message: violation(resource, `${where} ${problem}`, fix) });
        const wide = [...wideExpressions(peer.namespaceSelector), ...wideExpressions(peer.podSelector)];
        if (wide.length > 0) {
          refuse(
            `uses ${wide.join(", ")}, which matches every pod or namespace but a few (or any that adds a label)`,
            `select the peer by matchLabels naming one service of the flow table (${known})`,
          );
          return;
        }
        if (peer.namespaceSelector !== undefined) {
          if (!isKubeDnsPeer(peer)) {
            refuse(
              `selects namespaces by ${JSON.stringify(peer.namespaceSelector)} (with podSelector ${JSON.stringify(peer.podSelector ?? "every pod")}): pods outside the flow table, in another namespace, a lateral-movement path`,
              `remove the peer; the only namespaceSelector allowed is kube-dns for DNS: {namespaceSelector: {matchLabels: {${NAMESPACE_NAME_LABEL}: ${KUBE_DNS_NAMESPACE}}}, podSelector: {matchLabels: {k8s-app: kube-dns}}} on port 53`,
            );
          } else if (
            located.direction !== "egress" ||
            ports.length === 0 ||
            portsOutside(ports, DNS_PORTS).length > 0
          ) {
            refuse(
              `opens kube-dns in ${KUBE_DNS_NAMESPACE} for ${located.direction} on ${describePorts(ports)}, but kube-dns is a peer only for DNS`,
              `allow kube-dns only as an egress peer on port 53 UDP/TCP`,
            );
          }
          return;
        }
        if (pinnedWorkload(peer.podSelector, namespace, config.workloads) === undefined) {
          refuse(
            `selects pods by ${JSON.stringify(peer.podSelector)} in ${namespace}, which is not one service of the flow table (known: ${known})`,
            `select the peer by every label of one service (known-peers-only.workloads), or add the flow to the flow table`,
          );
        }
      });
    }
    return found;
  },
});
