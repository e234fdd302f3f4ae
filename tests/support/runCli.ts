/**
 * Runs one of the project's commands (cli/*.ts) and keeps its exit code and output: `runCli` calls
 * the command's `main(argv, io)` in this process, as `npm run <command>` does after start-up;
 * `spawnCli` starts it as a process, for the tests where the process boundary is what is tested.
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { runCommand, type CommandMain } from "../../cli/io";

export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(script: string, ...args: string[]): Promise<CliResult> {
  const command = (await import(path.join(PROJECT_ROOT, script))) as {
    main: CommandMain;
    FAILURE_EXIT?: number;
  };
  const stdout: string[] = [];
  const stderr: string[] = [];
  const name = path.basename(script, ".ts");
  const io = { out: (text: string) => void stdout.push(text), err: (text: string) => void stderr.push(text) };
  const code = await runCommand(name, command.main, args, io, command.FAILURE_EXIT);
  return { code, stdout: stdout.join(""), stderr: stderr.join("") };
}

export async function spawnCli(script: string, ...args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [require.resolve("ts-node/dist/bin.js"), "--transpile-only", script, ...args],
      { cwd: PROJECT_ROOT, maxBuffer: 64 * 1024 * 1024 },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}
