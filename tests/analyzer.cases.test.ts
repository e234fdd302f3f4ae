import assert from "node:assert/strict";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import {
  PolicyAnalyzer,
  computeGroupedMatrix,
  computePlainMatrix,
  firstMatrixDifference,
  loadScenarioFile,
} from "../analyzer";

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

  for (const file of caseFiles) {
    describe(file, () => {
      const scenarioPath = path.join(casesDir, file);

      it("agrees with every upstream probe verdict", () => {
        const scenario = loadScenarioFile(scenarioPath);
        const analyzer = new PolicyAnalyzer(scenario.cluster);
        const disagreements = scenario.document.probes.flatMap((written, index) => {
          if (written.allowed === undefined) return [];
          const actual = analyzer.isAllowed(scenario.probes[index]);
          return actual === written.allowed
            ? []
            : [
                `#${index} ${JSON.stringify(written.from)} -> ${JSON.stringify(written.to)} ${written.port}/${written.protocol}: expected ${written.allowed}, got ${actual}`,
              ];
        });
        assert.ok(
          scenario.document.probes.every((p) => p.allowed !== undefined),
          "every case probe records its verdict",
        );
        assert.deepEqual(disagreements, []);
      });

      it("explains each probe with the same verdict", () => {
        const scenario = loadScenarioFile(scenarioPath);
        const analyzer = new PolicyAnalyzer(scenario.cluster);
        for (const probe of scenario.probes) {
          assert.equal(analyzer.explain(probe).allowed, analyzer.isAllowed(probe));
        }
      });

      it("gives the same pod-to-pod matrix grouped and plain", () => {
        const { cluster, probes } = loadScenarioFile(scenarioPath);
        const ports = [
          ...new Map(
            probes.map((p) => [`${p.port}/${p.protocol}`, { port: p.port, protocol: p.protocol }]),
          ).values(),
        ];
        const difference = firstMatrixDifference(
          computeGroupedMatrix(cluster, ports),
          computePlainMatrix(cluster, ports),
        );
        assert.equal(difference, undefined);
      });
    });
  }
});
