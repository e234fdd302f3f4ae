/**
 * Who opened a connection. A TCP flow appears in both directions, and a reply must not count as a
 * connection the other way. The rule, shared by the raw-record replay and the Athena aggregation (so
 * both reach the same verdicts):
 *  1. TCP with `tcp-flags` logged: SYN-ACK (18: SYN and ACK) marks the server's side, a SYN without
 *     ACK the client's. Flow Logs OR the flags of a capture window and log ACK only within SYN-ACK.
 *  2. Otherwise the ports. A port in the ephemeral range (at or above 32768, where Linux's default
 *     ip_local_port_range starts) facing one below it is the client's.
 *  3. Otherwise the side listening on its port (a container port of the pod, a service's configured
 *     port, a data-store port, 53, the payment API's ports) is the server.
 *  4. Otherwise, the lower port is the server's.
 */
import type { Protocol } from "../analyzer";

/** What the record itself says about the initiator: its source, its destination, or nothing (use ports). */
export type InitiatorHint = "src" | "dst" | "ports";

export const TCP_FLAG_SYN = 2;
export const TCP_FLAG_ACK = 16;
export const TCP_FLAG_SYN_ACK = TCP_FLAG_SYN | TCP_FLAG_ACK;
export const EPHEMERAL_PORT_FLOOR = 32768;

/** Protocols a NetworkPolicy judges without ports: a port-only rule never admits them. */
export type PortlessProtocol = "ICMP" | "ICMPv6";
export type ReplayProtocol = Protocol | PortlessProtocol;

/** IANA numbers of the protocols the replay judges; any other is counted in records.unknownProtocol. */
export const IANA_PROTOCOLS: Readonly<Record<number, ReplayProtocol>> = {
  1: "ICMP",
  6: "TCP",
  17: "UDP",
  58: "ICMPv6",
  132: "SCTP",
};

export function isPortless(protocol: ReplayProtocol): protocol is PortlessProtocol {
  return protocol === "ICMP" || protocol === "ICMPv6";
}

export function initiatorHint(protocol: number, tcpFlags: number | undefined): InitiatorHint {
  if (protocol !== 6 || tcpFlags === undefined) return "ports";
  if ((tcpFlags & TCP_FLAG_SYN_ACK) === TCP_FLAG_SYN_ACK) return "dst";
  if ((tcpFlags & TCP_FLAG_SYN) === TCP_FLAG_SYN) return "src";
  return "ports";
}

function isEphemeral(port: number): boolean {
  return port >= EPHEMERAL_PORT_FLOOR;
}

/**
 * The ports that matter for the decision, the others set to 0: the client's port once the initiator
 * is known, an ephemeral port facing a non-ephemeral one. Grouping by these keeps an aggregation
 * small (client ports vary per connection) and loses nothing the rule needs.
 */
export function significantPorts(hint: InitiatorHint, srcPort: number, dstPort: number): [number, number] {
  if (hint === "src") return [0, dstPort];
  if (hint === "dst") return [srcPort, 0];
  if (isEphemeral(srcPort) && !isEphemeral(dstPort)) return [0, dstPort];
  if (isEphemeral(dstPort) && !isEphemeral(srcPort)) return [srcPort, 0];
  return [srcPort, dstPort];
}

/**
 * True when the record's destination is the server. Ports are the significant ones (0 = the
 * client's); `listens` says whether the source or the destination listens on a port.
 */
export function destinationIsServer(
  hint: InitiatorHint,
  srcPort: number,
  dstPort: number,
  listens: (side: "src" | "dst", port: number) => boolean,
): boolean {
  if (hint === "src") return true;
  if (hint === "dst") return false;
  if (srcPort === 0) return true;
  if (dstPort === 0) return false;
  const destinationListens = listens("dst", dstPort);
  if (destinationListens !== listens("src", srcPort)) return destinationListens;
  return dstPort <= srcPort;
}
