/**
 * `npm run replay` in process, on generated pods and flow logs of the prod stack. Expectations come
 * from the flow table (core/flowTable.ts) and the stage order of docs/rollout.md, not from the replay:
 * prod enforces every ingress and the egress of flash-gateway and flash-pay; its next stage enforces
 * flash-api's egress, which the table limits to RDS, Redis, MQ and DNS.
 */
import * as assert from "node:assert/strict";
import { buildPlan } from "../../offline/planReport";
import {
  customFormatLine,
  CUSTOM_FIELDS,
  defaultFormatLine,
  kubectlPodList,
  scratchDir,
  stackAddresses,
  writeFile,
  type FlowRecord,
  type GeneratedPod,
} from "../../bench/syntheticTraffic";
import { replay } from "../support/runReplay";

interface Row {
  from: string;
  to: string;
  port: number;
  protocol: string;
  connections: number;
  packets: number;
  bytes: number;
  firstSeen: string | null;
  lastSeen: string | null;
  current: "allowed" | "blocked";
  candidate: "allowed" | "blocked";
  intended: boolean;
  agentDenies: number;
}

interface ReplayJson {
  stack: string;
  candidate: {
    rollout: { defaultDeny: string; services: Record<string, { ingress: string; egress: string }> };
  };
  window: { start: string | null; end: string | null };
  records: { read: number; skipped: number; replies: number; rejected: number; duplicates: number };
  connections: Row[];
  summary: { newlyBlockedIntended: number; newlyBlockedUnintended: number; unattributed: number };
  unattributedAddresses: string[];
}

const T0 = 1_780_000_000;
const NAMESPACE = "flash-ticket";

