/**
 * Connections, not packets: flow groups (one raw record, or one row of the Athena aggregation) are
 * oriented client -> server and summed per (client address, server address, server port, protocol).
 * Memory grows with the distinct address pairs seen, never with the number of records.
 */
import type { Protocol } from "../analyzer";
import { IANA_PROTOCOLS, destinationIsServer, type InitiatorHint } from "./orientation";
import type { Place, Places } from "./places";

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
  readonly flowDirection?: "ingress" | "egress";
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
  readonly protocol: Protocol;
  agentDenies: number;
}

export interface RecordCounts {
  read: number;
  /** NODATA and SKIPDATA records. */
  skipped: number;
  /** Records of the server's side of a connection, folded into it. */
  replies: number;
  /** REJECT records: security groups or network ACLs dropped them; no NetworkPolicy change matters. */
  rejected: number;
  /** The receiving ENI's copy of a flow inside the VPC (its sender's ENI logged it as egress). */
  duplicates: number;
  /** No pod of the stack's namespace on either side, or a protocol NetworkPolicy does not name. */
  outOfScope: number;
}

export function emptyCounts(): RecordCounts {
  return { read: 0, skipped: 0, replies: 0, rejected: 0, duplicates: 0, outOfScope: 0 };
}

export class ConnectionAggregator {
  readonly counts = emptyCounts();
  readonly connections = new Map<string, AggregatedConnection>();
  windowStart = Number.POSITIVE_INFINITY;
  windowEnd = Number.NEGATIVE_INFINITY;

  constructor(private readonly places: Places) {}

  /** Stretches the window; every record with a time counts, in scope or not. */
  observeTime(start: number, end: number): void {
    if (start < this.windowStart) this.windowStart = start;
    if (end > this.windowEnd) this.windowEnd = end;
  }

  add(group: FlowGroup): void {
    this.observeTime(group.firstSeen, group.lastSeen);
    const protocol = IANA_PROTOCOLS[group.protocol];
    const src = this.places.of(group.src);
    const dst = this.places.of(group.dst);
    // Inside the VPC every packet leaves one ENI (egress) and enters another (ingress): keep the
    // sender's copy. From outside the VPC only the receiving ENI logs it.
    if (group.flowDirection === "ingress" && src.inVpc) {
      this.counts.duplicates += group.records;
      return;
    }
    if (protocol === undefined || (!src.inNamespace && !dst.inNamespace)) {
      this.counts.outOfScope += group.records;
      return;
    }
    const forward = destinationIsServer(group.hint, group.srcPort, group.dstPort, (side, port) =>
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
