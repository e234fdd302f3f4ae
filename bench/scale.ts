/**
 * The scale table of issue 20: `npm run plan` (a process, policy pack included) of stacks with 3
 * (dev), 10, 20 and 43 services (bench/scaleStack.ts), wall time and the plan process's peak RSS
 * (the pack runs in its own process), beside the targets; and, in one child process, the upstream
 * analyzer's grouped matrix and the EKS agent model's at 20,000 pods (bench/eksScale.ts). Figures
 * only, never assertions; they depend on the machine's load.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { EksScaleFigures } from "./eksScale";
import { writeScaleStack } from "./scaleStack";

const ROOT = path.resolve(__dirname, "..");
/** Issue 20: the 43-service plan within 3 x the dev plan; memory flat (no per-stage results). */
const PLAN_RATIO_TARGET = 3;
const RSS_TARGET_MB = 1024;
const SERVICE_COUNTS = [10, 20, 43] as const;
/** Dev and 43-service plans measured this many times each, alternating, for the ratio. */
const RATIO_RUNS = 3;
/** Issue 20: the EKS agent model at 20,000 pods within 2 x the upstream grouped matrix, under 1 GB. */
const EKS_PODS = 20000;
const EKS_RATIO_TARGET = 2;

interface Measured {
  readonly seconds: number;
  readonly rssMb: number | undefined;
  /** CPU seconds of the plan process itself (the pack's process not included): less load-bound than wall. */
  readonly cpuSeconds: number | undefined;
  readonly code: number | null;
}

function measuredPlan(args: string[]): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(
      process.execPath,
      ["-r", "ts-node/register/transpile-only", "-r", "./bench/maxRss.js", "cli/plan.ts", ...args],
      { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    child.once("error", reject);
    child.once("exit", (code) => {
      const rss = /MAX_RSS_KB=(\d+)/.exec(stderr)?.[1];
      const cpu = /CPU_MS=(\d+)/.exec(stderr)?.[1];
      resolve({
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
        rssMb: rss === undefined ? undefined : Number(rss) / 1024,
        cpuSeconds: cpu === undefined ? undefined : Number(cpu) / 1000,
        code,
      });
    });
  });
}

const row = (label: string, run: Measured, note: string) =>
  `  ${label.padEnd(14)} ${run.seconds.toFixed(1).padStart(6)} s  ${(run.rssMb === undefined ? "?" : run.rssMb.toFixed(0)).padStart(5)} MB  plan CPU ${(run.cpuSeconds === undefined ? "?" : run.cpuSeconds.toFixed(1)).padStart(5)} s  exit ${run.code}  ${note}`;

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

