import { performance } from "node:perf_hooks";
import { computeGroupedMatrix } from "../analyzer/groupedMatrix";
import type { Cluster, TrafficPort } from "../core/kubernetes";
import { computePlainMatrix } from "./plainMatrix";
import { firstMatrixDifference } from "../analyzer/reachabilityMatrix";
import { generateSyntheticCluster, type SyntheticClusterSize } from "./syntheticCluster";

const SIZES: readonly SyntheticClusterSize[] = [
  { namespaces: 5, pods: 500, policies: 100, seed: 1 },
  { namespaces: 20, pods: 2000, policies: 400, seed: 2 },
  { namespaces: 50, pods: 5000, policies: 1000, seed: 3 },
];
const MATRIX_PORTS: readonly TrafficPort[] = [
  { port: 8080, protocol: "TCP" },
  { port: 5432, protocol: "TCP" },
  { port: 53, protocol: "UDP" },
];
/** The plain evaluator is quadratic in pods; time this many source rows and scale up. */
const PLAIN_SAMPLE_SOURCES = 20;

function distinctLabelSets(cluster: Cluster, withNamespace: boolean): number {
  const keys = cluster.pods.map(
    (pod) => `${withNamespace ? pod.namespace : ""}/${JSON.stringify(Object.entries(pod.labels).sort())}`,
  );
  return new Set(keys).size;
}

function evenlySpacedSample(count: number, wanted: number): number[] {
  if (wanted >= count) return Array.from({ length: count }, (_, i) => i);
  return Array.from({ length: wanted }, (_, i) => Math.floor((i * count) / wanted));
}

export async function runAnalyzerBench(print: (line: string) => void): Promise<void> {
  print(`analyzer matrix bench (ports: ${MATRIX_PORTS.map((p) => `${p.port}/${p.protocol}`).join(", ")})`);
  for (const size of SIZES) {
    const cluster = generateSyntheticCluster(size);

    const groupedStart = performance.now();
    const grouped = computeGroupedMatrix(cluster, MATRIX_PORTS);
    const groupedMs = performance.now() - groupedStart;

    const sample = evenlySpacedSample(cluster.pods.length, PLAIN_SAMPLE_SOURCES);
    const plainStart = performance.now();
    const plain = computePlainMatrix(cluster, MATRIX_PORTS, sample);
    const plainSampleMs = performance.now() - plainStart;
    const plainEstimateMs = (plainSampleMs * cluster.pods.length) / sample.length;
    const difference = firstMatrixDifference(grouped, plain);

    print(
      [
        `  pods=${cluster.pods.length}`,
        `namespaces=${cluster.namespaces.length}`,
        `policies=${cluster.policies.length}`,
        `distinct label sets=${distinctLabelSets(cluster, false)}`,
        `(namespace, labels) pairs=${distinctLabelSets(cluster, true)}`,
        `pod groups=${grouped.groups.length}`,
      ].join(" "),
    );
    print(`    grouped full matrix: ${groupedMs.toFixed(0)} ms`);
    print(
      `    plain pod-by-pod: ${plainSampleMs.toFixed(0)} ms for ${sample.length} of ${cluster.pods.length} source pods,` +
        ` extrapolated ${plainEstimateMs.toFixed(0)} ms for all; ratio plain/grouped ≈ ${(plainEstimateMs / groupedMs).toFixed(1)}x`,
    );
    print(`    sampled rows agree with grouped: ${difference === undefined ? "yes" : `NO (${difference})`}`);
  }
}

if (require.main === module) {
  runAnalyzerBench((line) => console.log(line)).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
