/**
 * Setting up the sources a live run probes from, and the waits that make a probe mean something:
 * the probe container running, and a new probe pod listed by the network policy agent.
 */
import { compileLabelSelector } from "../core/labelSelector";
import type { ClusterView } from "./clusterView";
import type { CommandResult } from "./commandRunner";
import {
  debugContainerArgs,
  debugContainerName,
  execTargetOf,
  podArgs,
  policyEndpointsArgs,
  probePodName,
  runProbePodArgs,
  type ExecTarget,
  type KubectlSettings,
} from "./kubectl";
import type { ProbeSource } from "./probe";
import { describeKubectlFailure } from "./probeOutput";

// Time for the API server, scheduler and image pull; a waiting reason ends it sooner.
const SETUP_TIMEOUT_SECONDS = 90;
/** Waiting reasons the kubelet does not recover from by itself within a probe run. */
const STUCK_REASONS = new Set([
  "ErrImagePull",
  "ImagePullBackOff",
  "InvalidImageName",
  "ErrImageNeverPull",
  "CreateContainerConfigError",
  "CreateContainerError",
  "RunContainerError",
]);

export type SourceState =
  { readonly ok: true; readonly target: ExecTarget } | { readonly ok: false; readonly problem: string };

/** kubectl under the run's context, deadline and signal. */
export type Kubectl = (args: readonly string[], timeoutMs?: number) => Promise<CommandResult>;

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface ContainerStatusJson {
  name?: string;
  state?: {
    running?: unknown;
    waiting?: { reason?: string; message?: string };
    terminated?: { reason?: string };
  };
}
interface PodJson {
  status?: {
    phase?: string;
    podIP?: string;
    conditions?: { type?: string; status?: string }[];
    containerStatuses?: ContainerStatusJson[];
    ephemeralContainerStatuses?: ContainerStatusJson[];
  };
}

/** Running, stuck with its reason, or still coming up. */
function containerProgress(
  status: ContainerStatusJson | undefined,
): "running" | "pending" | { stuck: string } {
  if (status?.state?.running !== undefined) return "running";
  const waiting = status?.state?.waiting;
  if (waiting?.reason !== undefined && STUCK_REASONS.has(waiting.reason)) {
    return { stuck: `${waiting.reason}${waiting.message ? `: ${waiting.message}` : ""}` };
  }
  if (status?.state?.terminated !== undefined)
    return { stuck: `terminated (${status.state.terminated.reason ?? "?"})` };
  return "pending";
}

/** Polls a pod until `progress` says running or stuck, within the set-up time. */
async function waitForContainer(
  kubectl: Kubectl,
  namespace: string,
  pod: string,
  progress: (pod: PodJson) => ReturnType<typeof containerProgress>,
  pollIntervalMs: number,
  remainingMs: () => number,
): Promise<{ ok: true; pod: PodJson } | { ok: false; problem: string }> {
  const giveUpAt = Date.now() + SETUP_TIMEOUT_SECONDS * 1000;
  for (;;) {
    const read = await kubectl(podArgs(namespace, pod));
    if (read.aborted) return { ok: false, problem: "interrupted" };
    if (read.exitCode === 0) {
      let parsed: PodJson = {};
      try {
        parsed = JSON.parse(read.stdout) as PodJson;
      } catch {
        // A garbled read is retried like a pending one.
      }
      const state = progress(parsed);
      if (state === "running") return { ok: true, pod: parsed };
      if (state !== "pending") return { ok: false, problem: state.stuck };
    }
    if (Date.now() >= giveUpAt || remainingMs() <= 0) {
      return { ok: false, problem: `not running after ${SETUP_TIMEOUT_SECONDS} s` };
    }
    await delay(pollIntervalMs);
  }
}

interface PolicyEndpointsJson {
  items?: { spec?: { policyRef?: { name?: string }; podSelectorEndpoints?: { podIP?: string }[] } }[];
}

/**
 * Standard enforcing mode: a new pod is allow-all until the agent has loaded the policies that
 * select it, which the controller signals by listing its IP in their PolicyEndpoints. Probing
 * before that would pass blocked rows having tested nothing.
 */
