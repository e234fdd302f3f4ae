import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import path from "node:path";
import { describeUpstreamCase } from "../support/netpolCases";

// More upstream cases (kubernetes e2e netpol, cyclonus matcher tests) in the shared-case format,
// kept in the repository. Their verdicts come from the upstream truth tables, never from the analyzer.
const casesDir = path.resolve(__dirname, "../fixtures/netpol-cases-extra");
const caseFiles = readdirSync(casesDir)
  .filter((name) => name.endsWith(".json"))
  .sort();

describe("analyzer: extra upstream netpol cases", () => {
  it("finds the extra case directory with cases", () => {
    assert.ok(caseFiles.length >= 12, `expected at least 12 *.json cases in ${casesDir}`);
  });

  for (const file of caseFiles) describeUpstreamCase(casesDir, file);
});
