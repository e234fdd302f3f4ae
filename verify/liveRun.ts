/**
 * Runs a probe plan in the cluster of the current kubectl context.
 *
 * Order: check kubectl and the context (a failure here is a usage/cluster error, exit 2), set up
 * each source (the ephemeral probe container in each service pod, the probe pods), run every probe
 * with its own deadline under an overall one, and always delete the probe pods, also after an
 * error or Ctrl-C. A source that cannot be set up makes its probes "could not probe"; the others
 * still run, so one missing RBAC verb does not hide the rest of the matrix.
 */
import type { CommandResult, CommandRunner } from "./commandRunner";
import {
  currentContextArgs,
  debugContainerArgs,
  debugContainerRunningArgs,
  deletePodArgs,
  execArgs,
  execTargetOf,
  checkCommand,
  namespaceArgs,
  probePodName,
  runProbePodArgs,
  runningPodArgs,
  waitReadyArgs,
  withContext,
  type ExecTarget,
  type KubectlSettings,
} from "./kubectl";
import type { PlannedProbe, ProbePlan, ProbeSource } from "./probe";
import { describeKubectlFailure, interpretProbe, type Observation } from "./probeOutput";

/** The cluster cannot be used at all: no kubectl, no context, no access. The CLI exits 2. */
export class ClusterError extends Error {}

export interface LiveRunOptions {
  readonly settings: KubectlSettings;
  /** The longest one probe's kubectl call may take before it counts as "could not probe". */
  readonly probeTimeoutSeconds: number;
  /** The whole run: probes still pending then are "could not probe"; cleanup runs regardless. */
  readonly overallTimeoutSeconds: number;
  /** The EKS cluster the stack targets, for the fix when there is no context. */
  readonly cluster: { readonly name: string; readonly region: string };
  readonly signal?: AbortSignal;
  /** Progress lines (stderr in the CLI). */
  readonly log?: (line: string) => void;
  /** Between polls of the ephemeral container's state; tests shorten it. */
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
}

// Time for the API server, scheduler and image pull; busybox is small and usually cached.
const SETUP_TIMEOUT_SECONDS = 90;
const CONTROL_CALL_TIMEOUT_MS = 30_000;

