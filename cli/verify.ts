/**
 * `npm run verify -- --stack dev|prod [--dry-run] [--format text|json] [--method debug|exec] ...`:
 * runs the stack's probe plan in the cluster of the current kubectl context and compares what
 * gets through with what the offline matrix expects at the stack's current rollout stage.
 *
 * Exit codes: 0 every probe matches; 1 a mismatch; 2 usage or cluster error (no kubectl, no
 * context, no access, a probe that could not run); 130 interrupted (probe pods still deleted).
 */
import { KubectlRunner } from "../verify/commandRunner";
import { installInterruptHandler } from "../verify/interrupt";
import { runVerify } from "../verify/verifyCommand";

async function main(): Promise<number> {
  // Ctrl-C: stop probing and clean up; later signals never cut the cleanup short.
  const interrupt = installInterruptHandler(process, (line) => process.stderr.write(line));
  return runVerify(process.argv.slice(2), {
    runnerFor: (binary) => new KubectlRunner(binary),
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    signal: interrupt.signal,
  });
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exitCode = 2;
  },
);
