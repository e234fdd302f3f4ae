/**
 * Replay bench, figures with their targets, never assertions (`npm run bench`, or alone:
 * `ts-node --transpile-only bench/replay.ts`). Side by side on the same file of 1,000,000 gzipped
 * flow-log records (custom format with tcp-flags, as docs/replay.md asks operators to enable):
 *  - a bare Node.js readline + split(" ") over the gunzipped stream, the floor of reading the file;
 *  - `npm run replay` on it, start-up, plan and candidate included. Target: within 3x the bare read.
 * And the start-up alone: `npm run replay` on an empty export (exit 6). Target: under 2 s.
 * Both run as child processes, as an operator runs them, after one small replay that fills the
 * transpile cache; wall and CPU (user + system) are printed, since a shared machine stretches wall time.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { buildPlan } from "../offline/planReport";
import {
  CUSTOM_FIELDS,
  customFormatLine,
  kubectlPodList,
  stackAddresses,
  type FlowRecord,
} from "./syntheticTraffic";

const RECORDS = 1_000_000;
const TARGET_RATIO = 3;
const TARGET_STARTUP_SECONDS = 2;
const API_PODS = 40;
const GATEWAY_PODS = 20;
const PROJECT_ROOT = path.resolve(__dirname, "..");

const BARE_READLINE = `
const fs = require("node:fs"), readline = require("node:readline"), zlib = require("node:zlib");
const lines = readline.createInterface({ input: fs.createReadStream(process.argv[1]).pipe(zlib.createGunzip()), crlfDelay: Infinity });
let fields = 0;
lines.on("line", (line) => { fields += line.split(" ").length; });
lines.on("close", () => console.log(fields));
`;

interface Timing {
  readonly wall: number;
  readonly cpu: number;
  readonly status: number | null;
  readonly stderr: string;
}

/** Wall and CPU seconds of a child process (CPU from the children's rusage, before and after). */
function timed(command: string, args: readonly string[]): Timing {
  const cpuBefore = childCpu();
  const began = process.hrtime.bigint();
  const result = spawnSync(command, args, { cwd: PROJECT_ROOT, encoding: "utf8", maxBuffer: 1 << 26 });
  const wall = Number(process.hrtime.bigint() - began) / 1e9;
  return { wall, cpu: childCpu() - cpuBefore, status: result.status, stderr: result.stderr };
}

function childCpu(): number {
  // /proc/self/stat fields 16 and 17: cutime and cstime of waited-for children, in clock ticks.
  try {
    const fields = fs.readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ");
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return Number.NaN;
  }
}

export async function generate(dir: string, count: number): Promise<{ pods: string; flowLogs: string }> {
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
  const flowLogs = path.join(dir, `flows-${count}.log.gz`);
  const chunks: Buffer[] = [];
  const gzip = zlib.createGzip();
  gzip.on("data", (chunk: Buffer) => chunks.push(chunk));
  const finished = new Promise<void>((resolve) => gzip.on("end", () => resolve()));
  gzip.write(`${CUSTOM_FIELDS.join(" ")}\n`);
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
      gzip.write(`${chunk.join("\n")}\n`);
      chunk = [];
    }
  }
  if (chunk.length > 0) gzip.write(`${chunk.join("\n")}\n`);
  gzip.end();
  await finished;
  fs.writeFileSync(flowLogs, Buffer.concat(chunks));
  return { pods: podsFile, flowLogs };
}

export async function runReplayBench(print: (line: string) => void): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flash-replay-bench-"));
  try {
    const inputs = await generate(dir, RECORDS);
    const empty = path.join(dir, "empty.log");
    fs.writeFileSync(empty, "");
    const replayArgs = (flowLogs: string) => [
      "run",
      "-s",
      "replay",
      "--",
      "--stack",
      "prod",
      "--pods",
      inputs.pods,
      "--flow-logs",
      flowLogs,
      "--format",
      "json",
    ];
    print(
      `Replay of ${RECORDS.toLocaleString("en-US")} gzipped flow-log records (prod, custom format), child processes side by side:`,
    );
    // One small replay first fills the transpile cache (cli/transpileCache.js), as any earlier run
    // since the last source change has: what follows is the steady state an operator sees.
    const small = path.join(dir, "one-record.log");
    fs.writeFileSync(
      small,
      zlib
        .gunzipSync(fs.readFileSync(inputs.flowLogs))
        .subarray(0, 4096)
        .toString()
        .split("\n")
        .slice(0, 3)
        .join("\n") + "\n",
    );
    const warm = timed("npm", replayArgs(small));
    if (warm.status === null || warm.status === 1 || warm.status === 2)
      throw new Error(`warm-up replay exited ${warm.status}: ${warm.stderr}`);
    const bare = timed(process.execPath, ["-e", BARE_READLINE, inputs.flowLogs]);
    if (bare.status !== 0) throw new Error(`bare readline failed: ${bare.stderr}`);
    const replay = timed("npm", replayArgs(inputs.flowLogs));
    if (replay.status !== 5)
      throw new Error(`replay exited ${replay.status} (expected 5, the relay): ${replay.stderr}`);
    const startup = timed("npm", replayArgs(empty));
    if (startup.status !== 6)
      throw new Error(`replay of an empty file exited ${startup.status} (expected 6): ${startup.stderr}`);
    const ratio = replay.wall / bare.wall;
    const cpuRatio = replay.cpu / bare.cpu;
    print(`  bare readline + split: ${bare.wall.toFixed(2)} s wall, ${bare.cpu.toFixed(2)} s CPU`);
    print(
      `  npm run replay:        ${replay.wall.toFixed(2)} s wall, ${replay.cpu.toFixed(2)} s CPU (start-up, plan and candidate included)`,
    );
    print(
      `  ratio ${ratio.toFixed(2)}x wall, ${cpuRatio.toFixed(2)}x CPU; target within ${TARGET_RATIO}x: ${ratio <= TARGET_RATIO ? "met" : "NOT met"}`,
    );
    print(
      `  start-up (npm run replay on an empty file, exit 6): ${startup.wall.toFixed(2)} s wall, ${startup.cpu.toFixed(2)} s CPU; target under ${TARGET_STARTUP_SECONDS} s: ${startup.wall < TARGET_STARTUP_SECONDS ? "met" : "NOT met"}`,
    );
  } finally {
    if (process.env.KEEP_BENCH_FILES === undefined) fs.rmSync(dir, { recursive: true, force: true });
    else print(`  (files kept in ${dir})`);
  }
}

if (require.main === module) {
  runReplayBench((line) => console.log(line)).catch((error: unknown) => {
    console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
