import type { PodInfo, TrafficPort } from "../core/kubernetes";
import { podKey } from "../core/kubernetes";

/** Pod-to-pod verdicts for a fixed list of destination ports. */
export interface ReachabilityMatrix {
  readonly pods: readonly PodInfo[];
  readonly ports: readonly TrafficPort[];
  /** Source pod indices this matrix holds rows for (every pod unless it was sampled). */
  readonly sourcePods: readonly number[];
  isAllowed(fromPod: number, toPod: number, portIndex: number): boolean;
}

/** The first cell where two matrices disagree on the rows both hold, described; else undefined. */
export function firstMatrixDifference(a: ReachabilityMatrix, b: ReachabilityMatrix): string | undefined {
  const sharedSources = a.sourcePods.filter((index) => new Set(b.sourcePods).has(index));
  for (const from of sharedSources) {
    for (let to = 0; to < a.pods.length; to++) {
      for (let portIndex = 0; portIndex < a.ports.length; portIndex++) {
        const left = a.isAllowed(from, to, portIndex);
        const right = b.isAllowed(from, to, portIndex);
        if (left !== right) {
          const { port, protocol } = a.ports[portIndex];
          return `${podKey(a.pods[from])} -> ${podKey(a.pods[to])} ${port}/${protocol}: ${left} vs ${right}`;
        }
      }
    }
  }
  return undefined;
}

export function countAllowed(matrix: ReachabilityMatrix): number {
  let allowed = 0;
  for (const from of matrix.sourcePods) {
    for (let to = 0; to < matrix.pods.length; to++) {
      for (let portIndex = 0; portIndex < matrix.ports.length; portIndex++) {
        if (matrix.isAllowed(from, to, portIndex)) allowed++;
      }
    }
  }
  return allowed;
}
