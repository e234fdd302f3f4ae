/** Runs `npm run replay` in process, keeping its exit code and output. */
import { main as runReplay } from "../../cli/replay";

export async function replay(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await runReplay(argv, {
    out: (text) => (stdout += text),
    err: (text) => (stderr += text),
  });
  return { code, stdout, stderr };
}
