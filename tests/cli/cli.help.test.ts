import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { PROJECT_ROOT, runCli } from "../support/runCli";

// Every command a user runs with `npm run <name>`, and one option its help must name (so the text
// printed is that command's own usage, not another's or an error).
const COMMANDS: readonly { script: string; option: string }[] = [
  { script: "cli/plan.ts", option: "--stack" },
  { script: "cli/check.ts", option: "--policy-pack-config" },
  { script: "cli/analyze.ts", option: "--enforcer" },
  { script: "cli/verify.ts", option: "--dry-run" },
  { script: "cli/replay.ts", option: "--candidate" },
  { script: "cli/bench.ts", option: "--skip-tests" },
];

describe("every command answers --help and -h with its usage and exit 0", () => {
  for (const { script, option } of COMMANDS) {
    for (const flag of ["--help", "-h"]) {
      it(`${script} ${flag}`, async () => {
        const result = await runCli(script, flag);
        assert.equal(result.code, 0, `exit code; stderr: ${result.stderr}`);
        assert.match(result.stdout, /^Usage: /m);
        assert.ok(result.stdout.includes(option), `the usage names ${option}:\n${result.stdout}`);
        assert.equal(result.stderr, "");
      });
    }
  }

  // A help request must not mask a usage error: without --help the required --stack is still refused.
  it("cli/plan.ts without --stack still exits 2", async () => {
    const result = await runCli("cli/plan.ts");
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--stack/);
  });

  // `npm test` is a plain Node script in front of mocha (cli/test.mjs): started as npm starts it.
  for (const flag of ["--help", "-h"]) {
    it(`cli/test.mjs ${flag} @process`, async () => {
      const { stdout } = await promisify(execFile)(process.execPath, ["cli/test.mjs", flag], {
        cwd: PROJECT_ROOT,
      });
      assert.match(stdout, /^Usage: npm test /);
      assert.ok(stdout.includes("--grep"), "mocha's own options follow ours");
    });
  }
});
