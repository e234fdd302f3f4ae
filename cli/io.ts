/**
 * How a command talks to its caller: written through `CliIo`, so the same `main(argv, io)` serves
 * `npm run <command>` (process streams, exit code) and the tests (captured, in this process).
 */
import { CommanderError, type Command } from "commander";

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

export type CommandMain = (argv: string[], io: CliIo) => Promise<number>;

export const processIo: CliIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

/** Runs a command; an unexpected error is reported as `<name>: <message>` with `failureCode`. */
export async function runCommand(
  name: string,
  main: CommandMain,
  argv: string[],
  io: CliIo,
  failureCode = 1,
): Promise<number> {
  try {
    return await main(argv, io);
  } catch (error) {
    io.err(`${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    return failureCode;
  }
}

/**
 * Stops the policy packs a command started. Loading the harness module costs about a second (the
 * policy SDK), so a command that never loaded it (replay on an empty export) does not pay for it.
 */
async function closePolicyHarnessesIfLoaded(): Promise<void> {
  const harnessModule = require.resolve("../offline/sharedPolicyHarness");
  if (require.cache[harnessModule] === undefined) return;
  const { closeSharedPolicyHarnesses } = await import("../offline/sharedPolicyHarness");
  await closeSharedPolicyHarnesses();
}

/**
 * Runs a command as the process: stops any policy pack it started, then exits once stdout has
 * flushed (a piped JSON plan is larger than the pipe buffer, and exit() would cut it).
 */
export function runAsProcess(name: string, main: CommandMain, failureCode = 1): void {
  void runCommand(name, main, process.argv.slice(2), processIo, failureCode).then((code) =>
    closePolicyHarnessesIfLoaded().finally(() => process.stdout.write("", () => process.exit(code))),
  );
}

/**
 * Parses `argv` with `program`, its output sent through `io`. Undefined when the arguments parsed;
 * otherwise the exit code, Commander having printed the help (0) or the usage problem (`usageExit`).
 */
export function parseCommandLine(
  program: Command,
  argv: readonly string[],
  io: CliIo,
  usageExit = 2,
): number | undefined {
  program
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.out(text), writeErr: (text) => io.err(text) });
  try {
    program.parse([...argv], { from: "user" });
    return undefined;
  } catch (error) {
    return error instanceof CommanderError && error.exitCode === 0 ? 0 : usageExit;
  }
}
