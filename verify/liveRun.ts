/**
 * Runs a probe plan in the cluster of the current kubectl context.
 *
 * Order: check kubectl and the context (a failure here is a usage/cluster error, exit 2), set up
 * each source (the ephemeral probe container in each service pod, the probe pods), run every probe
 * with its own deadline under an overall one, and always delete the probe pods, also after an
 * error or Ctrl-C. A source that cannot be set up makes its probes "could not probe"; the others
 * still run, so one missing RBAC verb does not hide the rest of the matrix.
 */
import * as fs from "node:fs";
import { compileLabelSelector } from "../analyzer/labelSelector";
import { clusterViewFromJson, ClusterReadError, type ClusterView } from "./clusterView";
import type { CommandResult, CommandRunner } from "./commandRunner";
import {
  checkCommand,
  currentContextArgs,
  customProfile,
  debugContainerArgs,
  debugContainerName,
  deletePodsArgs,
  execArgs,
  execTargetOf,
  namespaceArgs,
  podArgs,
  podsArgs,
  policyEndpointsArgs,
  probePodName,
  runProbePodArgs,
  runSelector,
  servicesAndSlicesArgs,
  withContext,
  type ExecTarget,
  type KubectlSettings,
} from "./kubectl";
import { chooseDebugProfile, enforcedLevel, ProfileRefused, type DebugProfile } from "./podSecurity";
import type { PlannedProbe, ProbePlan, ProbeSource } from "./probe";
import { describeKubectlFailure, interpretProbe, type Observation } from "./probeOutput";
import { resolveTargets } from "./targets";

/** The cluster cannot be used at all: no kubectl, no context, no access. The CLI exits 2. */
export class ClusterError extends Error {}

export interface LiveRunOptions {
  readonly settings: KubectlSettings;
  /** `auto` picks the profile the namespace's PodSecurity level admits. */
  readonly debugProfile: DebugProfile | "auto";
  /** How long nc/nslookup wait; kubectl gets this plus kubectlMarginSeconds(). */
  readonly probeTimeoutSeconds: number;
  /** The whole run: probes still pending then are "could not probe"; cleanup runs regardless. */
  readonly overallTimeoutSeconds: number;
  /** How long a new probe pod may wait for the network policy agent to list it. */
  readonly enforcementTimeoutSeconds: number;
  /** The EKS cluster the stack targets, for the fix when there is no context. */
  readonly cluster: { readonly name: string; readonly region: string };
  readonly signal?: AbortSignal;
  /** Progress lines (stderr in the CLI). */
  readonly log?: (line: string) => void;
  /** Between polls of a container's state and of PolicyEndpoints; tests shorten it. */
  readonly pollIntervalMs?: number;
}

export interface ProbeOutcome {
  readonly probe: PlannedProbe;
  readonly observation: Observation;
}

export interface LiveRunResult {
  /** The context the probes ran in, for the report header. */
  readonly context: string;
  readonly outcomes: readonly ProbeOutcome[];
  readonly debugProfile?: string;
}

/**
 * kubectl's share of a probe: `aws eks get-token` (one to three seconds), the API round trip and
 * the exec stream's set-up come on top of nc's wait, and grow with a slow or distant API server,
 * which is also when an operator raises --probe-timeout.
 */
export function kubectlMarginSeconds(probeTimeoutSeconds: number): number {
  return 10 + 2 * probeTimeoutSeconds;
}

// Time for the API server, scheduler and image pull; a waiting reason ends it sooner.
const SETUP_TIMEOUT_SECONDS = 90;
const CONTROL_CALL_TIMEOUT_MS = 30_000;
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

type SourceState =
  { readonly ok: true; readonly target: ExecTarget } | { readonly ok: false; readonly problem: string };

type Kubectl = (args: readonly string[], timeoutMs?: number) => Promise<CommandResult>;

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

