/**
 * Running kubectl: the one side effect of live verification, behind an interface so the whole flow
 * runs in tests against a simulated cluster.
 */
import { spawn } from "node:child_process";

export interface CommandResult {
  /** null when the process was killed or never started. */
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly elapsedMs: number;
  /** Killed at its deadline. */
  readonly timedOut: boolean;
  /** Killed because the run was interrupted (Ctrl-C). */
  readonly aborted: boolean;
  /** The program could not be started at all (`ENOENT`: kubectl is not installed or not on PATH). */
  readonly startError?: NodeJS.ErrnoException;
}

export interface RunOptions {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export interface CommandRunner {
  /** Runs kubectl with these arguments; never rejects, every failure is in the result. */
  run(args: readonly string[], options: RunOptions): Promise<CommandResult>;
}

// A process that ignores SIGTERM (kubectl mid-stream) still has to end.
const KILL_GRACE_MS = 2000;

export class KubectlRunner implements CommandRunner {
  constructor(private readonly binary: string = "kubectl") {}

  run(args: readonly string[], options: RunOptions): Promise<CommandResult> {
    const started = Date.now();
    return new Promise((resolve) => {
      let stdout = "";
      let stderr = "";
      let timedOut = false;
      let aborted = false;
      let startError: NodeJS.ErrnoException | undefined;
      // stdin closed: kubectl exec without -i never reads it, and nothing may wait on a terminal.
      const child = spawn(this.binary, [...args], { stdio: ["ignore", "pipe", "pipe"] });
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
      const stop = () => {
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), KILL_GRACE_MS).unref();
      };
      const timer = setTimeout(() => {
        timedOut = true;
        stop();
      }, options.timeoutMs);
      const onAbort = () => {
        aborted = true;
        stop();
      };
      if (options.signal?.aborted) onAbort();
      else options.signal?.addEventListener("abort", onAbort, { once: true });
      child.on("error", (error: NodeJS.ErrnoException) => (startError = error));
      child.on("close", (code) => {
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        resolve({
          exitCode: startError === undefined ? code : null,
          stdout,
          stderr,
          elapsedMs: Date.now() - started,
          timedOut,
          aborted,
          startError,
        });
      });
    });
  }
}
