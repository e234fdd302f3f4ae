/**
 * The fast path of the flow-log reader. A million records decoded into strings cost as much as
 * gunzip itself, so the plain ones are read where they lie in the gunzipped bytes; flowLogRecords.ts
 * keeps every rule and message, and takes each line this path declines.
 */
import type { FlowGroupCollector } from "./flowGroups";
import type { Direction } from "../core/kubernetes";
import type { Layout } from "./flowLogRecords";
import { initiatorHint, significantPorts } from "./orientation";

/** The fields the fast path reads, by role number (their position in this list). */
export const FAST_FIELDS = [
  "srcaddr",
  "dstaddr",
  "pkt-srcaddr",
  "pkt-dstaddr",
  "srcport",
  "dstport",
  "protocol",
  "packets",
  "bytes",
  "start",
  "end",
  "action",
  "log-status",
  "tcp-flags",
  "flow-direction",
] as const;
const [SRCADDR, DSTADDR, PKT_SRCADDR, PKT_DSTADDR, SRCPORT, DSTPORT, PROTOCOL, PACKETS, BYTES, START, END] = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
];
const [ACTION, LOG_STATUS, TCP_FLAGS, FLOW_DIRECTION] = [11, 12, 13, 14];
const DASH = 45;
const SPACE = 32;
const [OK, ACCEPT, INGRESS, EGRESS] = ["OK", "ACCEPT", "ingress", "egress"].map((word) =>
  Buffer.from(word, "latin1"),
);

// Field bounds and numbers of the line being read; reused, so a record allocates nothing here.
const fieldStart = new Int32Array(FAST_FIELDS.length);
const fieldEnd = new Int32Array(FAST_FIELDS.length);
const fieldNumber = new Float64Array(FAST_FIELDS.length);

/**
 * The common record (OK, ACCEPT, TCP/UDP/SCTP with ports, single spaces, addresses `validAddresses`
 * already holds) read straight from the line's bytes into the collector: no string per line, no token
 * array, numbers parsed in place. Anything else, false: FlowLogParser then reads the line and owns
 * every rule and message, so the two never disagree on what they accept
 * (tests/replay/replay.parser.properties.test.ts).
 */
export function readPlainRecord(
  bytes: Buffer,
  lineStart: number,
  lineEnd: number,
  layout: Layout,
  validAddresses: ReadonlySet<string>,
  collector: FlowGroupCollector,
): boolean {
  const roles = layout.fastRoles;
  const count = roles.length;
  const starts = fieldStart;
  const ends = fieldEnd;
  const numbers = fieldNumber;
  starts[PKT_SRCADDR] = starts[PKT_DSTADDR] = starts[TCP_FLAGS] = starts[FLOW_DIRECTION] = -1;
  let index = 0;
  let position = lineStart;
  while (position <= lineEnd) {
    let end = position;
    while (end < lineEnd && bytes[end] !== SPACE) end++;
    if (end === position || index === count) return false;
    const role = roles[index];
    if (role !== -1) {
      starts[role] = position;
      ends[role] = end;
      if (role >= SRCPORT && role <= END) {
        if (end - position > 15) return false; // beyond exact doubles: the checked path says so
        let value = 0;
        for (let at = position; at < end; at++) {
          const digit = bytes[at] - 48;
          if (digit < 0 || digit > 9) return false;
          value = value * 10 + digit;
        }
        numbers[role] = value;
      }
    }
    index++;
    position = end + 1;
  }
  if (index !== count) return false;
  if (!fieldIs(bytes, LOG_STATUS, OK)) return false;
  if (!fieldIs(bytes, ACTION, ACCEPT)) return false;
  const protocol = numbers[PROTOCOL];
  if (protocol !== 6 && protocol !== 17 && protocol !== 132) return false;
  const srcPort = numbers[SRCPORT];
  const dstPort = numbers[DSTPORT];
  if (srcPort > 65535 || dstPort > 65535) return false;
  let tcpFlags: number | undefined;
  if (starts[TCP_FLAGS] !== -1 && bytes[starts[TCP_FLAGS]] !== DASH) {
    let value = 0;
    for (let at = starts[TCP_FLAGS]; at < ends[TCP_FLAGS]; at++) {
      const digit = bytes[at] - 48;
      if (digit < 0 || digit > 9) return false;
      value = value * 10 + digit;
    }
    if (value > 255) return false;
    tcpFlags = value;
  }
  let flowDirection: Direction | undefined;
  if (starts[FLOW_DIRECTION] !== -1) {
    if (fieldIs(bytes, FLOW_DIRECTION, INGRESS)) flowDirection = "ingress";
    else if (fieldIs(bytes, FLOW_DIRECTION, EGRESS)) flowDirection = "egress";
    else if (ends[FLOW_DIRECTION] - starts[FLOW_DIRECTION] !== 1 || bytes[starts[FLOW_DIRECTION]] !== DASH)
      return false;
  }
  const srcFromPacket = starts[PKT_SRCADDR] !== -1 && bytes[starts[PKT_SRCADDR]] !== DASH;
  const dstFromPacket = starts[PKT_DSTADDR] !== -1 && bytes[starts[PKT_DSTADDR]] !== DASH;
  const srcRole = srcFromPacket ? PKT_SRCADDR : SRCADDR;
  const dstRole = dstFromPacket ? PKT_DSTADDR : DSTADDR;
  const src = bytes.toString("latin1", starts[srcRole], ends[srcRole]);
  const dst = bytes.toString("latin1", starts[dstRole], ends[dstRole]);
  if (!validAddresses.has(src) || !validAddresses.has(dst)) return false;
  collector.counts.read++;
  const hint = initiatorHint(protocol, tcpFlags);
  const [significantSrc, significantDst] = significantPorts(hint, srcPort, dstPort);
  collector.addRecords(
    src,
    dst,
    significantSrc,
    significantDst,
    protocol,
    hint,
    flowDirection,
    !srcFromPacket,
    !dstFromPacket,
    1,
    protocol === 6 && tcpFlags !== undefined ? 1 : 0,
    numbers[PACKETS],
    numbers[BYTES],
    numbers[START],
    numbers[END],
    0,
  );
  return true;
}

function fieldIs(bytes: Buffer, role: number, expected: Buffer): boolean {
  const start = fieldStart[role];
  if (fieldEnd[role] - start !== expected.length) return false;
  for (let index = 0; index < expected.length; index++)
    if (bytes[start + index] !== expected[index]) return false;
  return true;
}
