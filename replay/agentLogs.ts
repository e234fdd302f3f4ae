/**
 * The EKS network policy agent's verdict lines, as observed connections. The agent evaluates the
 * first packet of a flow (conntrack lets the rest and the replies through) and logs, through zap's
 * JSON encoder, one line per verdict to /var/log/aws-routed-eni/network-policy-agent.log:
 *
 *   v1.3+:  {"level":"info","ts":"2026-...","caller":"events/events.go:270","msg":"Flow Info: Src IP: 10.0.1.5 Src Port: 40000 Dest IP: 10.0.9.7 Dest Port: 587 Proto TCP Verdict DENY Direction egress, Tier NETWORK_POLICY"}
 *           (IPv6 variant: "Proto: TCP Verdict: DENY Direction: egress Tier: ...")
 *   v1.1-2: {"level":"info","ts":"...","msg":"Flow Info:  ","Src IP":"10.0.1.5","Src Port":40000,"Dest IP":...,"Dest Port":587,"Proto":"TCP","Verdict":"DENY"}
 *
 * and to CloudWatch as "Node: n;SIP: a;SPORT: p;DIP: b;DPORT: q;PROTOCOL: TCP;PolicyVerdict: DENY[;Tier: t]"
 * (what `aws logs filter-log-events --query 'events[].[timestamp,message]' --output text` prints, after
 * the event's epoch milliseconds). Since v1.3 ACCEPT lines are logged at debug level only.
 * The protocol is what the agent's utils.GetProtocol names (TCP, UDP, SCTP, ICMP, else RESERVED for
 * 255, ANY PROTOCOL for 254, UNKNOWN: docs/replay.md cites the lines): the last three are counted in
 * records.unknownProtocol and not judged. Other lines of the agent's log are skipped; a verdict line
 * that does not parse stops the replay.
 */
import type { FlowGroupCollector } from "./flowGroups";
import { ReplayInputError } from "./inputError";
import { forEachLine } from "./lineReader";
import { significantPorts } from "./orientation";

interface Verdict {
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  protocol: string;
  verdict: string;
  time: number;
}

const PROTOCOL_NUMBERS: Readonly<Record<string, number>> = { TCP: 6, UDP: 17, SCTP: 132, ICMP: 1 };
/** What GetProtocol writes for any other protocol number. */
const UNJUDGED_PROTOCOLS: readonly string[] = ["UNKNOWN", "RESERVED", "ANY PROTOCOL"];

const FLOW_INFO_TEXT =
  /^Flow Info: Src IP: (\S+) Src Port: (\d+) Dest IP: (\S+) Dest Port: (\d+) Proto:? (.+?) Verdict:? (\S+) Direction:? (\w+),? Tier:? (\S+)\s*$/;
const CLOUDWATCH_TEXT =
  /^(?:(\d{10,16})\s+)?Node: [^;]*;SIP: ([^;]+);SPORT: (\d+);DIP: ([^;]+);DPORT: (\d+);PROTOCOL: ([^;]+);PolicyVerdict: ([^;\s]+)(?:;Tier: \S+)?\s*$/;

function fromJsonLine(
  entry: Record<string, unknown>,
  fail: (field: string, problem: string) => never,
): Verdict | undefined {
  const message = entry.msg;
  if (typeof message !== "string" || !message.startsWith("Flow Info:")) return undefined;
  const time = typeof entry.ts === "string" ? Date.parse(entry.ts) / 1000 : Number.NaN;
  if (Number.isNaN(time)) fail("ts", `${JSON.stringify(entry.ts)}; expected zap's ISO8601 time`);
  if (message.trim() === "Flow Info:") {
    const text = (key: string): string => {
      const found = entry[key];
      if (typeof found !== "string" || found === "") fail(key, `${JSON.stringify(found)}; expected text`);
      return found as string;
    };
    const port = (key: string): number => {
      const found = entry[key];
      if (typeof found !== "number" || !Number.isInteger(found) || found < 0 || found > 65535)
        fail(key, `${JSON.stringify(found)}; expected a port number`);
      return found as number;
    };
    return {
      src: text("Src IP"),
      srcPort: port("Src Port"),
      dst: text("Dest IP"),
      dstPort: port("Dest Port"),
      protocol: text("Proto"),
      verdict: text("Verdict"),
      time,
    };
  }
  const match = FLOW_INFO_TEXT.exec(message);
  if (match === null)
    fail(
      "msg",
      `"${message}"; expected "Flow Info: Src IP: A Src Port: N Dest IP: B Dest Port: M Proto P Verdict V Direction D, Tier T"`,
    );
  const [, src, srcPort, dst, dstPort, protocol, verdict] = match as RegExpExecArray;
  return { src, srcPort: Number(srcPort), dst, dstPort: Number(dstPort), protocol, verdict, time };
}

