/** Runs `npm run replay` in process, keeping its exit code and output. */
import { runReplay } from "../../cli/replay";

export async function replay(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await runReplay(argv, {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
  });
  return { code, stdout, stderr };
}
