/**
 * VPC Flow Logs records, streamed: the default format (version 2, 14 space-separated fields, as
 * CloudWatch Logs holds them), a custom format as delivered to S3 as text (a header line names the
 * fields; concatenated objects repeat it, and a later header may name other fields), or Parquet
 * (flowLogParquet.ts turns its rows into the same fields).
 *
 * Field meanings follow the AWS documentation (docs/replay.md cites it):
 *  - srcaddr of outgoing and dstaddr of incoming traffic is the ENI's primary private address, so a
 *    pod on a secondary address shows as its node; pkt-srcaddr/pkt-dstaddr carry the packet's own.
 *    Where a record has no pkt-* field, the address is marked as possibly the ENI's (connections.ts
 *    decides with the pod index whether it stands for pods: then the replay exits 4).
 *  - NODATA/SKIPDATA records carry no flow ("-" fields); they are counted in records.skipped.
 *  - A protocol NetworkPolicy does not judge is counted in records.unknownProtocol; TCP/UDP/SCTP
 *    records whose ports are "-" in records.noPorts; ICMP is judged (its ports mean nothing).
 * A record that does not parse stops the replay with its file, line and field.
 */
import * as ipaddr from "ipaddr.js";
import type { FlowGroupCollector } from "./flowGroups";
import type { Direction } from "../core/kubernetes";
import { ReplayInputError } from "./inputError";
import { fileKind, forEachLineBytes } from "./lineReader";
import { FAST_FIELDS, readPlainRecord } from "./plainRecords";
import { IANA_PROTOCOLS, initiatorHint, isPortless, significantPorts } from "./orientation";

export const DEFAULT_FORMAT_FIELDS = [
  "version",
  "account-id",
  "interface-id",
  "srcaddr",
  "dstaddr",
  "srcport",
  "dstport",
  "protocol",
  "packets",
  "bytes",
  "start",
  "end",
  "action",
  "log-status",
] as const;

export const REQUIRED_FIELDS = [
  "srcaddr",
  "dstaddr",
  "srcport",
  "dstport",
  "protocol",
  "packets",
  "bytes",
  "start",
  "end",
  "action",
  "log-status",
] as const;

type RequiredField = (typeof REQUIRED_FIELDS)[number];
type OptionalField = "tcp-flags" | "pkt-srcaddr" | "pkt-dstaddr" | "flow-direction";
type Field = RequiredField | OptionalField;

const HEADER_TOKEN = /^[a-z][a-z0-9-]*$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export interface Layout {
  readonly count: number;
  /** Per field position, its role in plainRecords.ts FAST_FIELDS, or -1 where the fast path skips it. */
  readonly fastRoles: Int8Array;
  readonly at: Record<RequiredField, number> & Partial<Record<OptionalField, number>>;
  readonly names: readonly string[];
  readonly isDefault: boolean;
}

export function layoutOf(names: readonly string[], file: string, line: number | undefined): Layout {
  const missing = REQUIRED_FIELDS.filter((field) => !names.includes(field));
  if (missing.length > 0) {
    throw new ReplayInputError(
      file,
      line,
      missing[0],
      `the header line lacks ${missing.join(", ")}; the replay needs ${REQUIRED_FIELDS.join(", ")} (docs/replay.md gives the format to enable)`,
    );
  }
  const at = Object.fromEntries(names.map((name, index) => [name, index])) as Layout["at"];
  const fastRoles = new Int8Array(names.length).fill(-1);
  names.forEach((name, index) => {
    const role = (FAST_FIELDS as readonly string[]).indexOf(name);
    if (role !== -1) fastRoles[index] = role;
  });
  return { count: names.length, at, names, isDefault: names === DEFAULT_FORMAT_FIELDS, fastRoles };
}

const DEFAULT_LAYOUT = layoutOf(DEFAULT_FORMAT_FIELDS, "", undefined);

/** A header line: every token a field name (a record always holds a number or an address). */
function isHeader(tokens: readonly string[]): boolean {
  return tokens.length > 0 && tokens.every((token) => HEADER_TOKEN.test(token));
}

/** Parses records of one file into the collector; the layout may change at any header. */
export class FlowLogParser {
  private layout: Layout = DEFAULT_LAYOUT;
  private readonly validAddresses = new Set<string>();

  constructor(
    private readonly file: string,
    private readonly collector: FlowGroupCollector,
  ) {}

  setLayout(names: readonly string[], lineNumber: number | undefined): void {
    this.layout = layoutOf(names, this.file, lineNumber);
  }

  /** The line `bytes` holds between `start` and `end`. */
  lineIn(bytes: Buffer, start: number, end: number, lineNumber: number): void {
    if (!readPlainRecord(bytes, start, end, this.layout, this.validAddresses, this.collector))
      this.line(bytes.toString("utf8", start, end), lineNumber);
  }

  line(line: string, lineNumber: number): void {
    let tokens = line.split(" ");
    if (tokens.length !== this.layout.count || tokens.includes("")) {
      const trimmed = line.trim();
      if (trimmed === "") return;
      tokens = trimmed.split(/\s+/);
    }
    const first = tokens[0];
    if (first.length > 0 && first.charCodeAt(0) >= 97 && first.charCodeAt(0) <= 122 && isHeader(tokens)) {
      this.setLayout(tokens, lineNumber);
      return;
    }
    this.record(tokens, lineNumber);
  }

  private fail(lineNumber: number, field: string | undefined, problem: string): never {
    throw new ReplayInputError(this.file, lineNumber, field, problem);
  }