export async function runScaleBench(print: (line: string) => void): Promise<void> {
  print(
    `scale: npm run plan --format json with the pack (target: ${PLAN_RATIO_TARGET} x dev's wall at 43 services, RSS < ${RSS_TARGET_MB} MB; load ${os
      .loadavg()
      .map((load) => load.toFixed(1))
      .join(" ")})`,
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flash-scale-bench-"));
  const planOf = (count: number) => {
    const files = writeScaleStack(fs.mkdtempSync(path.join(dir, `${count}-`)), count);
    return () =>
      measuredPlan([
        ...["--stack", "dev", "--config-file", files.stackFile, "--fixture", "fixtures/aws/dev.json"],
        ...["--k8s-fixture", "fixtures/k8s/dev.json", "--policy-pack-config", files.packConfig],
        ...["--format", "json"],
      ]);
  };
  try {
    // The 43/dev ratio is the target: dev and 43 alternate, RATIO_RUNS times each, so both meet the
    // same load; each 43-service run is compared with the dev run just before it.
    const planDev = () => measuredPlan(["--stack", "dev", "--format", "json"]);
    const plan43 = planOf(43);
    const pairs: { dev: Measured; at43: Measured }[] = [];
    for (let run = 0; run < RATIO_RUNS; run++) pairs.push({ dev: await planDev(), at43: await plan43() });
    for (const { dev } of pairs) print(row("3 (dev)", dev, ""));
    for (const count of SERVICE_COUNTS) {
      const runs = count === 43 ? pairs.map(({ at43 }) => at43) : [await planOf(count)()];
      runs.forEach((run, index) =>
        print(row(`${count}`, run, `${(run.seconds / pairs[index].dev.seconds).toFixed(1)} x dev`)),
      );
    }
    const cpuRatios = pairs.flatMap(({ dev, at43 }) =>
      dev.cpuSeconds === undefined || at43.cpuSeconds === undefined ? [] : [at43.cpuSeconds / dev.cpuSeconds],
    );
    if (cpuRatios.length > 0)
      print(
        `  43 / dev plan-process CPU: ${median(cpuRatios).toFixed(2)} x (median; the pack's process not counted)`,
      );
    const ratios = pairs.map(({ dev, at43 }) => at43.seconds / dev.seconds);
    const ratio = median(ratios);
    print(
      `  43 / dev: ${ratio.toFixed(2)} x (median of ${ratios.map((each) => each.toFixed(2)).join(", ")}; dev ${median(pairs.map(({ dev }) => dev.seconds)).toFixed(1)} s, 43 ${median(pairs.map(({ at43 }) => at43.seconds)).toFixed(1)} s), target <= ${PLAN_RATIO_TARGET} x: ${ratio <= PLAN_RATIO_TARGET ? "met" : "MISSED"}; load after ${os.loadavg()[0].toFixed(1)}`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  await runEksScaleRow(print);
}

/** The analyzer rows of the scale table (also alone: `npx ts-node --transpile-only bench/scale.ts eks`). */
export async function runEksScaleRow(print: (line: string) => void): Promise<void> {
  print(eksRow(await measuredEksScale()));
}

/** bench/eksScale.ts in its own process, so its peak RSS is the analyzers' alone. */
function measuredEksScale(): Promise<{ figures?: EksScaleFigures; rssMb?: number; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        "-r",
        "ts-node/register/transpile-only",
        "-r",
        "./bench/maxRss.js",
        "bench/eksScale.ts",
        `${EKS_PODS}`,
      ],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    child.once("error", reject);
    child.once("exit", (code) => {
      const rss = /MAX_RSS_KB=(\d+)/.exec(stderr)?.[1];
      const line = stdout.trim().split("\n").pop();
      resolve({
        figures: code === 0 && line ? (JSON.parse(line) as EksScaleFigures) : undefined,
        rssMb: rss === undefined ? undefined : Number(rss) / 1024,
        code,
      });
    });
  });
}

function eksRow(run: { figures?: EksScaleFigures; rssMb?: number; code: number | null }): string {
  const { figures, rssMb } = run;
  if (figures === undefined)
    return `  analyzer, 20,000 pods, eks-vpc-cni: the measuring process exited ${run.code}`;
  const ratio = figures.eksSeconds / figures.upstreamSeconds;
  const rss = rssMb === undefined ? "?" : rssMb.toFixed(0);
  return [
    `  analyzer, 20,000 pods / 2,000 policies, upstream grouped matrix: ${figures.upstreamSeconds.toFixed(2)} s, ${figures.upstreamGroups} pod groups`,
    `  analyzer, 20,000 pods / 2,000 policies, eks-vpc-cni: ${figures.eksSeconds.toFixed(2)} s (${ratio.toFixed(1)} x upstream in this run; target <= ${EKS_RATIO_TARGET} x: ${ratio <= EKS_RATIO_TARGET ? "met" : "MISSED"}), RSS ${rss} MB (target < 1 GB: ${rssMb !== undefined && rssMb < RSS_TARGET_MB ? "met" : "MISSED"}); ${figures.eksGroups} pod groups, CPU ${figures.eksCpuSeconds.toFixed(2)} s vs ${figures.upstreamCpuSeconds.toFixed(2)} s`,
  ].join("\n");
}

if (require.main === module) {
  const run = process.argv[2] === "eks" ? runEksScaleRow : runScaleBench;
  run((line) => console.log(line)).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
