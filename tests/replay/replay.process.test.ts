/**
 * `npm run replay` as the process an operator starts: through cli/transpileCache.js (TypeScript
 * transpiled once per source change, kept under node_modules/.cache), exit code and stderr intact.
 */
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { scratchDir, writeFile } from "../../bench/syntheticTraffic";

describe("replay: the process @process", () => {
  it("an empty export exits 6 with 'no records', through the transpile cache", async () => {
    const empty = writeFile(scratchDir(), "empty.log", "");
    const root = path.resolve(__dirname, "..", "..");
    const run = promisify(execFile)(
      process.execPath,
      [
        "-r",
        "./cli/transpileCache.js",
        "cli/replay.ts",
        "--stack",
        "prod",
        "--pods",
        "package.json",
        "--flow-logs",
        empty,
      ],
      { cwd: root },
    );
    await assert.rejects(run, (error: { code?: number; stderr?: string }) => {
      assert.equal(error.code, 6);
      assert.match(error.stderr ?? "", /^replay: no records/);
      return true;
    });
  });
});
