/** Runs one of the project's commands (cli/*.ts) as a user would, and keeps its exit code and output. */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";

export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(script: string, ...args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      "npx",
      ["ts-node", "--transpile-only", script, ...args],
      { cwd: PROJECT_ROOT, maxBuffer: 64 * 1024 * 1024 },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}
