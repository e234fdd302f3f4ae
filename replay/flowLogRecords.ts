/**
 * VPC Flow Logs records, streamed: the default format (version 2, 14 space-separated fields, as
 * CloudWatch Logs holds them) or a custom format as delivered to S3, whose first line names the
 * fields. `pkt-srcaddr`/`pkt-dstaddr` replace srcaddr/dstaddr where logged (a pod behind its node's
 * ENI), `tcp-flags` decides the initiator where logged, `flow-direction` drops the receiving ENI's
 * copy of a flow inside the VPC. NODATA/SKIPDATA records are counted and skipped; a record that does
 * not parse stops the replay with its file, line and field.
 */
import * as ipaddr from "ipaddr.js";
import type { ConnectionAggregator } from "./connections";
import { ReplayInputError } from "./inputError";
import { forEachLine } from "./lineReader";
import { initiatorHint, significantPorts } from "./orientation";

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

const HEADER_TOKEN = /^[a-z][a-z0-9-]*$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const UNSIGNED = /^\d+$/;

interface Layout {
  readonly count: number;
  readonly at: Record<RequiredField, number> & Partial<Record<OptionalField, number>>;
  readonly names: readonly string[];
}

function layoutOf(names: readonly string[], file: string, line: number): Layout {
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
  return { count: names.length, at, names };
}

const DEFAULT_LAYOUT_NAMES: readonly string[] = DEFAULT_FORMAT_FIELDS;

function isHeader(tokens: readonly string[]): boolean {
  return tokens.length > 0 && tokens.every((token) => HEADER_TOKEN.test(token));
}

export async function replayFlowLogFile(file: string, aggregator: ConnectionAggregator): Promise<void> {
  let layout: Layout | undefined;
  const counts = aggregator.counts;
  await forEachLine(file, (line, lineNumber) => {
    if (line.trim() === "") return;
    const tokens = line.trim().split(/ +/);
    if (layout === undefined) {
      if (isHeader(tokens)) {
        layout = layoutOf(tokens, file, lineNumber);
        return;
      }
      layout = layoutOf(DEFAULT_LAYOUT_NAMES, file, lineNumber);
    }
    const current = layout;
    const fail = (field: string | undefined, problem: string): never => {
      throw new ReplayInputError(file, lineNumber, field, problem);
    };
    if (tokens.length !== current.count) {
      fail(
        undefined,
        `${tokens.length} fields, expected ${current.count} (${current.names === DEFAULT_LAYOUT_NAMES ? "the default format, version 2, has no header line" : "as the header line names"}): ${current.names.join(" ")}`,
      );
    }
    counts.read++;
    const value = (field: RequiredField | OptionalField): string | undefined => {
      const index = current.at[field];
      return index === undefined ? undefined : tokens[index];
    };
    const status = value("log-status") as string;
    if (status === "NODATA" || status === "SKIPDATA") {
      counts.skipped++;
      return;
    }
    if (status !== "OK") fail("log-status", `"${status}"; expected OK, NODATA or SKIPDATA`);
    const number = (field: RequiredField | OptionalField, max = Number.MAX_SAFE_INTEGER): number => {
      const text = value(field) as string;
      if (!UNSIGNED.test(text) || Number(text) > max)
        fail(
          field,
          `"${text}"; expected a whole number${max < Number.MAX_SAFE_INTEGER ? ` from 0 to ${max}` : ""}`,
        );
      return Number(text);
    };
    const address = (field: "srcaddr" | "dstaddr", packetField: "pkt-srcaddr" | "pkt-dstaddr"): string => {
      const packet = value(packetField);
      const [used, text] =
        packet !== undefined && packet !== "-" ? [packetField, packet] : [field, value(field)];
      if (text === undefined || (!IPV4.test(text) && !(text.includes(":") && ipaddr.IPv6.isValid(text))))
        fail(used, `"${text}"; expected an IPv4 or IPv6 address`);
      return text as string;
    };
    const action = value("action");
    const start = number("start");
    const end = number("end");
    if (action === "REJECT") {
      counts.rejected++;
      aggregator.observeTime(start, end);
      return;
    }
    if (action !== "ACCEPT") fail("action", `"${action}"; expected ACCEPT or REJECT`);
    const src = address("srcaddr", "pkt-srcaddr");
    const dst = address("dstaddr", "pkt-dstaddr");
    const srcPort = number("srcport", 65535);
    const dstPort = number("dstport", 65535);
    const protocol = number("protocol", 255);
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
    aggregator.add({
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
    });
  });
}
