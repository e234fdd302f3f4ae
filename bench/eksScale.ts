/**
 * Issue 20 part 3: the EKS VPC CNI agent model at cluster scale, against the upstream-semantics grouped
 * matrix measured in the same process. `npx ts-node --transpile-only bench/eksScale.ts PODS [per-pod]`
 * prints one JSON line (the process's peak RSS follows on stderr when run with -r ./bench/maxRss.js):
 * each matrix computed three times, alternately, the fastest run of each kept.
 * "per-pod" times the per-pod maps instead (every pod's EksEnforcer.mapsOf), the path the grouped
 * matrix replaced, for profiling only.
 */
import { performance } from "node:perf_hooks";
import { podKey, type TrafficPort } from "../core/kubernetes";
import { computeGroupedMatrix } from "../analyzer/groupedMatrix";
import { EksEnforcer, computeEksGroupedMatrix, type EksCluster } from "../analyzer/eks";
import { generateSyntheticCluster } from "./syntheticCluster";

/** One port, as the upstream row of the scale table. */
export const EKS_SCALE_PORTS: readonly TrafficPort[] = [{ port: 8080, protocol: "TCP" }];
const NODES = 20;
const ROUNDS = 3;

/** 20,000 pods: 50 namespaces x 20 apps x 2 versions = 2,000 label sets; one policy per 10 pods. */
export function eksScaleCluster(pods: number): EksCluster {
  const base = generateSyntheticCluster({
    namespaces: 50,
    pods,
    policies: pods / 10,
    seed: 20,
    appsPerNamespace: 20,
  });
  // Nodes outside the pods' 10.0.0.0/8, as on EKS where nodes and pods share the VPC but not addresses.
  const nodeIps = Object.fromEntries(
    base.pods.map((pod, index) => [podKey(pod), `192.168.0.${(index % NODES) + 1}`]),
  );
  return { ...base, nodeIps };
}

export interface EksScaleFigures {
  readonly pods: number;
  readonly policies: number;
  readonly upstreamSeconds: number;
  readonly upstreamCpuSeconds: number;
  readonly upstreamGroups: number;
  readonly eksSeconds: number;
  readonly eksCpuSeconds: number;
  readonly eksGroups: number;
}

/** Wall and CPU (user + system, all threads) seconds of one call. */
function timed<T>(run: () => T): { value: T; seconds: number; cpuSeconds: number } {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const value = run();
  const used = process.cpuUsage(cpu);
  return {
    value,
    seconds: (performance.now() - started) / 1000,
    cpuSeconds: (used.user + used.system) / 1e6,
  };
}

export function measureEksScale(pods: number): EksScaleFigures {
  const cluster = eksScaleCluster(pods);
  // Alternated and the fastest of three kept, so a burst of load on the shared machine skews neither.
  type Run<T> = ReturnType<typeof timed<T>>;
  const upstreamRuns: Run<ReturnType<typeof computeGroupedMatrix>>[] = [];
  const eksRuns: Run<ReturnType<typeof computeEksGroupedMatrix>>[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    upstreamRuns.push(timed(() => computeGroupedMatrix(cluster, EKS_SCALE_PORTS)));
    eksRuns.push(timed(() => computeEksGroupedMatrix(cluster, EKS_SCALE_PORTS)));
  }
  const fastest = <T>(runs: Run<T>[]) =>
    runs.reduce((best, run) => (run.seconds < best.seconds ? run : best));
  const upstream = fastest(upstreamRuns);
  const eks = fastest(eksRuns);
  return {
    pods,
    policies: cluster.policies.length,
    upstreamSeconds: upstream.seconds,
    upstreamCpuSeconds: upstream.cpuSeconds,
    upstreamGroups: upstream.value.groups.length,
    eksSeconds: eks.seconds,
    eksCpuSeconds: eks.cpuSeconds,
    eksGroups: eks.value.groups.length,
  };
}

function measurePerPodMaps(pods: number): { pods: number; perPodSeconds: number } {
  const cluster = eksScaleCluster(pods);
  const start = performance.now();
  const enforcer = new EksEnforcer(cluster);
  for (const pod of cluster.pods) enforcer.mapsOf(pod);
  return { pods, perPodSeconds: (performance.now() - start) / 1000 };
}

if (require.main === module) {
  const pods = Number(process.argv[2] ?? "20000");
  const figures = process.argv[3] === "per-pod" ? measurePerPodMaps(pods) : measureEksScale(pods);
  console.log(JSON.stringify(figures));
}
