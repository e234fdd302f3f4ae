/**
 * The README's flow table and policy table are the plan's `--format markdown` output for dev:
 * a new service or flow reaches the README by re-running the plan, and this test notices when the
 * README was not updated. Cells are compared trimmed, since prettier re-pads markdown tables.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { runCli } from "../support/runCli";

const tableRows = (text: string): string[][] =>
  text
    .split("\n")
    .filter((line) => line.startsWith("|") && !/^\|[\s|-]+\|$/.test(line))
    .map((line) =>
      line
        .split("|")
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );

describe("README tables", () => {
  it("are what `npm run -s plan -- --stack dev --format markdown` prints", async () => {
    const readme = fs.readFileSync("README.md", "utf8");
    const start = readme.indexOf("<!-- generated: npm run -s plan -- --stack dev --format markdown -->");
    const end = readme.indexOf("<!-- end generated -->");
    assert.ok(start >= 0 && end > start, "README.md lost its generated-table markers");
    const { code, stdout, stderr } = await runCli(
      "cli/plan.ts",
      "--stack",
      "dev",
      "--format",
      "markdown",
      "--no-policy-pack",
    );
    assert.equal(code, 0, stderr);
    assert.deepEqual(tableRows(readme.slice(start, end)), tableRows(stdout));
  });
});