  /** A whole number from 0 to max, parsed by hand: the hot path of a million records. */
  private whole(tokens: readonly string[], field: Field, lineNumber: number, max: number): number {
    const text = tokens[this.layout.at[field] as number];
    let value = 0;
    for (let index = 0; index < text.length; index++) {
      const digit = text.charCodeAt(index) - 48;
      if (digit < 0 || digit > 9) {
        value = Number.NaN;
        break;
      }
      value = value * 10 + digit;
    }
    if (text.length === 0 || !(value <= max))
      this.fail(
        lineNumber,
        field,
        `"${text}"; expected a whole number${max < Number.MAX_SAFE_INTEGER ? ` from 0 to ${max}` : ""}`,
      );
    return value;
  }

  /** The packet's address where pkt-srcaddr/pkt-dstaddr is logged, else srcaddr/dstaddr (maybe the ENI's). */
  private address(
    tokens: readonly string[],
    field: "srcaddr" | "dstaddr",
    packetField: "pkt-srcaddr" | "pkt-dstaddr",
    lineNumber: number,
  ): string {
    const packetIndex = this.layout.at[packetField];
    const packet = packetIndex === undefined ? undefined : tokens[packetIndex];
    const fromPacket = packet !== undefined && packet !== "-";
    const text = fromPacket ? packet : tokens[this.layout.at[field]];
    if (!this.validAddresses.has(text)) {
      if (!IPV4.test(text) && !(text.includes(":") && ipaddr.IPv6.isValid(text)))
        this.fail(
          lineNumber,
          fromPacket ? packetField : field,
          `"${text}"; expected an IPv4 or IPv6 address`,
        );
      this.validAddresses.add(text);
    }
    return text;
  }

  record(tokens: readonly string[], lineNumber: number): void {
    const { collector, layout } = this;
    const counts = collector.counts;
    const at = layout.at;
    if (tokens.length !== layout.count) {
      this.fail(
        lineNumber,
        undefined,
        `${tokens.length} fields, expected ${layout.count} (${layout.isDefault ? "the default format, version 2, has no header line" : "as the last header line names"}): ${layout.names.join(" ")}`,
      );
    }
    counts.read++;
    const status = tokens[at["log-status"]];
    if (status !== "OK") {
      if (status === "NODATA" || status === "SKIPDATA") {
        counts.skipped++;
        return;
      }
      this.fail(lineNumber, "log-status", `"${status}"; expected OK, NODATA or SKIPDATA`);
    }
    const max = Number.MAX_SAFE_INTEGER;
    const action = tokens[at.action];
    const start = this.whole(tokens, "start", lineNumber, max);
    const end = this.whole(tokens, "end", lineNumber, max);
    if (action !== "ACCEPT") {
      if (action === "REJECT") {
        counts.rejected++;
        collector.observeTime(start, end);
        return;
      }
      this.fail(lineNumber, "action", `"${action}"; expected ACCEPT or REJECT`);
    }
    const protocol = tokens[at.protocol] === "-" ? -1 : this.whole(tokens, "protocol", lineNumber, 255);
    const judged = IANA_PROTOCOLS[protocol];
    if (judged === undefined) {
      counts.unknownProtocol++;
      collector.observeTime(start, end);
      return;
    }
    const src = this.address(tokens, "srcaddr", "pkt-srcaddr", lineNumber);
    const dst = this.address(tokens, "dstaddr", "pkt-dstaddr", lineNumber);
    let srcPort = 0;
    let dstPort = 0;
    if (!isPortless(judged)) {
      if (tokens[at.srcport] === "-" || tokens[at.dstport] === "-") {
        counts.noPorts++;
        collector.observeTime(start, end);
        return;
      }
      srcPort = this.whole(tokens, "srcport", lineNumber, 65535);
      dstPort = this.whole(tokens, "dstport", lineNumber, 65535);
    }
    const packets = this.whole(tokens, "packets", lineNumber, max);
    const bytes = this.whole(tokens, "bytes", lineNumber, max);
    const flagsIndex = at["tcp-flags"];
    const tcpFlags =
      flagsIndex === undefined || tokens[flagsIndex] === "-"
        ? undefined
        : this.whole(tokens, "tcp-flags", lineNumber, 255);
    const directionIndex = at["flow-direction"];
    const directionText = directionIndex === undefined ? undefined : tokens[directionIndex];
    let flowDirection: Direction | undefined;
    if (directionText === "ingress" || directionText === "egress") flowDirection = directionText;
    else if (directionText !== undefined && directionText !== "-")
      this.fail(lineNumber, "flow-direction", `"${directionText}"; expected ingress, egress or -`);
    const hint = initiatorHint(protocol, tcpFlags);
    const [significantSrc, significantDst] = significantPorts(hint, srcPort, dstPort);
    collector.add({
      src,
      dst,
      srcPort: significantSrc,
      dstPort: significantDst,
      protocol,
      hint,
      flowDirection,
      records: 1,
      flagged: protocol === 6 && tcpFlags !== undefined ? 1 : 0,
      packets,
      bytes,
      firstSeen: start,
      lastSeen: end,
      srcMayBeEni: at["pkt-srcaddr"] === undefined || tokens[at["pkt-srcaddr"]] === "-",
      dstMayBeEni: at["pkt-dstaddr"] === undefined || tokens[at["pkt-dstaddr"]] === "-",
    });
  }
}

export async function replayFlowLogFile(file: string, collector: FlowGroupCollector): Promise<void> {
  const kind = await fileKind(file);
  if (kind === "parquet") {
    const { replayFlowLogParquet } = await import("./flowLogParquet");
    await replayFlowLogParquet(file, new FlowLogParser(file, collector));
    return;
  }
  const parser = new FlowLogParser(file, collector);
  await forEachLineBytes(
    file,
    (bytes, start, end, lineNumber) => parser.lineIn(bytes, start, end, lineNumber),
    kind,
  );
}
