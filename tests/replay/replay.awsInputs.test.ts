/**
 * Replay on inputs as AWS and the network policy agent write them (docs/replay.md cites the sources):
 * the default (v2) format on EKS, where srcaddr of outgoing and dstaddr of incoming traffic is the
 * ENI's primary address (AWS "Flow log records"); empty exports; the agent's protocol names from
 * utils.GetProtocol; concatenated S3 objects; "-" ports; gzip without its name; ICMP. Expected
 * values come from those documents and the flow table, never from the replay's output.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { buildPlan } from "../../offline/planReport";
import {
  CUSTOM_FIELDS,
  customFormatLine,
  defaultFormatLine,
  kubectlPodList,
  scratchDir,
  stackAddresses,
  writeFile,
  type FlowRecord,
  type GeneratedPod,
} from "../../bench/syntheticTraffic";
import { replay } from "../support/runReplay";

const T0 = 1_780_000_000;
const NAMESPACE = "flash-ticket";

interface ReplayJson {
  records: Record<string, number>;
  connections: {
    from: string;
    to: string;
    port: number;
    protocol: string;
    current: string;
    candidate: string;
  }[];
  summary: { newlyBlockedIntended: number; newlyBlockedUnintended: number };
}

describe("replay: inputs as AWS and the agent write them", function () {
  const dir = scratchDir();
  let ip: Record<
    "api" | "gateway" | "pay" | "nodeA" | "nodeB" | "nodeC" | "relay" | "alb" | "postgres",
    string
  >;
  let pods: string;

  before(async () => {
    const { report } = await buildPlan({ stack: "prod" });
    const addresses = stackAddresses(report.cidrs, 3);
    const [api, gateway, pay] = addresses.pods;
    const [nodeA, nodeB, nodeC, relay] = addresses.elsewhereInVpc(4);
    ip = { api, gateway, pay, nodeA, nodeB, nodeC, relay, alb: addresses.alb, postgres: addresses.postgres };
    const list: GeneratedPod[] = [
      // flash-api and flash-gateway on secondary addresses of their nodes' ENIs (the VPC CNI's default).
      {
        namespace: NAMESPACE,
        name: "flash-api-5c6b7d8f9-abcde",
        labels: { app: "flash-api" },
        ip: api,
        ports: [{ containerPort: 4000 }],
        hostIp: nodeA,
      },
      {
        namespace: NAMESPACE,
        name: "flash-gateway-7d9f8b6c5d-x2x4z",
        labels: { app: "flash-gateway" },
        ip: gateway,
        ports: [{ containerPort: 3000 }],
        hostIp: nodeB,
      },
      // flash-pay with security groups for pods: its own branch ENI, whose primary address is the pod's.
      {
        namespace: NAMESPACE,
        name: "flash-pay-6f7c8d9b4-qwert",
        labels: { app: "flash-pay" },
        ip: pay,
        ports: [{ containerPort: 8080 }],
        hostIp: nodeB,
      },
      ...[nodeA, nodeB, nodeC].map((node, index): GeneratedPod => ({
        namespace: "kube-system",
        name: `aws-node-${index}`,
        labels: {},
        ip: node,
        ports: [],
        hostNetwork: true,
      })),
    ];
    pods = writeFile(dir, "pods.json", JSON.stringify(kubectlPodList(list)));
  });

  const flowLog = (name: string, lines: readonly string[]) => writeFile(dir, name, `${lines.join("\n")}\n`);
  const record = (overrides: Partial<FlowRecord> & Pick<FlowRecord, "src" | "dst">): FlowRecord => ({
    srcPort: 45000,
    dstPort: 587,
    protocol: 6,
    packets: 10,
    bytes: 1000,
    start: T0,
    end: T0 + 59,
    ...overrides,
  });
  const run = async (...args: string[]) => {
    const result = await replay("--stack", "prod", "--pods", pods, "--format", "json", ...args);
    const json = result.stdout === "" ? undefined : (JSON.parse(result.stdout) as ReplayJson);
    return { ...result, json };
  };

  describe("default format on EKS (issue case 1)", () => {
    it("exits 4, naming pkt-srcaddr/pkt-dstaddr and the create-flow-logs command, when node addresses stand for pods", async () => {
      // As AWS writes them: the api pod's SMTP connection logged by nodeA's ENI (srcaddr = its primary
      // address), and the ALB's request to the gateway by nodeB's ENI (dstaddr = its primary address).
      const file = flowLog("eks-default.log", [
        defaultFormatLine(record({ src: ip.nodeA, dst: ip.relay })),
        defaultFormatLine(record({ src: ip.alb, dst: ip.nodeB, srcPort: 51000, dstPort: 3000 })),
      ]);
      const result = await run("--flow-logs", file);
      assert.equal(result.code, 4, result.stderr);
      for (const fragment of [
        "pkt-srcaddr",
        "pkt-dstaddr",
        "aws ec2 create-flow-logs",
        "--log-format",
        "${pkt-srcaddr}",
      ])
        assert.ok(result.stderr.includes(fragment), `"${fragment}" in: ${result.stderr}`);
      assert.ok(
        result.stderr.includes(`${ip.nodeA} (the node of ${NAMESPACE}/flash-api-5c6b7d8f9-abcde)`),
        result.stderr,
      );
      assert.equal(result.json?.records.unattributable, 2);
      assert.equal(
        result.json?.connections.some((row) => row.from === ip.nodeA || row.to === ip.nodeB),
        false,
        "no row judges a node address in place of its pods",
      );
    });

    it("judges what the documented fields and the pod index attribute: a branch-ENI pod and a node without pod-network pods", async () => {
      const file = flowLog("eks-default-attributable.log", [
        defaultFormatLine(record({ src: ip.pay, dst: "203.0.113.10", srcPort: 54000, dstPort: 443 })),
        defaultFormatLine(record({ src: ip.nodeC, dst: ip.postgres, srcPort: 52000, dstPort: 15432 })),
      ]);
      const result = await run("--flow-logs", file);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.json?.records.unattributable, 0);
      const pay = result.json?.connections.find(
        (row) => row.from === `${NAMESPACE}/flash-pay-6f7c8d9b4-qwert`,
      );
      assert.deepEqual([pay?.to, pay?.port, pay?.candidate], ["203.0.113.10", 443, "allowed"]);
    });

    it("an IPv6 interface address that is no pod's is not attributed either (exit 4)", async () => {
      const file = flowLog("eks-default-ipv6.log", [
        defaultFormatLine(record({ src: "2600:1f18:abcd::10", dst: "2600:1f18:abcd::20" })),
      ]);
      const result = await run("--flow-logs", file);
      assert.equal(result.code, 4, result.stderr);
      assert.equal(result.json?.records.unattributable, 1);
    });

    it("the custom format's pkt-srcaddr names the pod behind the same node address: judged, exit 5", async () => {
      const file = flowLog("eks-custom.log", [
        CUSTOM_FIELDS.join(" "),
        customFormatLine(record({ src: ip.api, dst: ip.relay, eniSrc: ip.nodeA, tcpFlags: 2 })),
      ]);
      const result = await run("--flow-logs", file);
      assert.equal(result.code, 5, result.stderr);
      assert.equal(result.json?.records.unattributable, 0);
    });
  });

  describe("no records (issue case 2): exit 6, never 'blocks nothing'", () => {
    const expectNoRecords = async (...files: string[]) => {
      const result = await run(...files);
      assert.equal(result.code, 6, result.stderr);
      assert.match(result.stderr, /no records/);
      assert.equal(result.stdout, "");
    };
    it("an empty file", async () => expectNoRecords("--flow-logs", flowLog("empty.log", [])));
    it("a gzip holding only the header line", async () =>
      expectNoRecords("--flow-logs", writeFile(dir, "header-only.log.gz", `${CUSTOM_FIELDS.join(" ")}\n`)));
    it("only NODATA and SKIPDATA records (AWS's own examples)", async () =>
      expectNoRecords(
        "--flow-logs",
        flowLog("nodata.log", [
          "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA",
          "2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 1431280876 1431280934 - SKIPDATA",
        ]),
      ));
    it("agent logs without a verdict line", async () =>
      expectNoRecords(
        "--agent-logs",
        flowLog("agent-quiet.log", [
          JSON.stringify({
            level: "info",
            ts: "2026-05-28T20:30:00.000Z",
            msg: "Reconciling policy endpoints",
          }),
        ]),
      ));
  });

  it("agent lines with UNKNOWN, RESERVED and ANY PROTOCOL are counted, not fatal (issue case 3)", async () => {
    // events.go's v4 and v6 Infof formats and the CloudWatch message, with GetProtocol's names.
    const file = flowLog("agent-protocols.log", [
      JSON.stringify({
        level: "info",
        ts: "2026-05-28T20:31:00.000Z",
        caller: "events/events.go:270",
        msg: `Flow Info: Src IP: ${ip.api} Src Port: 0 Dest IP: ${ip.relay} Dest Port: 0 Proto UNKNOWN Verdict DENY Direction egress, Tier NETWORK_POLICY`,
      }),
      JSON.stringify({
        level: "info",
        ts: "2026-05-28T20:32:00.000Z",
        caller: "events/events.go:241",
        msg: "Flow Info: Src IP: 2600:1f18::10 Src Port: 0 Dest IP: 2600:1f18::20 Dest Port: 0 Proto: ANY PROTOCOL Verdict: DENY Direction: egress Tier: NETWORK_POLICY",
      }),
      `1780001000000\tNode: ip-10-30-3-4.ap-northeast-2.compute.internal;SIP: ${ip.api};SPORT: 0;DIP: ${ip.relay};DPORT: 0;PROTOCOL: RESERVED;PolicyVerdict: DENY;Tier: NETWORK_POLICY`,
      JSON.stringify({
        level: "info",
        ts: "2026-05-28T20:33:00.000Z",
        caller: "events/events.go:270",
        msg: `Flow Info: Src IP: ${ip.gateway} Src Port: 40000 Dest IP: ${ip.api} Dest Port: 4000 Proto TCP Verdict ACCEPT Direction ingress, Tier NETWORK_POLICY`,
      }),
    ]);
    const result = await run("--agent-logs", file);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.json?.records.read, 4);
    assert.equal(result.json?.records.unknownProtocol, 3);
  });

  describe("concatenated S3 objects (issue case 4)", () => {
    // Two objects as S3 delivers them; the second flow log has another format, so another header.
    const secondFields =
      "version srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status tcp-flags pkt-srcaddr pkt-dstaddr";
    const secondLine = (r: FlowRecord) =>
      `5 ${r.eniSrc ?? r.src} ${r.dst} ${r.srcPort} ${r.dstPort} ${r.protocol} ${r.packets} ${r.bytes} ${r.start} ${r.end} ACCEPT OK ${r.tcpFlags ?? 0} ${r.src} ${r.dst}`;
    const first = () =>
      `${CUSTOM_FIELDS.join(" ")}\n${customFormatLine(record({ src: ip.gateway, dst: ip.api, srcPort: 40000, dstPort: 4000, tcpFlags: 2 }))}\n`;
    const second = () =>
      `${secondFields}\n${secondLine(record({ src: ip.api, dst: ip.relay, eniSrc: ip.nodeA, tcpFlags: 2 }))}\n`;

    it("cat *.log.gz: two gzip members, each header recognised, the second layout followed", async () => {
      const file = path.join(dir, "day.log.gz");
      fs.writeFileSync(file, Buffer.concat([zlib.gzipSync(first()), zlib.gzipSync(second())]));
      const result = await run("--flow-logs", file);
      assert.equal(result.code, 5, result.stderr);
      assert.equal(result.json?.records.read, 2, "two records; the header lines are not records");
      const smtp = result.json?.connections.find((row) => row.port === 587);
      assert.deepEqual(
        [smtp?.from, smtp?.to, smtp?.candidate],
        [`${NAMESPACE}/flash-api-5c6b7d8f9-abcde`, ip.relay, "blocked"],
      );
    });

    it("zcat *.log.gz: the same text without compression", async () => {
      const result = await run("--flow-logs", writeFile(dir, "day-zcat.log", first() + second()));
      assert.equal(result.code, 5, result.stderr);
      assert.equal(result.json?.records.read, 2);
    });
  });

  it('records whose ports are "-" are counted in records.noPorts, not fatal (issue case 5)', async () => {
    const good = customFormatLine(
      record({ src: ip.gateway, dst: ip.api, srcPort: 40000, dstPort: 4000, tcpFlags: 2 }),
    );
    const dashed = good.split(" ");
    dashed[CUSTOM_FIELDS.indexOf("srcport")] = "-";
    dashed[CUSTOM_FIELDS.indexOf("dstport")] = "-";
    const result = await run(
      "--flow-logs",
      flowLog("dash-ports.log", [CUSTOM_FIELDS.join(" "), good, dashed.join(" ")]),
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.json?.records.read, 2);
    assert.equal(result.json?.records.noPorts, 1);
  });

  it("gzip is told by its magic bytes, not a .gz name (issue case 6)", async () => {
    const file = path.join(dir, "123456789010_vpcflowlogs_ap-northeast-2_fl-0abc_20260529T0000Z_hash.log");
    fs.writeFileSync(
      file,
      zlib.gzipSync(
        `${CUSTOM_FIELDS.join(" ")}\n${customFormatLine(record({ src: ip.api, dst: ip.relay, eniSrc: ip.nodeA, tcpFlags: 2 }))}\n`,
      ),
    );
    const result = await run("--flow-logs", file);
    assert.equal(result.code, 5, result.stderr);
    assert.equal(result.json?.records.read, 1);
  });

  it("ICMP from a pod is judged: flash-api's port-only egress rules drop it (issue case 10)", async () => {
    const file = flowLog("icmp.log", [
      CUSTOM_FIELDS.join(" "),
      customFormatLine(
        record({ src: ip.api, dst: ip.relay, srcPort: 0, dstPort: 0, protocol: 1, eniSrc: ip.nodeA }),
      ),
    ]);
    const result = await run("--flow-logs", file);
    assert.equal(result.code, 5, result.stderr);
    const icmp = result.json?.connections.find((row) => row.protocol === "ICMP");
    assert.deepEqual(
      [icmp?.from, icmp?.to, icmp?.current, icmp?.candidate],
      [`${NAMESPACE}/flash-api-5c6b7d8f9-abcde`, ip.relay, "allowed", "blocked"],
    );
    assert.equal(result.json?.records.outOfScope, 0);
  });
});
