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
import { runAsProcess, type CliIo } from "./io";

/** An unexpected failure is a cluster or usage error, like the ones the command names itself. */
export const FAILURE_EXIT = 2;

export async function main(argv: string[], io: CliIo, signal?: AbortSignal): Promise<number> {
  return runVerify(argv, {
    runnerFor: (binary) => new KubectlRunner(binary),
    stdout: (text) => io.out(text),
    stderr: (text) => io.err(text),
    signal,
  });
}

if (require.main === module) {
  // Ctrl-C: stop probing and clean up; later signals never cut the cleanup short.
  const interrupt = installInterruptHandler(process, (line) => process.stderr.write(line));
  runAsProcess("verify", (argv, io) => main(argv, io, interrupt.signal), FAILURE_EXIT);
}
