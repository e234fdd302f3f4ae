/**
 * The ports a set of policies can open, as probe ports for the guard's model. Whether a rule admits
 * a port changes only where some rule's numbered port or range starts or ends, so probing each
 * mentioned port, each range's last port, and the port on either side of each finds every opening
 * the policies make, whatever number they pick (the metrics port 9464, SSH on 2222, a range
 * 4000-4100), not only the flow table's ports and their neighbours. Named ports are refused by the
 * pack's ports-explicit rule; they are not probed here.
 */
import type { NetworkPolicy, Protocol, TrafficPort } from "../../core/kubernetes";
import { protocolOf } from "../../core/kubernetes";

const LOWEST_PORT = 1;
const HIGHEST_PORT = 65535;

export function portsMentionedBy(policies: readonly NetworkPolicy[]): TrafficPort[] {
  const found = new Map<string, TrafficPort>();
  const add = (port: number, protocol: Protocol) => {
    if (port < LOWEST_PORT || port > HIGHEST_PORT) return;
    found.set(`${port}/${protocol}`, { port, protocol });
  };
  for (const policy of policies) {
    const rules = [...(policy.spec.ingress ?? []), ...(policy.spec.egress ?? [])];
    for (const entry of rules.flatMap((rule) => rule.ports ?? [])) {
      if (typeof entry.port !== "number") continue;
      const protocol = protocolOf(entry);
      const last = entry.endPort ?? entry.port;
      for (const edge of [entry.port - 1, entry.port, last, last + 1]) add(edge, protocol);
    }
  }
  return [...found.values()];
}