type SourceState =
  { readonly ok: true; readonly target: ExecTarget } | { readonly ok: false; readonly problem: string };

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runLive(
  plan: ProbePlan,
  runner: CommandRunner,
  options: LiveRunOptions,
): Promise<LiveRunResult> {
  const { settings } = options;
  const log = options.log ?? (() => undefined);
  const deadline = Date.now() + options.overallTimeoutSeconds * 1000;
  const remainingMs = () => deadline - Date.now();
  const kubectl = (args: readonly string[], timeoutMs = CONTROL_CALL_TIMEOUT_MS): Promise<CommandResult> =>
    runner.run(withContext(settings, args), {
      timeoutMs: Math.max(1, Math.min(timeoutMs, remainingMs())),
      signal: options.signal,
    });

  const context = await checkContext(runner, options);
  const namespaceRead = await kubectl(namespaceArgs(plan.namespace));
  if (namespaceRead.exitCode !== 0) {
    throw new ClusterError(
      `cannot read namespace ${plan.namespace} in context ${context}: ${describeKubectlFailure(namespaceRead)}. ` +
        `Fix: check the context points at ${options.cluster.name} and that your identity may read namespaces, create pods and exec into them.`,
    );
  }

  const createdPods: { namespace: string; name: string }[] = [];
  try {
    const states = new Map<string, SourceState>();
    for (const source of plan.sources) {
      if (!plan.probes.some((probe) => probe.sourceKey === source.key)) continue;
      log(`setting up ${source.key}`);
      const state = await setUpSource(
        source,
        kubectl,
        settings,
        createdPods,
        options.pollIntervalMs ?? 1000,
        remainingMs,
      );
      if (!state.ok) log(`  could not set up ${source.key}: ${state.problem}`);
      states.set(source.key, state);
    }
    const outcomes: ProbeOutcome[] = [];
    for (const probe of plan.probes) {
      outcomes.push({ probe, observation: await runProbe(probe, states.get(probe.sourceKey)) });
    }
    return { context, outcomes };
  } finally {
    // Not under the run's signal: after Ctrl-C the pods must still go.
    for (const pod of createdPods) {
      log(`deleting probe pod ${pod.namespace}/${pod.name}`);
      const deleted = await runner.run(withContext(settings, deletePodArgs(pod.namespace, pod.name)), {
        timeoutMs: CONTROL_CALL_TIMEOUT_MS,
      });
      if (deleted.exitCode !== 0) {
        log(
          `  could not delete ${pod.namespace}/${pod.name} (${describeKubectlFailure(deleted)}); it ends by itself after ${settings.sleepSeconds} s, or: kubectl delete pod -n ${pod.namespace} ${pod.name}`,
        );
      }
    }
  }

  async function runProbe(probe: PlannedProbe, state: SourceState | undefined): Promise<Observation> {
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
    const result = await kubectl(
      execArgs(state.target, checkCommand(probe.check, settings.connectWaitSeconds)),
      options.probeTimeoutSeconds * 1000,
    );
    return interpretProbe(probe.check, result, settings.connectWaitSeconds);
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

async function setUpSource(
  source: ProbeSource,
  kubectl: (args: readonly string[], timeoutMs?: number) => Promise<CommandResult>,
  settings: KubectlSettings,
  createdPods: { namespace: string; name: string }[],
  pollIntervalMs: number,
  remainingMs: () => number,
): Promise<SourceState> {
  const failed = (what: string, result: CommandResult): SourceState => ({
    ok: false,
    problem: `${what}: ${describeKubectlFailure(result)}`,
  });
  if (source.kind === "probePod") {
    const name = probePodName(source, settings.runId);
    // Recorded before the create: an interrupted create may still leave a pod behind.
    createdPods.push({ namespace: source.namespace, name });
    const created = await kubectl(runProbePodArgs(settings, source));
    if (created.exitCode !== 0) return failed(`creating probe pod ${source.namespace}/${name}`, created);
    const ready = await kubectl(
      waitReadyArgs(source.namespace, name, SETUP_TIMEOUT_SECONDS),
      (SETUP_TIMEOUT_SECONDS + 10) * 1000,
    );
    if (ready.exitCode !== 0)
      return failed(`probe pod ${source.namespace}/${name} never became Ready`, ready);
    return { ok: true, target: execTargetOf(settings, source, undefined) };
  }
  if (settings.method === "exec") return { ok: true, target: execTargetOf(settings, source, undefined) };

  const found = await kubectl(runningPodArgs(source.namespace, source.selector));
  if (found.exitCode !== 0) return failed(`finding a pod of ${source.service}`, found);
  const pod = found.stdout.trim();
  if (pod === "") {
    return { ok: false, problem: `no Running pod with labels ${source.selector} in ${source.namespace}` };
  }
  const debug = await kubectl(debugContainerArgs(settings, source, pod));
  if (debug.exitCode !== 0) return failed(`adding the probe container to ${source.namespace}/${pod}`, debug);
  const giveUpAt = Date.now() + SETUP_TIMEOUT_SECONDS * 1000;
  for (;;) {
    const state = await kubectl(debugContainerRunningArgs(settings, source.namespace, pod));
    if (state.aborted) return failed(`waiting for the probe container in ${source.namespace}/${pod}`, state);
    if (state.exitCode === 0 && state.stdout.trim() !== "") {
      return { ok: true, target: execTargetOf(settings, source, pod) };
    }
    if (Date.now() >= giveUpAt || remainingMs() <= 0) {
      return {
        ok: false,
        problem: `the probe container in ${source.namespace}/${pod} did not start (image pull, or a PodSecurity policy refusing it: try --debug-profile)`,
      };
    }
    await delay(pollIntervalMs);
  }
}
