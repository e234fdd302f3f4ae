import { PolicyAnalyzer } from "../analyzer/analyzer";
import type { Cluster, Endpoint, TrafficPort } from "../core/kubernetes";
import type { ReachabilityMatrix } from "../analyzer/reachabilityMatrix";

/**
 * The reference evaluator: asks the probe analyzer about every (source, destination, port)
 * triple, with no sharing between pods. `sourcePods` limits the rows (for sampling big inputs).
 */
export function computePlainMatrix(
  cluster: Cluster,
  ports: readonly TrafficPort[],
  sourcePods: readonly number[] = cluster.pods.map((_, index) => index),
): ReachabilityMatrix {
  const analyzer = new PolicyAnalyzer(cluster);
  const podCount = cluster.pods.length;
  const endpoints: Endpoint[] = cluster.pods.map((pod) => ({ kind: "pod", pod }));
  const rowOfSource = new Map<number, number>();
  const cells = new Uint8Array(sourcePods.length * podCount * ports.length);
  sourcePods.forEach((from, row) => {
    rowOfSource.set(from, row);
    for (let to = 0; to < podCount; to++) {
      ports.forEach(({ port, protocol }, portIndex) => {
        const allowed = analyzer.isAllowed({ from: endpoints[from], to: endpoints[to], port, protocol });
        cells[(row * podCount + to) * ports.length + portIndex] = allowed ? 1 : 0;
      });
    }
  });
  return {
    pods: cluster.pods,
    ports,
    sourcePods,
    isAllowed(from, to, portIndex) {
      const row = rowOfSource.get(from);
      if (row === undefined) throw new Error(`source pod ${from} was not evaluated`);
      return cells[(row * podCount + to) * ports.length + portIndex] === 1;
    },
  };
}
