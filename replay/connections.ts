/**
 * Connections, not packets: flow groups (one raw record, or one row of the Athena aggregation) are
 * oriented client -> server and summed per (client address, server address, server port, protocol).
 * Memory grows with the distinct address pairs seen, never with the number of records.
 */
import {
  IANA_PROTOCOLS,
  destinationIsServer,
  isPortless,
  type InitiatorHint,
  type ReplayProtocol,
} from "./orientation";
import type { Place, Places } from "./places";
import type { Direction } from "../core/kubernetes";

/** Records that share everything the replay looks at; a raw record is a group of one. */
export interface FlowGroup {
  readonly src: string;
  readonly dst: string;
  /** Significant ports (see orientation.ts): 0 where the port is the client's. */
  readonly srcPort: number;
  readonly dstPort: number;
  /** IANA protocol number. */
  readonly protocol: number;
  readonly hint: InitiatorHint;
  /** `flow-direction` of the observing ENI, when logged. */
  readonly flowDirection?: Direction;
  readonly records: number;
  /** Records of TCP flows with tcp-flags logged: without SYN they continue a connection, not open one. */
  readonly flagged: number;
  readonly packets: number;
  readonly bytes: number;
  /** Unix seconds. */
  readonly firstSeen: number;
  readonly lastSeen: number;
  /** Agent verdict lines: DENY count, when the observation comes from the network policy agent. */
  readonly agentDenies?: number;
  /**
   * The address came from srcaddr/dstaddr with no pkt-srcaddr/pkt-dstaddr: it may be the observing
   * ENI's primary address standing in for the packet's own (a pod on a secondary address).
   */
  readonly srcMayBeEni?: boolean;
  readonly dstMayBeEni?: boolean;
}

/** What was seen of one connection or a roll-up of them; first and last seen in epoch seconds. */
export interface TrafficTotals {
  connections: number;
  packets: number;
  bytes: number;
  firstSeen: number;
  lastSeen: number;
}

export interface AggregatedConnection extends TrafficTotals {
  readonly client: Place;
  readonly server: Place;
  readonly port: number;
  readonly protocol: ReplayProtocol;
  agentDenies: number;
}

export interface RecordCounts {
  /** Records and agent verdict lines; header lines and other agent lines are not records. */
  read: number;
  /** NODATA and SKIPDATA records. */
  skipped: number;
  /** A protocol NetworkPolicy does not judge (flow logs: not ICMP, TCP, UDP, SCTP; agent: UNKNOWN, RESERVED, ANY PROTOCOL). */
  unknownProtocol: number;
  /** TCP, UDP or SCTP records whose ports are "-": nothing to judge a port rule on. */
  noPorts: number;
  /** Records of the server's side of a connection, folded into it. */
  replies: number;
  /** REJECT records: security groups or network ACLs dropped them; no NetworkPolicy change matters. */
  rejected: number;
  /** The receiving ENI's copy of a flow inside the VPC (its sender's ENI logged it as egress). */
  duplicates: number;
  /** No pod of the stack's namespace on either side. */
  outOfScope: number;
  /**
   * Records whose srcaddr/dstaddr (no pkt-srcaddr/pkt-dstaddr) is a node or ENI address that stands
   * for pods behind it: not judged, and the replay exits 4.
   */
  unattributable: number;
}

export class ConnectionAggregator {
  readonly connections = new Map<string, AggregatedConnection>();
  /** The addresses that made records unattributable, with the pods each may stand for. */
  readonly unattributableAddresses = new Map<string, readonly string[]>();

  constructor(
    private readonly places: Places,
    readonly counts: RecordCounts,
  ) {}

  add(group: FlowGroup): void {
    const protocol = IANA_PROTOCOLS[group.protocol];
    const src = this.places.of(group.src);
    const dst = this.places.of(group.dst);
    // Inside the VPC every packet leaves one ENI (egress) and enters another (ingress): keep the
    // sender's copy. From outside the VPC only the receiving ENI logs it.
    if (group.flowDirection === "ingress" && src.inVpc) {
      this.counts.duplicates += group.records;
      return;
    }
    const hidden = [
      ...(group.srcMayBeEni === true ? [src] : []),
      ...(group.dstMayBeEni === true ? [dst] : []),
    ].filter((place) => this.places.mayStandForPods(place));
    if (hidden.length > 0) {
      this.counts.unattributable += group.records;
      for (const place of hidden) this.unattributableAddresses.set(place.ip, this.places.podsBehind(place));
      return;
    }
    if (protocol === undefined) {
      this.counts.unknownProtocol += group.records;
      return;
    }
    if (!src.inNamespace && !dst.inNamespace) {
      this.counts.outOfScope += group.records;
      return;
    }
    // ICMP has no ports to tell a reply by: each record is judged as its sender's.
    const forward =
      isPortless(protocol) ||
      destinationIsServer(group.hint, group.srcPort, group.dstPort, (side, port) =>
        this.places.listens(side === "src" ? src : dst, port, protocol),
      );
    const [client, server, port] = forward ? [src, dst, group.dstPort] : [dst, src, group.srcPort];
    if (!forward) this.counts.replies += group.records;
    const key = `${client.ip}|${server.ip}|${port}|${protocol}`;
    let connection = this.connections.get(key);
    if (connection === undefined) {
      connection = {
        client,
        server,
        port,
        protocol,
        connections: 0,
        packets: 0,
        bytes: 0,
        firstSeen: group.firstSeen,
        lastSeen: group.lastSeen,
        agentDenies: 0,
      };
      this.connections.set(key, connection);
    }
    // A SYN opens one connection per record; a TCP record with flags but no SYN continues one; without
    // flags (default format, UDP) each client-side record stands for one.
    if (forward)
      connection.connections += group.hint === "src" ? group.records : group.records - group.flagged;
    connection.packets += group.packets;
    connection.bytes += group.bytes;
    connection.agentDenies += group.agentDenies ?? 0;
    if (group.firstSeen < connection.firstSeen) connection.firstSeen = group.firstSeen;
    if (group.lastSeen > connection.lastSeen) connection.lastSeen = group.lastSeen;
  }
}
