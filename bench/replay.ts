/**
 * Replay bench: records per second and peak RSS of `npm run replay` over generated flow logs of the
 * prod stack (custom format with tcp-flags, as docs/replay.md asks operators to enable). Target: 1,000,000
 * records in under 10 s, with memory independent of the record count (the peak after 100,000 records
 * and after 1,000,000 should match). Figures, never assertions. Run alone: `ts-node bench/replay.ts`.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { main as runReplay } from "../cli/replay";
import { buildPlan } from "../offline/planReport";
import {
  CUSTOM_FIELDS,
  customFormatLine,
  kubectlPodList,
  stackAddresses,
  type FlowRecord,
} from "../tests/support/replayTraffic";

const TARGET_SECONDS = 10;
const SIZES = [100_000, 1_000_000];
const API_PODS = 40;
const GATEWAY_PODS = 20;

async function generate(dir: string, count: number): Promise<{ pods: string; flowLogs: string }> {
  const { report } = await buildPlan({ stack: "prod" });
  const places = stackAddresses(report.cidrs, API_PODS + GATEWAY_PODS + 1);
  const gateways = places.pods.slice(0, GATEWAY_PODS);
  const apis = places.pods.slice(GATEWAY_PODS, GATEWAY_PODS + API_PODS);
  const [relay] = places.elsewhereInVpc(1);
  const pod = (app: string, port: number) => (ip: string, index: number) => ({
    namespace: "flash-ticket",
    name: `${app}-5c6b7d8f9-${index}`,
    labels: { app, "pod-template-hash": "5c6b7d8f9" },
    ip,
    ports: [{ containerPort: port }],
    owner: { kind: "ReplicaSet", name: `${app}-5c6b7d8f9` },
  });
  const podsFile = path.join(dir, "pods.json");
  fs.writeFileSync(
    podsFile,
    JSON.stringify(
      kubectlPodList([...gateways.map(pod("flash-gateway", 3000)), ...apis.map(pod("flash-api", 4000))]),
    ),
  );
  const flowLogs = path.join(dir, `flows-${count}.log`);
  const out = fs.openSync(flowLogs, "w");
  fs.writeSync(out, `${CUSTOM_FIELDS.join(" ")}\n`);
  const start = 1_780_000_000;
  let chunk: string[] = [];
  for (let index = 0; index < count; index++) {
    const gateway = gateways[index % gateways.length];
    const api = apis[index % apis.length];
    const clientPort = 32768 + (index % 28000);
    const time = start + Math.floor(index / 100);
    const shapes: FlowRecord[] = [
      {
        src: gateway,
        dst: api,
        srcPort: clientPort,
        dstPort: 4000,
        protocol: 6,
        packets: 10,
        bytes: 900,
        start: time,
        end: time + 59,
        tcpFlags: 2,
      },
      {
        src: api,
        dst: gateway,
        srcPort: 4000,
        dstPort: clientPort,
        protocol: 6,
        packets: 9,
        bytes: 8000,
        start: time,
        end: time + 59,
        tcpFlags: 18,
      },
      {
        src: api,
        dst: places.postgres,
        srcPort: clientPort,
        dstPort: 15432,
        protocol: 6,
        packets: 5,
        bytes: 700,
        start: time,
        end: time + 59,
      },
      {
        src: api,
        dst: relay,
        srcPort: clientPort,
        dstPort: 587,
        protocol: 6,
        packets: 20,
        bytes: 4000,
        start: time,
        end: time + 59,
        tcpFlags: 3,
      },
    ];
    chunk.push(customFormatLine(shapes[index % shapes.length]));
    if (chunk.length === 10_000) {
      fs.writeSync(out, `${chunk.join("\n")}\n`);
      chunk = [];
    }
  }
  if (chunk.length > 0) fs.writeSync(out, `${chunk.join("\n")}\n`);
  fs.closeSync(out);
  return { pods: podsFile, flowLogs };
}

export async function runReplayBench(print: (line: string) => void): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flash-replay-bench-"));
  try {
    print(
      `Replay of generated flow logs (prod, custom format with tcp-flags; target: 1,000,000 records under ${TARGET_SECONDS} s, memory flat):`,
    );
    for (const count of SIZES) {
      const inputs = await generate(dir, count);
      let stderr = "";
      const began = process.hrtime.bigint();
      const code = await runReplay(
        ["--stack", "prod", "--pods", inputs.pods, "--flow-logs", inputs.flowLogs, "--format", "json"],
        { out: () => undefined, err: (text) => (stderr += text) },
      );
      const seconds = Number(process.hrtime.bigint() - began) / 1e9;
      if (code !== 5) throw new Error(`replay exited ${code} (expected 5, the relay): ${stderr}`);
      const peakMb = process.resourceUsage().maxRSS / 1024;
      print(
        `  ${count.toLocaleString("en-US")} records: ${seconds.toFixed(2)} s (plan and candidate included), ` +
          `${Math.round(count / seconds).toLocaleString("en-US")} records/s, peak RSS so far ${peakMb.toFixed(0)} MB` +
          (count === 1_000_000
            ? `; target under ${TARGET_SECONDS} s: ${seconds < TARGET_SECONDS ? "met" : "NOT met"}`
            : ""),
      );
      fs.rmSync(inputs.flowLogs);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runReplayBench((line) => console.log(line)).catch((error: unknown) => {
    console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
