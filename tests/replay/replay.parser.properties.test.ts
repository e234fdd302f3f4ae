/**
 * The flow-log parser reads plain records on a fast path (fields where they lie in the bytes) and
 * everything else on the checked path. The two must agree on every line: the same groups, counts and
 * window, or the same error. Lines mix what AWS writes (OK/NODATA/SKIPDATA, ACCEPT/REJECT, "-" in
 * optional fields, ICMP, protocols NetworkPolicy does not judge) with what it never writes.
 */
import * as assert from "node:assert/strict";
import fc from "fast-check";
import { FlowGroupCollector } from "../../replay/flowGroups";
import { FlowLogParser } from "../../replay/flowLogRecords";
import { CUSTOM_FIELDS } from "../../bench/syntheticTraffic";

// Mostly what AWS writes, so most lines are plain and take the fast path; the rest probe its edges.
const rare = <T>(common: fc.Arbitrary<T>, odd: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: common, weight: 12 }, { arbitrary: odd, weight: 1 });
const address = rare(
  fc.constantFrom("10.30.1.5", "10.30.2.7", "203.0.113.10", "2600:1f18::10"),
  fc.constantFrom("-", "10.30.1.300", "1.2.3"),
);
const number = rare(
  fc.integer({ min: 0, max: 65535 }).map(String),
  fc.constantFrom("-", "12a", "65536", "99999999999999999", "0x10"),
);
const record = fc.record({
  srcaddr: address,
  dstaddr: address,
  srcport: number,
  dstport: number,
  protocol: rare(fc.constantFrom("6", "17", "132"), fc.constantFrom("1", "58", "50", "-", "256")),
  packets: number,
  bytes: number,
  start: fc.constantFrom("1780000000", "1780000060", "x"),
  end: fc.constantFrom("1780000059", "1780000119"),
  action: rare(fc.constant("ACCEPT"), fc.constantFrom("REJECT", "-", "DROP")),
  status: rare(fc.constant("OK"), fc.constantFrom("NODATA", "SKIPDATA", "MAYBE")),
  tcpFlags: rare(fc.constantFrom("0", "2", "18", "19", "-"), fc.constantFrom("300", "SYN")),
  pktSrc: address,
  pktDst: address,
  direction: rare(fc.constantFrom("ingress", "egress", "-"), fc.constant("sideways")),
});

type Generated = typeof record extends fc.Arbitrary<infer T> ? T : never;

function line(r: Generated): string {
  return [
    5,
    "123456789010",
    "eni-0a1b2c3d4e5f60718",
    r.srcaddr,
    r.dstaddr,
    r.srcport,
    r.dstport,
    r.protocol,
    r.packets,
    r.bytes,
    r.start,
    r.end,
    r.action,
    r.status,
    "vpc-0",
    "subnet-0",
    "i-0",
    r.tcpFlags,
    "IPv4",
    r.pktSrc,
    r.pktDst,
    r.direction,
  ].join(" ");
}

const WARM_ADDRESSES = ["10.30.1.5", "10.30.2.7", "203.0.113.10", "2600:1f18::10"];

/** Every line parsed, each error kept with its line, so one bad line does not hide the rest. */
function parse(lines: readonly string[], fast: boolean): unknown {
  const collector = new FlowGroupCollector();
  const parser = new FlowLogParser("flows.log", collector);
  parser.line(CUSTOM_FIELDS.join(" "), 1);
  // The fast path takes only addresses already checked: check them all first, on both sides.
  for (const warm of WARM_ADDRESSES)
    parser.line(
      `5 1 eni-0 ${warm} ${warm} 40000 443 6 1 1 1780000000 1780000059 ACCEPT OK vpc-0 subnet-0 i-0 2 IPv4 ${warm} ${warm} egress`,
      1,
    );
  const errors: string[] = [];
  lines.forEach((text, index) => {
    try {
      if (fast) {
        const bytes = Buffer.from(`#${text}\n`, "latin1");
        parser.lineIn(bytes, 1, bytes.length - 1, index + 2);
      } else parser.line(text, index + 2);
    } catch (error) {
      errors.push((error as Error).message);
    }
  });
  return {
    errors,
    counts: collector.counts,
    evidence: collector.evidence,
    window: [collector.windowStart, collector.windowEnd],
    groups: [...collector.groups.entries()],
  };
}

describe("replay: the fast and the checked flow-log parsers agree", () => {
  it("on the same groups, counts and window, or the same error, for any lines", () => {
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 30 }), (records) => {
        const lines = records.map(line);
        assert.deepEqual(parse(lines, true), parse(lines, false));
      }),
      { numRuns: 400 },
    );
  });
});
