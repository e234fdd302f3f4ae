import assert from "node:assert/strict";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { describeUpstreamCase } from "./support/netpolCases";

// The shared corpus lives beside the clone (<clone>/../shared/netpol-cases) both here and in CI.
const casesDir = process.env.NETPOL_CASES_DIR ?? path.resolve(__dirname, "../../shared/netpol-cases");
const caseFiles =
  existsSync(casesDir) && statSync(casesDir).isDirectory()
    ? readdirSync(casesDir)
        .filter((name) => name.endsWith(".json"))
        .sort()
    : [];

describe("analyzer: shared upstream netpol cases", () => {
  it("finds the shared case directory with at least one case", () => {
    assert.ok(
      existsSync(casesDir),
      `netpol cases directory not found at ${casesDir}; set NETPOL_CASES_DIR or place shared/ beside the clone`,
    );
    assert.ok(caseFiles.length > 0, `no *.json cases in ${casesDir}`);
  });

  for (const file of caseFiles) describeUpstreamCase(casesDir, file);
});