async function waitForEnforcement(
  kubectl: Kubectl,
  source: Extract<ProbeSource, { kind: "probePod" }>,
  podName: string,
  podIP: string | undefined,
  enforcementTimeoutSeconds: number,
  pollIntervalMs: number,
): Promise<string | undefined> {
  if (source.selectedBy.length === 0) return undefined;
  if (podIP === undefined) return `probe pod ${source.namespace}/${podName} has no IP`;
  const giveUpAt = Date.now() + enforcementTimeoutSeconds * 1000;
  let missing = [...source.selectedBy];
  for (;;) {
    const read = await kubectl(policyEndpointsArgs(source.namespace));
    if (read.aborted) return "interrupted";
    if (read.exitCode === 0) {
      try {
        const list = JSON.parse(read.stdout) as PolicyEndpointsJson;
        missing = source.selectedBy.filter(
          (policy) =>
            !(list.items ?? []).some(
              (endpoint) =>
                endpoint.spec?.policyRef?.name === policy &&
                (endpoint.spec.podSelectorEndpoints ?? []).some((pod) => pod.podIP === podIP),
            ),
        );
      } catch {
        // retried
      }
      if (missing.length === 0) return undefined;
    } else if (/the server doesn't have a resource type/.test(read.stderr)) {
      return `no PolicyEndpoints resource in this cluster: is the VPC CNI network policy agent enabled (enableNetworkPolicy)? Its probes would prove nothing`;
    }
    if (Date.now() >= giveUpAt) {
      return (
        `the network policy agent has not listed ${source.namespace}/${podName} (${podIP}) in the PolicyEndpoints of ${missing.join(", ")} ` +
        `after ${enforcementTimeoutSeconds} s; until it does the pod is allow-all (standard mode), so its probes would prove nothing. ` +
        `Check: kubectl get policyendpoints.networking.k8s.aws -n ${source.namespace} -o yaml, and the aws-network-policy-agent logs in aws-node`
      );
    }
    await delay(pollIntervalMs);
  }
}

/**
 * Makes one source ready to probe from: its probe pod running and (standard mode) listed by the
 * network policy agent, or the ephemeral probe container added to a Running pod of the service.
 */
export async function setUpSource(
  source: ProbeSource,
  kubectl: Kubectl,
  settings: KubectlSettings,
  view: ClusterView,
  pollIntervalMs: number,
  remainingMs: () => number,
  enforcementTimeoutSeconds: number,
): Promise<SourceState> {
  const failed = (what: string, result: CommandResult): SourceState => ({
    ok: false,
    problem: `${what}: ${describeKubectlFailure(result)}`,
  });
  if (source.kind === "probePod") {
    const name = probePodName(source, settings.runId);
    const created = await kubectl(runProbePodArgs(settings, source));
    if (created.exitCode !== 0) return failed(`creating probe pod ${source.namespace}/${name}`, created);
    const started = await waitForContainer(
      kubectl,
      source.namespace,
      name,
      (pod) => {
        const ready = (pod.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
        const progress = containerProgress(pod.status?.containerStatuses?.[0]);
        return progress === "running" && !ready ? "pending" : progress;
      },
      pollIntervalMs,
      remainingMs,
    );
    if (!started.ok)
      return {
        ok: false,
        problem: `probe pod ${source.namespace}/${name} did not start: ${started.problem}`,
      };
    const notEnforced = await waitForEnforcement(
      kubectl,
      source,
      name,
      started.pod.status?.podIP,
      enforcementTimeoutSeconds,
      pollIntervalMs,
    );
    if (notEnforced !== undefined) return { ok: false, problem: notEnforced };
    return { ok: true, target: execTargetOf(settings, source, undefined) };
  }
  if (settings.method === "exec") return { ok: true, target: execTargetOf(settings, source, undefined) };

  const pod = view.pods.find(
    (candidate) =>
      candidate.running &&
      compileLabelSelector({
        matchLabels: Object.fromEntries(
          source.selector.split(",").map((pair) => pair.split("=") as [string, string]),
        ),
      })(candidate.labels),
  );
  if (pod === undefined) {
    return { ok: false, problem: `no Running pod with labels ${source.selector} in ${source.namespace}` };
  }
  const debug = await kubectl(debugContainerArgs(settings, source, pod.name));
  if (debug.exitCode !== 0)
    return failed(`adding the probe container to ${source.namespace}/${pod.name}`, debug);
  const container = debugContainerName(settings.runId);
  const started = await waitForContainer(
    kubectl,
    source.namespace,
    pod.name,
    (json) =>
      containerProgress((json.status?.ephemeralContainerStatuses ?? []).find((s) => s.name === container)),
    pollIntervalMs,
    remainingMs,
  );
  if (!started.ok) {
    return {
      ok: false,
      problem: `the probe container in ${source.namespace}/${pod.name} did not start: ${started.problem}`,
    };
  }
  return { ok: true, target: execTargetOf(settings, source, pod.name) };
}