export async function runLive(
  plannedOffline: ProbePlan,
  runner: CommandRunner,
  options: LiveRunOptions,
): Promise<LiveRunResult> {
  const log = options.log ?? (() => undefined);
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const deadline = Date.now() + options.overallTimeoutSeconds * 1000;
  const remainingMs = () => deadline - Date.now();
  const run =
    (settingsForContext: KubectlSettings): Kubectl =>
    (args, timeoutMs = CONTROL_CALL_TIMEOUT_MS) =>
      runner.run(withContext(settingsForContext, args), {
        timeoutMs: Math.max(1, Math.min(timeoutMs, remainingMs())),
        signal: options.signal,
      });
  const context = await checkContext(runner, options);
  const read = async (kubectl: Kubectl, args: string[], what: string): Promise<string> => {
    const result = await kubectl(args);
    if (result.exitCode !== 0) {
      throw new ClusterError(
        `cannot read ${what} in context ${context}: ${describeKubectlFailure(result)}. ` +
          `Fix: check the context points at ${options.cluster.name} and that your identity may read namespaces, pods, services and endpointslices, create pods and exec into them.`,
      );
    }
    return result.stdout;
  };

  const base = run(options.settings);
  const namespace = plannedOffline.namespace;
  let view: ClusterView;
  try {
    view = clusterViewFromJson({
      namespace: await read(base, namespaceArgs(namespace), `namespace ${namespace}`),
      servicesAndSlices: await read(
        base,
        servicesAndSlicesArgs(namespace),
        `the Services and EndpointSlices of ${namespace}`,
      ),
      pods: await read(base, podsArgs(namespace), `the pods of ${namespace}`),
    });
  } catch (error) {
    if (error instanceof ClusterReadError) throw new ClusterError(error.message);
    throw error;
  }
  let settings = options.settings;
  if (settings.method === "debug") {
    try {
      const choice = chooseDebugProfile(options.debugProfile, namespace, enforcedLevel(view.namespaceLabels));
      log(`debug profile ${choice.profile}: ${choice.reason}`);
      settings = { ...settings, debugProfile: choice.profile };
    } catch (error) {
      if (error instanceof ProfileRefused) throw new ClusterError(error.message);
      throw error;
    }
  }
  const kubectl = run(settings);
  const plan = resolveTargets(plannedOffline, view);

  const usedNamespaces = new Set<string>();
  try {
    if (settings.method === "debug" && settings.customProfileFile !== undefined) {
      fs.writeFileSync(settings.customProfileFile, `${JSON.stringify(customProfile())}\n`);
    }
    const states = new Map<string, SourceState>();
    for (const source of plan.sources) {
      if (!plan.probes.some((probe) => probe.sourceKey === source.key && probe.unprobeable === undefined))
        continue;
      if (options.signal?.aborted) break;
      log(`setting up ${source.key}`);
      if (source.kind === "probePod") usedNamespaces.add(source.namespace);
      const state = await setUpSource(source, kubectl, settings, view, pollIntervalMs, remainingMs, options);
      if (!state.ok) log(`  could not set up ${source.key}: ${state.problem}`);
      states.set(source.key, state);
    }
    const outcomes: ProbeOutcome[] = [];
    for (const probe of plan.probes) {
      outcomes.push({ probe, observation: await runProbe(probe, states.get(probe.sourceKey)) });
    }
    return {
      context,
      outcomes,
      debugProfile: settings.method === "debug" ? settings.debugProfile : undefined,
    };
  } finally {
    // Not under the run's signal: after Ctrl-C the pods must still go. By label, so a pod whose
    // create was interrupted mid-way is found too.
    for (const podNamespace of usedNamespaces) {
      log(`deleting the probe pods of run ${settings.runId} in ${podNamespace}`);
      const deleted = await runner.run(
        withContext(settings, deletePodsArgs(podNamespace, runSelector(settings.runId))),
        {
          timeoutMs: CONTROL_CALL_TIMEOUT_MS,
        },
      );
      if (deleted.exitCode !== 0) {
        log(
          `  could not delete them (${describeKubectlFailure(deleted)}); they end by themselves after ${settings.sleepSeconds} s, or: npm run verify -- --stack ${plannedOffline.stack} --cleanup`,
        );
      }
    }
    if (settings.customProfileFile !== undefined) fs.rmSync(settings.customProfileFile, { force: true });
  }

  async function runProbe(probe: PlannedProbe, state: SourceState | undefined): Promise<Observation> {
    if (probe.unprobeable !== undefined) return { kind: "could-not-probe", detail: probe.unprobeable };
    if (options.signal?.aborted) return { kind: "could-not-probe", detail: "interrupted" };
    if (state === undefined) return { kind: "could-not-probe", detail: `no source ${probe.sourceKey}` };
    if (!state.ok) return { kind: "could-not-probe", detail: state.problem };
    if (remainingMs() <= 0) {
      return {
        kind: "could-not-probe",
        detail: `the overall timeout (${options.overallTimeoutSeconds} s) ran out first`,
      };
    }
    log(`probing ${probe.from} -> ${probe.to} ${probe.port}/${probe.protocol}`);
    const wait = settings.connectWaitSeconds;
    const result = await kubectl(
      execArgs(state.target, checkCommand(probe.check, wait)),
      (wait + kubectlMarginSeconds(options.probeTimeoutSeconds)) * 1000,
    );
    const observation = interpretProbe(probe.check, result, wait);
    if (probe.via === "clusterIP" && observation.kind === "refused") {
      return {
        kind: "could-not-probe",
        detail: `refused at the ClusterIP ${probe.address ?? ""}: kube-proxy rejects connections to a Service with no ready endpoint, so no pod was reached (${observation.detail})`,
      };
    }
    return observation;
  }
}

/** The context in use, or a ClusterError that says how to get one. */
async function checkContext(runner: CommandRunner, options: LiveRunOptions): Promise<string> {
  if (options.settings.context !== undefined) return options.settings.context;
  const result = await runner.run(currentContextArgs(), {
    timeoutMs: CONTROL_CALL_TIMEOUT_MS,
    signal: options.signal,
  });
  if (result.startError !== undefined) {
    throw new ClusterError(`${describeKubectlFailure(result)} (https://kubernetes.io/docs/tasks/tools/)`);
  }
  const context = result.stdout.trim();
  if (result.exitCode !== 0 || context === "") {
    const { name, region } = options.cluster;
    throw new ClusterError(
      `no kubectl context (${describeKubectlFailure(result)}). ` +
        `Fix: aws eks update-kubeconfig --name ${name} --region ${region}, or pass --context <name>.`,
    );
  }
  return context;
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
  options: LiveRunOptions,
  pollIntervalMs: number,
): Promise<string | undefined> {
  if (source.selectedBy.length === 0) return undefined;
  if (podIP === undefined) return `probe pod ${source.namespace}/${podName} has no IP`;
  const giveUpAt = Date.now() + options.enforcementTimeoutSeconds * 1000;
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
        `after ${options.enforcementTimeoutSeconds} s; until it does the pod is allow-all (standard mode), so its probes would prove nothing. ` +
        `Check: kubectl get policyendpoints.networking.k8s.aws -n ${source.namespace} -o yaml, and the aws-network-policy-agent logs in aws-node`
      );
    }
    await delay(pollIntervalMs);
  }
}

async function setUpSource(
  source: ProbeSource,
  kubectl: Kubectl,
  settings: KubectlSettings,
  view: ClusterView,
  pollIntervalMs: number,
  remainingMs: () => number,
  options: LiveRunOptions,
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
      options,
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
