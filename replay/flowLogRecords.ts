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
import { ReplayInputError } from "./inputError";
import { fileKind, forEachLine } from "./lineReader";
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
const UNSIGNED = /^\d+$/;

export interface Layout {
  readonly count: number;
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
  return { count: names.length, at, names, isDefault: names === DEFAULT_FORMAT_FIELDS };
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

  record(tokens: readonly string[], lineNumber: number): void {
    const { file, collector } = this;
    const layout = this.layout;
    const counts = collector.counts;
    const fail = (field: string | undefined, problem: string): never => {
      throw new ReplayInputError(file, lineNumber, field, problem);
    };
    if (tokens.length !== layout.count) {
      fail(
        undefined,
        `${tokens.length} fields, expected ${layout.count} (${layout.isDefault ? "the default format, version 2, has no header line" : "as the last header line names"}): ${layout.names.join(" ")}`,
      );
    }
    counts.read++;
    const value = (field: Field): string | undefined => {
      const index = layout.at[field];
      return index === undefined ? undefined : tokens[index];
    };
    const status = value("log-status") as string;
    if (status === "NODATA" || status === "SKIPDATA") {
      counts.skipped++;
      return;
    }
    if (status !== "OK") fail("log-status", `"${status}"; expected OK, NODATA or SKIPDATA`);
    const number = (field: Field, max = Number.MAX_SAFE_INTEGER): number => {
      const text = value(field) as string;
      if (!UNSIGNED.test(text) || Number(text) > max)
        fail(
          field,
          `"${text}"; expected a whole number${max < Number.MAX_SAFE_INTEGER ? ` from 0 to ${max}` : ""}`,
        );
      return Number(text);
    };
    const address = (
      field: "srcaddr" | "dstaddr",
      packetField: "pkt-srcaddr" | "pkt-dstaddr",
    ): [string, boolean] => {
      const packet = value(packetField);
      const fromPacket = packet !== undefined && packet !== "-";
      const [used, text] = fromPacket ? [packetField, packet] : [field, value(field) as string];
      if (!this.validAddresses.has(text)) {
        if (!IPV4.test(text) && !(text.includes(":") && ipaddr.IPv6.isValid(text)))
          fail(used, `"${text}"; expected an IPv4 or IPv6 address`);
        this.validAddresses.add(text);
      }
      return [text, !fromPacket];
    };
    const action = value("action");
    const start = number("start");
    const end = number("end");
    if (action === "REJECT") {
      counts.rejected++;
      collector.observeTime(start, end);
      return;
    }
    if (action !== "ACCEPT") fail("action", `"${action}"; expected ACCEPT or REJECT`);
    const protocolText = value("protocol");
    const protocol = protocolText === "-" ? -1 : number("protocol", 255);
    const judged = IANA_PROTOCOLS[protocol];
    if (judged === undefined) {
      counts.unknownProtocol++;
      collector.observeTime(start, end);
      return;
    }
    const [src, srcMayBeEni] = address("srcaddr", "pkt-srcaddr");
    const [dst, dstMayBeEni] = address("dstaddr", "pkt-dstaddr");
    let srcPort = 0;
    let dstPort = 0;
    if (!isPortless(judged)) {
      if (value("srcport") === "-" || value("dstport") === "-") {
        counts.noPorts++;
        collector.observeTime(start, end);
        return;
      }
      srcPort = number("srcport", 65535);
      dstPort = number("dstport", 65535);
    }
    const packets = number("packets");
    const bytes = number("bytes");
    const flagsText = value("tcp-flags");
    const tcpFlags = flagsText === undefined || flagsText === "-" ? undefined : number("tcp-flags", 255);
    const directionText = value("flow-direction");
    let flowDirection: "ingress" | "egress" | undefined;
    if (directionText === "ingress" || directionText === "egress") flowDirection = directionText;
    else if (directionText !== undefined && directionText !== "-")
      fail("flow-direction", `"${directionText}"; expected ingress, egress or -`);
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
      srcMayBeEni,
      dstMayBeEni,
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
  await forEachLine(file, (line, lineNumber) => parser.line(line, lineNumber), kind);
}
