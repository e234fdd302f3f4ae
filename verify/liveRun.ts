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
import { clusterViewFromJson, ClusterReadError, type ClusterView } from "./clusterView";
import type { CommandRunner } from "./commandRunner";
import {
  checkCommand,
  currentContextArgs,
  customProfile,
  deletePodsArgs,
  execArgs,
  namespaceArgs,
  podsArgs,
  runSelector,
  servicesAndSlicesArgs,
  withContext,
  type KubectlSettings,
} from "./kubectl";
import { chooseDebugProfile, enforcedLevel, ProfileRefused, type DebugProfile } from "./podSecurity";
import type { PlannedProbe, ProbePlan } from "./probe";
import { describeKubectlFailure, interpretProbe, type Observation } from "./probeOutput";
import { setUpSource, type Kubectl, type SourceState } from "./probeSources";
import { resolveTargets } from "./targets";
import { eksPreflight } from "./eksPreflight";

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

const CONTROL_CALL_TIMEOUT_MS = 30_000;

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
  // Cluster policies and the agent version decide before (and beside) the stack's NetworkPolicies.
  try {
    for (const line of await eksPreflight(base, namespace)) log(line);
  } catch (error) {
    throw new ClusterError((error as Error).message);
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
      const state = await setUpSource(
        source,
        kubectl,
        settings,
        view,
        pollIntervalMs,
        remainingMs,
        options.enforcementTimeoutSeconds,
      );
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
