import assert from "node:assert/strict";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { describeUpstreamCase } from "../support/netpolCases";

// The upstream truth-table corpus, copied into the repository with its README so a clone alone runs it.
const casesDir = path.resolve(__dirname, "../fixtures/netpol-cases");
const caseFiles =
  existsSync(casesDir) && statSync(casesDir).isDirectory()
    ? readdirSync(casesDir)
        .filter((name) => name.endsWith(".json"))
        .sort()
    : [];

describe("analyzer: upstream netpol cases", () => {
  it("finds the case directory with at least one case", () => {
    assert.ok(existsSync(casesDir), `netpol cases directory not found at ${casesDir}`);
    assert.ok(caseFiles.length > 0, `no *.json cases in ${casesDir}`);
  });

  for (const file of caseFiles) describeUpstreamCase(casesDir, file);
});