export async function replayAgentLogFile(file: string, collector: FlowGroupCollector): Promise<void> {
  await forEachLine(file, (line, lineNumber) => {
    const trimmed = line.trim();
    if (trimmed === "") return;
    const fail = (field: string | undefined, problem: string): never => {
      throw new ReplayInputError(file, lineNumber, field, problem);
    };
    let verdict: Verdict | undefined;
    if (trimmed.startsWith("{")) {
      let entry: unknown;
      try {
        entry = JSON.parse(trimmed);
      } catch (cause) {
        fail(undefined, `not a JSON log line (${(cause as Error).message})`);
      }
      if (entry === null || typeof entry !== "object") fail(undefined, "expected a JSON object per line");
      verdict = fromJsonLine(entry as Record<string, unknown>, fail);
      if (verdict === undefined) return;
    } else {
      const match = CLOUDWATCH_TEXT.exec(trimmed);
      if (match === null) {
        fail(
          undefined,
          `"${trimmed.slice(0, 80)}"; expected a JSON line of network-policy-agent.log or a CloudWatch verdict ("[epoch-ms] Node: ...;SIP: ...;SPORT: ...;DIP: ...;DPORT: ...;PROTOCOL: ...;PolicyVerdict: ...")`,
        );
      }
      const [, millis, src, srcPort, dst, dstPort, protocol, policyVerdict] = match as RegExpExecArray;
      const time = millis === undefined ? Number.NaN : Number(millis) / 1000;
      verdict = {
        src,
        srcPort: Number(srcPort),
        dst,
        dstPort: Number(dstPort),
        protocol,
        verdict: policyVerdict,
        time,
      };
    }
    const protocol = PROTOCOL_NUMBERS[verdict.protocol];
    if (protocol === undefined && !UNJUDGED_PROTOCOLS.includes(verdict.protocol))
      fail(
        "Proto",
        `"${verdict.protocol}"; expected what the agent writes: TCP, UDP, SCTP, ICMP, ${UNJUDGED_PROTOCOLS.join(", ")}`,
      );
    if (!["ACCEPT", "DENY", "EXPIRED/DELETED"].includes(verdict.verdict))
      fail("Verdict", `"${verdict.verdict}"; expected ACCEPT, DENY or EXPIRED/DELETED`);
    collector.counts.read++;
    if (protocol === undefined) {
      collector.counts.unknownProtocol++;
      return;
    }
    // EXPIRED/DELETED closes a conntrack entry: no new connection.
    if (verdict.verdict === "EXPIRED/DELETED") return;
    // The agent logs the packet that opened the flow: its source is the client.
    const [srcPort, dstPort] =
      protocol === 1 ? [0, 0] : significantPorts("src", verdict.srcPort, verdict.dstPort);
    const time = Number.isNaN(verdict.time) ? undefined : verdict.time;
    collector.add({
      src: verdict.src,
      dst: verdict.dst,
      srcPort,
      dstPort,
      protocol,
      hint: "src",
      records: 1,
      flagged: 0,
      packets: 0,
      bytes: 0,
      firstSeen: time ?? Number.POSITIVE_INFINITY,
      lastSeen: time ?? Number.NEGATIVE_INFINITY,
      agentDenies: verdict.verdict === "DENY" ? 1 : 0,
    });
  });
}
