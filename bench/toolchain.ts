/**
 * What a developer waits for: `npm run plan` of each stack (the program and the pack start side by
 * side) and the whole `npm test`, each as the process npm starts, beside its target. Wall times
 * depend on the machine's load; run on an idle machine to compare with the targets.
 */
import { spawn } from "node:child_process";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..");
const PLAN_TARGET_S = 6;
const TEST_TARGET_S = 120;

function timed(args: string[]): Promise<{ seconds: number; code: number | null; tail: string }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-2000)));
    child.stderr.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-2000)));
    child.once("error", reject);
    child.once("exit", (code) =>
      resolve({
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
        code,
        tail: output.trim().split("\n").slice(-3).join(" | "),
      }),
    );
  });
}

const tsNode = () => [require.resolve("ts-node/dist/bin.js"), "--transpile-only"];

export async function runToolchainBench(
  print: (line: string) => void,
  options: { tests: boolean },
): Promise<void> {
  print(`npm run plan -- --stack NAME --format json (a process, policy pack included):`);
  for (const stack of ["dev", "prod"]) {
    const run = await timed([...tsNode(), "cli/plan.ts", "--stack", stack, "--format", "json"]);
    print(
      `  ${stack}: ${run.seconds.toFixed(1)} s wall (exit ${String(run.code)}); target under ${PLAN_TARGET_S} s: ` +
        `${run.seconds < PLAN_TARGET_S ? "met" : "NOT met"}`,
    );
  }
  if (!options.tests) return;
  const tests = await timed(["cli/test.mjs", "--reporter", "dot"]);
  print(`npm test (the whole suite, a process):`);
  print(
    `  ${tests.seconds.toFixed(0)} s wall (exit ${String(tests.code)}: ${tests.tail}); target under ${TEST_TARGET_S} s: ` +
      `${tests.seconds < TEST_TARGET_S ? "met" : "NOT met"}`,
  );
}
