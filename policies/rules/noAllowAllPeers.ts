/**
 * no-allow-all-peers: a rule must name who it allows. An absent `from`/`to`, an empty list, a `{}`
 * peer or `namespaceSelector: {}` each open the pod to every source or destination (the last to
 * every namespace), which is what zero trust exists to prevent.
 */
import { z } from "zod";
import { networkPolicyRule, violation, type Violation } from "./common";
import { weakensWhen } from "./configStrictness";
import { isEmptyPeer, isEmptySelector, namespaceOf, rulePath, rulesOf } from "./k8s";

export const NAME = "no-allow-all-peers";
export const DESCRIPTION =
  "No NetworkPolicy rule allows every peer: no rule without from/to, no empty from/to list, no {} peer, no namespaceSelector {}.";

export const CONFIG = z.object({
  /** Policies allowed to open to everyone, as "namespace/name". */
  allowList: weakensWhen(z.array(z.string().regex(/^[a-z0-9-]+\/[a-z0-9.-]+$/)).default([]), "grows"),
});
export type NoAllowAllPeersConfig = z.output<typeof CONFIG>;

export const noAllowAllPeers = networkPolicyRule({
  name: NAME,
  description: DESCRIPTION,
  config: CONFIG,
  check: ({ policy, resource, provider, args, config }) => {
    const key = `${namespaceOf(policy, provider)}/${policy.metadata?.name ?? args.name}`;
    if (config.allowList.includes(key)) return [];
    const found: Violation[] = [];
    const fix = (field: string) =>
      `list the peers this rule needs in ${field} (podSelector, namespaceSelector on kubernetes.io/metadata.name, or ipBlock), ` +
      `or add "${key}" to ${NAME}.allowList in the policy pack config if opening it to everyone is intended`;
    for (const located of rulesOf(policy)) {
      const peersKey = located.direction === "ingress" ? "from" : "to";
      const field = `${rulePath(located)}.${peersKey}`;
      const everyone = located.direction === "ingress" ? "every source" : "every destination";
      if (!located.hasPeersKey) {
        found.push({
          message: violation(
            resource,
            `${rulePath(located)} has no ${peersKey} and so allows ${everyone}`,
            fix(field),
          ),
        });
        continue;
      }
      const peers = located.peers ?? [];
      if (peers.length === 0) {
        found.push({
          message: violation(resource, `${field} is an empty list, which allows ${everyone}`, fix(field)),
        });
        continue;
      }
      peers.forEach((peer, index) => {
        if (isEmptyPeer(peer)) {
          found.push({
            message: violation(resource, `${field}[${index}] is {}, which matches ${everyone}`, fix(field)),
          });
        } else if (isEmptySelector(peer.namespaceSelector)) {
          found.push({
            message: violation(
              resource,
              `${field}[${index}].namespaceSelector is {}, which opens every namespace`,
              fix(field),
            ),
          });
        }
      });
    }
    return found;
  },
});
