/**
 * The checks every scenario file of upstream verdicts must pass: the same for the shared corpus and
 * the extra cases kept in the repository.
 */
import assert from "node:assert/strict";
import path from "node:path";
import {
  PolicyAnalyzer,
  computeGroupedMatrix,
  firstMatrixDifference,
  loadScenarioFile,
} from "../../analyzer";
import { computePlainMatrix } from "../../bench/plainMatrix";

export function describeUpstreamCase(casesDir: string, file: string): void {
  describe(file, () => {
    const scenarioPath = path.join(casesDir, file);

    it("agrees with every upstream probe verdict", () => {
      const scenario = loadScenarioFile(scenarioPath);
      assert.ok(scenario.document.probes.length > 0, "the case has probes");
      assert.ok(
        scenario.document.probes.every((p) => p.allowed !== undefined),
        "every case probe records its verdict",
      );
      const analyzer = new PolicyAnalyzer(scenario.cluster);
      const disagreements = scenario.document.probes.flatMap((written, index) => {
        const actual = analyzer.isAllowed(scenario.probes[index]);
        return actual === written.allowed
          ? []
          : [
              `#${index} ${JSON.stringify(written.from)} -> ${JSON.stringify(written.to)} ${written.port}/${written.protocol}: expected ${written.allowed}, got ${actual}`,
            ];
      });
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