describe("replay: observed traffic against prod's next stage", function () {
  const dir = scratchDir();
  let files: { pods: string; defaultFormat: string; customGz: string; agent: string };
  let addresses: ReturnType<typeof stackAddresses>;
  let relay: string;
  let node: string;
  const ip: Record<string, string> = {};
  // Counted while generating, so the assertions say what was written, not what was read.
  const written = { gatewayToApi: 0, apiReplies: 0, relayReplies: 0, nodata: 2, duplicates: 1 };

  before(async () => {
    const { report } = await buildPlan({ stack: "prod" });
    addresses = stackAddresses(report.cidrs, 8);
    [relay, node] = addresses.elsewhereInVpc(2);
    const [gateway, api1, api2, pay, cron, dns] = addresses.pods;
    Object.assign(ip, { gateway, api1, api2, pay, cron, dns });
    const deployment = (name: string, hash: string) => ({ kind: "ReplicaSet", name: `${name}-${hash}` });
    const pods: GeneratedPod[] = [
      {
        namespace: NAMESPACE,
        name: "flash-gateway-7d9f8b6c5d-x2x4z",
        labels: { app: "flash-gateway", "pod-template-hash": "7d9f8b6c5d" },
        ip: gateway,
        ports: [{ containerPort: 3000 }],
        owner: deployment("flash-gateway", "7d9f8b6c5d"),
      },
      ...[api1, api2].map((address, index): GeneratedPod => ({
        namespace: NAMESPACE,
        name: `flash-api-5c6b7d8f9-${index}abcd`,
        labels: { app: "flash-api", "pod-template-hash": "5c6b7d8f9" },
        ip: address,
        ports: [{ containerPort: 4000 }],
        owner: deployment("flash-api", "5c6b7d8f9"),
      })),
      {
        namespace: NAMESPACE,
        name: "flash-pay-6f7c8d9b4-qwert",
        labels: { app: "flash-pay", "pod-template-hash": "6f7c8d9b4" },
        ip: pay,
        ports: [{ containerPort: 8080 }],
        owner: deployment("flash-pay", "6f7c8d9b4"),
      },
      {
        namespace: NAMESPACE,
        name: "report-cron-29000000-abcde",
        labels: { "job-name": "report-cron-29000000" },
        ip: cron,
        ports: [],
        owner: { kind: "Job", name: "report-cron-29000000" },
      },
      {
        namespace: "kube-system",
        name: "coredns-5d78c9869d-9zvkq",
        labels: { "k8s-app": "kube-dns", "pod-template-hash": "5d78c9869d" },
        ip: dns,
        ports: [
          { containerPort: 53, protocol: "UDP" },
          { containerPort: 53, protocol: "TCP" },
        ],
        owner: deployment("coredns", "5d78c9869d"),
      },
      // Host-network pods carry the node's address and no NetworkPolicy: not in the index.
      {
        namespace: "kube-system",
        name: "aws-node-abcde",
        labels: {},
        ip: node,
        ports: [],
        hostNetwork: true,
      },
    ];
    const records: FlowRecord[] = [];
    const at = (minute: number) => ({ start: T0 + minute * 60, end: T0 + minute * 60 + 59 });
    // gateway -> API on 4000 with the API's replies; the second connection from a client port below the
    // ephemeral range, so only the listening rule (the API's container port) can orient it.
    for (const [index, api] of [api1, api2, api1].entries()) {
      const clientPort = index === 2 ? 3100 : 40000 + index;
      records.push({
        src: gateway,
        dst: api,
        srcPort: clientPort,
        dstPort: 4000,
        protocol: 6,
        packets: 10,
        bytes: 1000,
        ...at(index),
      });
      records.push({
        src: api,
        dst: gateway,
        srcPort: 4000,
        dstPort: clientPort,
        protocol: 6,
        packets: 8,
        bytes: 5000,
        ...at(index),
      });
      written.gatewayToApi++;
      written.apiReplies++;
    }
    records.push({
      src: addresses.alb,
      dst: gateway,
      srcPort: 51000,
      dstPort: 3000,
      protocol: 6,
      packets: 4,
      bytes: 400,
      ...at(3),
    });
    records.push({
      src: api1,
      dst: addresses.postgres,
      srcPort: 52000,
      dstPort: 15432,
      protocol: 6,
      packets: 6,
      bytes: 600,
      ...at(4),
    });
    records.push({
      src: api2,
      dst: ip.dns,
      srcPort: 53001,
      dstPort: 53,
      protocol: 17,
      packets: 1,
      bytes: 60,
      ...at(5),
    });
    records.push({
      src: pay,
      dst: "203.0.113.10",
      srcPort: 54000,
      dstPort: 443,
      protocol: 6,
      packets: 12,
      bytes: 9000,
      ...at(6),
    });
    records.push({
      src: cron,
      dst: pay,
      srcPort: 55000,
      dstPort: 8080,
      protocol: 6,
      packets: 2,
      bytes: 120,
      ...at(7),
    });
    records.push({
      src: addresses.alb,
      dst: gateway,
      srcPort: 51001,
      dstPort: 3000,
      protocol: 6,
      packets: 1,
      bytes: 40,
      action: "REJECT",
      ...at(8),
    });
    const defaultLines = [
      ...records.map((record) => defaultFormatLine(record)),
      defaultFormatLine({ ...records[0], status: "NODATA" }),
      defaultFormatLine({ ...records[0], status: "SKIPDATA" }),
    ];

    // The forgotten dependency, in the custom format S3 delivers (header line, gzip): flash-api sends
    // mail to a relay inside the VPC. The pod's node ENI logs the node's address; pkt-srcaddr the pod's.
    const custom: FlowRecord[] = [
      {
        src: api1,
        dst: relay,
        srcPort: 45000,
        dstPort: 587,
        protocol: 6,
        packets: 20,
        bytes: 4000,
        tcpFlags: 2,
        eniSrc: node,
        ...at(10),
      },
      {
        src: relay,
        dst: api1,
        srcPort: 587,
        dstPort: 45000,
        protocol: 6,
        packets: 18,
        bytes: 2000,
        tcpFlags: 19,
        eniDst: node,
        ...at(10),
      },
      // The relay's ENI logs the same request as ingress: a copy, not a second connection.
      {
        src: api1,
        dst: relay,
        srcPort: 45000,
        dstPort: 587,
        protocol: 6,
        packets: 20,
        bytes: 4000,
        tcpFlags: 2,
        flowDirection: "ingress",
        ...at(10),
      },
      // The same connection in its next capture window: no SYN, so no new connection.
      {
        src: api1,
        dst: relay,
        srcPort: 45000,
        dstPort: 587,
        protocol: 6,
        packets: 5,
        bytes: 500,
        tcpFlags: 0,
        ...at(11),
      },
      // Both ports ephemeral, neither listening: the port rule would call the lower port (flash-api's
      // 40100) the server; the SYN says flash-api opened it, to the relay's 50000.
      {
        src: api2,
        dst: relay,
        srcPort: 40100,
        dstPort: 50000,
        protocol: 6,
        packets: 3,
        bytes: 180,
        tcpFlags: 2,
        ...at(12),
      },
      {
        src: relay,
        dst: api2,
        srcPort: 50000,
        dstPort: 40100,
        protocol: 6,
        packets: 3,
        bytes: 180,
        tcpFlags: 18,
        ...at(12),
      },
    ];
    written.relayReplies = 2;
    files = {
      pods: writeFile(dir, "pods.json", JSON.stringify(kubectlPodList(pods), null, 2)),
      defaultFormat: writeFile(dir, "cloudwatch-export.log", `${defaultLines.join("\n")}\n`),
      customGz: writeFile(
        dir,
        "123456789010_vpcflowlogs_ap-northeast-2_fl-0abc_20260529T0000Z_hash.log.gz",
        `${CUSTOM_FIELDS.join(" ")}\n${custom.map(customFormatLine).join("\n")}\n`,
      ),
      agent: writeFile(
        dir,
        "network-policy-agent.log",
        [
          JSON.stringify({
            level: "info",
            ts: "2026-05-28T20:30:00.000Z",
            caller: "controllers/policyendpoints_controller.go:120",
            msg: "Reconciling policy endpoints",
          }),
          JSON.stringify({
            level: "info",
            ts: "2026-05-28T20:31:00.000Z",
            caller: "events/events.go:270",
            msg: `Flow Info: Src IP: ${cron} Src Port: 55001 Dest IP: ${pay} Dest Port: 8080 Proto TCP Verdict DENY Direction ingress, Tier NETWORK_POLICY`,
          }),
          JSON.stringify({
            level: "info",
            ts: "2026-05-28T20:32:00.000Z",
            msg: "Flow Info:  ",
            "Src IP": cron,
            "Src Port": 55002,
            "Dest IP": pay,
            "Dest Port": 8080,
            Proto: "TCP",
            Verdict: "DENY",
          }),
          `1780001000000\tNode: ip-10-30-3-4.ap-northeast-2.compute.internal;SIP: ${cron};SPORT: 55003;DIP: ${pay};DPORT: 8080;PROTOCOL: TCP;PolicyVerdict: DENY;Tier: NETWORK_POLICY`,
        ].join("\n") + "\n",
      ),
    };
  });

  let json: ReplayJson;
  let code: number;
  before(async () => {
    const result = await replay(
      "--stack",
      "prod",
      "--pods",
      files.pods,
      "--flow-logs",
      files.defaultFormat,
      files.customGz,
      "--agent-logs",
      files.agent,
      "--format",
      "json",
    );
    assert.equal(result.stderr, "");
    code = result.code;
    json = JSON.parse(result.stdout) as ReplayJson;
  });

  const row = (from: string, to: string, port: number, protocol = "TCP"): Row => {
    const found = json.connections.filter(
      (candidate) =>
        candidate.from === from &&
        candidate.to === to &&
        candidate.port === port &&
        candidate.protocol === protocol,
    );
    assert.equal(
      found.length,
      1,
      `one row ${from} -> ${to} ${port}/${protocol}; rows: ${JSON.stringify(json.connections.map((r) => `${r.from}->${r.to}:${r.port}`))}`,
    );
    return found[0];
  };

  it("replays the next stage of docs/rollout.md's order: prod's next step enforces flash-api's egress", () => {
    assert.equal(json.candidate.rollout.services["flash-api"].egress, "enforce");
    assert.equal(json.candidate.rollout.defaultDeny, "off");
  });

  it("reports the forgotten SMTP relay as newly blocked and outside the table, and exits 5", () => {
    const smtp = row(`${NAMESPACE}/flash-api`, relay, 587);
    assert.deepEqual([smtp.current, smtp.candidate, smtp.intended], ["allowed", "blocked", false]);
    assert.equal(json.summary.newlyBlockedIntended, 0);
    assert.equal(code, 5);
  });

  it("counts a connection once: replies fold into it, the next window's record and the receiving ENI's copy open none", () => {
    const smtp = row(`${NAMESPACE}/flash-api`, relay, 587);
    assert.equal(smtp.connections, 1);
    assert.equal(smtp.packets, 20 + 18 + 5);
    const api = row(`${NAMESPACE}/flash-gateway`, `${NAMESPACE}/flash-api`, 4000);
    assert.equal(api.connections, written.gatewayToApi);
    assert.equal(api.packets, written.gatewayToApi * (10 + 8));
    assert.equal(
      json.connections.filter(
        (r) => r.from === `${NAMESPACE}/flash-api` && r.to === `${NAMESPACE}/flash-gateway`,
      ).length,
      0,
    );
    assert.equal(json.records.replies, written.apiReplies + written.relayReplies);
    assert.equal(json.records.duplicates, written.duplicates);
  });

  it("takes the initiator from the SYN where tcp-flags are logged, against what the ports alone suggest", () => {
    const passive = row(`${NAMESPACE}/flash-api`, relay, 50000);
    assert.equal(passive.connections, 1);
    assert.deepEqual([passive.current, passive.candidate], ["allowed", "blocked"]);
    assert.equal(
      json.connections.some((r) => r.from === relay),
      false,
    );
  });

  it("judges the table's flows as still allowed and intended", () => {
    for (const [from, to, port, protocol] of [
      ["alb", `${NAMESPACE}/flash-gateway`, 3000, "TCP"],
      [`${NAMESPACE}/flash-gateway`, `${NAMESPACE}/flash-api`, 4000, "TCP"],
      [`${NAMESPACE}/flash-api`, "postgres", 15432, "TCP"],
      [`${NAMESPACE}/flash-api`, "kube-dns", 53, "UDP"],
      [`${NAMESPACE}/flash-pay`, "203.0.113.10", 443, "TCP"],
    ] as const) {
      const found = row(from, to, port, protocol);
      assert.deepEqual(
        [found.current, found.candidate, found.intended],
        ["allowed", "allowed", true],
        `${from} -> ${to}`,
      );
    }
  });

  it("keeps what the current stage already blocks apart, with the agent's DENY lines (JSON, v1.2 fields, CloudWatch)", () => {
    const blocked = row(`${NAMESPACE}/report-cron-29000000`, `${NAMESPACE}/flash-pay`, 8080);
    assert.deepEqual([blocked.current, blocked.candidate, blocked.intended], ["blocked", "blocked", false]);
    assert.equal(blocked.agentDenies, 3);
    assert.equal(blocked.connections, 1 + 3);
  });

  it("counts NODATA/SKIPDATA and REJECT records without replaying them; the window spans every record", () => {
    assert.equal(json.records.skipped, written.nodata);
    assert.equal(json.records.rejected, 1);
    assert.equal(json.window.start, new Date(T0 * 1000).toISOString());
  });

  it("names the relay as the one unattributed address: inside the VPC, and no pod, data store, ALB or DNS", () => {
    assert.deepEqual(json.unattributedAddresses, [relay]);
    assert.equal(json.summary.unattributed, 1);
  });

  it("prints text and markdown with the newly blocked connection and a mermaid diagram", async () => {
    const args = [
      "--stack",
      "prod",
      "--pods",
      files.pods,
      "--flow-logs",
      files.defaultFormat,
      files.customGz,
    ];
    const text = await replay(...args);
    assert.equal(text.code, 5);
    assert.match(
      text.stdout,
      /Newly blocked and not in the flow table[^\n]*: 2\n {2}flash-ticket\/flash-api -> \S+ 587\/TCP/,
    );
    const markdown = await replay(...args, "--format", "markdown");
    assert.match(markdown.stdout, /```mermaid\nflowchart LR\n/);
    assert.match(markdown.stdout, /587\/TCP x1/);
  });

  it("exits 0 when the candidate blocks nothing the current stage allows (the current rollout itself)", async () => {
    const current = "flash-api.egress=off";
    const result = await replay(
      "--stack",
      "prod",
      "--pods",
      files.pods,
      "--flow-logs",
      files.defaultFormat,
      "--candidate",
      current,
    );
    assert.equal(result.code, 0, result.stderr);
  });
});
