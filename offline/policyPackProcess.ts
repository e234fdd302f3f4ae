/**
 * The policy pack as a process, started the way the Pulumi CLI starts a nodejs pack: the nodejs
 * language host's RunPlugin locates `@pulumi/pulumi/cmd/run-policy-pack` from the pack directory
 * (pulumi/pulumi sdk/nodejs/cmd/pulumi-language-nodejs/main.go, RunPlugin, v3.248.0) and runs
 * `node <run-policy-pack> <engine-address> <pack dir>`; run-policy-pack requires the package's
 * `main`. Our pack's `main` is compiled JavaScript (policies/bin), so nothing is type-checked at
 * start-up; run-policy-pack still registers ts-node, which only compiles `.ts` files it is asked for.
 *
 * Before a start, the compiled pack is checked against its sources (the files tsc recorded in
 * policies/bin/.tsbuildinfo) and rebuilt when a source is newer, so an edited rule is never tested
 * stale. Start-ups are CPU-bound: at most one per core runs at once in this process.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";

export class PolicyHarnessError extends Error {
  constructor(
    message: string,
    /** The pack process this error is about, when one was started. */
    readonly pid?: number,
  ) {
    super(message);
    this.name = "PolicyHarnessError";
  }
}

/**
 * Guards against a hang, not a slow machine: a pack that has not printed its port after this long
 * is stuck. A busy 2-core machine starts the compiled pack in seconds.
 */
export const DEFAULT_START_LIMIT_MS = 5 * 60_000;

const BUILD_INFO = path.join("bin", ".tsbuildinfo");

/** Sources tsc compiled into the pack's bin/, as its build info lists them (node_modules left out). */
function builtSources(packDir: string): string[] | undefined {
  const infoFile = path.join(packDir, BUILD_INFO);
  if (!fs.existsSync(infoFile)) return undefined;
  const info = JSON.parse(fs.readFileSync(infoFile, "utf8")) as { fileNames?: string[] };
  return (info.fileNames ?? [])
    .filter((name) => !name.includes("node_modules"))
    .map((name) => path.resolve(path.dirname(infoFile), name));
}

/** Why the compiled pack must be rebuilt, or undefined when it is current. */
export function policyPackStaleness(packDir: string): string | undefined {
  const sources = builtSources(packDir);
  if (sources === undefined) return `${path.join(packDir, BUILD_INFO)} does not exist`;
  const builtAt = fs.statSync(path.join(packDir, BUILD_INFO)).mtimeMs;
  for (const source of sources) {
    if (!fs.existsSync(source)) return `${source} was removed since the last build`;
    if (fs.statSync(source).mtimeMs > builtAt) return `${source} changed since the last build`;
  }
  return undefined;
}

const LOCK_POLL_MS = 100;

async function withBuildLock<T>(packDir: string, work: () => Promise<T>): Promise<T> {
  const lock = path.join(packDir, "bin.lock");
  const deadline = Date.now() + DEFAULT_START_LIMIT_MS;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      if (Date.now() > deadline)
        throw new PolicyHarnessError(
          `waited ${DEFAULT_START_LIMIT_MS / 1000} s for another process building the policy pack to release ${lock}; ` +
            `if no build is running, remove that directory and run \`npm run build:policies\``,
        );
      await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
    }
  }
  try {
    return await work();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/** Builds under way in this process, one per pack directory. */
const building = new Map<string, Promise<void>>();

/**
 * Rebuilds policies/bin when it is missing or older than a source (what `npm run build:policies`
 * does): one build per pack directory at a time in this process, serialised across processes by
 * a lock directory.
 */
export function ensurePolicyPackBuilt(packDir: string): Promise<void> {
  if (!fs.existsSync(path.join(packDir, "tsconfig.json"))) return Promise.resolve();
  if (policyPackStaleness(packDir) === undefined) return Promise.resolve();
  const underWay = building.get(packDir);
  if (underWay !== undefined) return underWay;
  const build = withBuildLock(packDir, async () => {
    if (policyPackStaleness(packDir) === undefined) return;
    const tsc = require.resolve("typescript/bin/tsc", { paths: [packDir] });
    try {
      await promisify(execFile)(process.execPath, [tsc, "-p", packDir], { cwd: packDir });
      // tsc leaves the build info alone when no output changed; mark it current for the check above.
      const now = new Date();
      fs.utimesSync(path.join(packDir, BUILD_INFO), now, now);
    } catch (error) {
      const failed = error as { stdout?: string; stderr?: string; message: string };
      throw new PolicyHarnessError(
        `the policy pack does not compile (tsc -p ${packDir}):\n${failed.stdout ?? ""}${failed.stderr ?? failed.message}`,
      );
    }
  }).finally(() => building.delete(packDir));
  building.set(packDir, build);
  return build;
}

/** At most one CPU-bound start-up per core at once. */
const startSlots = { free: os.availableParallelism(), waiting: [] as (() => void)[] };

async function withStartSlot<T>(work: () => Promise<T>): Promise<T> {
  if (startSlots.free > 0) startSlots.free--;
  else await new Promise<void>((resolve) => startSlots.waiting.push(resolve));
  try {
    return await work();
  } finally {
    const next = startSlots.waiting.shift();
    if (next !== undefined) next();
    else startSlots.free++;
  }
}

/** Live pack processes, killed synchronously if the parent exits without closing them. */
const liveProcesses = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of liveProcesses) child.kill("SIGKILL");
});

export interface StartedPack {
  child: ChildProcess;
  port: number;
  /** Everything the pack has written on stderr so far. */
  stderr: () => string;
}

function waitForPort(child: ChildProcess, packDir: string, limitMs: number, stderr: () => string) {
  return new Promise<number>((resolve, reject) => {
    let stdout = "";
    const fail = (message: string) => {
      clearTimeout(timer);
      reject(
        new PolicyHarnessError(`${message}\n--- pack stderr ---\n${stderr().trim() || "(empty)"}`, child.pid),
      );
    };
    const timer = setTimeout(
      () =>
        fail(
          `the policy pack in ${packDir} did not print its gRPC port within ${limitMs / 1000} s ` +
            `(waiting for run-policy-pack to load the package's main and listen); it is hung, not slow`,
        ),
      limitMs,
    );
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split("\n").find((candidate) => /^\d+$/.test(candidate.trim()));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve(Number(line.trim()));
      }
    });
    child.once("exit", (code, signal) =>
      fail(`policy pack exited (code ${String(code)}, signal ${String(signal)}) before printing its port`),
    );
    child.once("error", (error) => fail(`policy pack could not start: ${error.message}`));
  });
}

/** Builds the pack if needed, starts it with `env`, and waits for the port it prints. */
export async function startPolicyPackProcess(
  packDir: string,
  engineAddress: string,
  env: NodeJS.ProcessEnv,
  limitMs = DEFAULT_START_LIMIT_MS,
): Promise<StartedPack> {
  await ensurePolicyPackBuilt(packDir);
  return withStartSlot(async () => {
    const runPolicyPack = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [packDir] });
    const child = spawn(process.execPath, [runPolicyPack, engineAddress, "."], {
      cwd: packDir,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    liveProcesses.add(child);
    child.once("exit", () => liveProcesses.delete(child));
    const stderr: string[] = [];
    child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk.toString()));
    const output = () => stderr.join("");
    try {
      const port = await waitForPort(child, packDir, limitMs, output);
      return { child, port, stderr: output };
    } catch (error) {
      child.kill("SIGKILL");
      throw error;
    }
  });
}
