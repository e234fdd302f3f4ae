/**
 * `--dry-run`: the probe plan and the exact kubectl commands a live run would execute, built by the
 * same functions the live run calls. Runs nothing, needs no cluster: addresses and the debug
 * profile come from the recorded cluster (fixtures/k8s/<stack>.json), which a live run reads anew.
 * Pod names a live run only learns from the cluster (the service pods, for the debug method)
 * appear as <service-pod>.
 */
import type { ClusterView } from "./clusterView";
import {
  checkCommand,
  debugContainerArgs,
  deletePodsArgs,
  execArgs,
  execTargetOf,
  namespaceArgs,
  podArgs,
  podsArgs,
  policyEndpointsArgs,
  probePodName,
  renderCommand,
  runProbePodArgs,
  runSelector,
  servicesAndSlicesArgs,
  withContext,
  type KubectlSettings,
} from "./kubectl";
import { ClusterError, kubectlMarginSeconds } from "./liveRun";
import { chooseDebugProfile, enforcedLevel, ProfileRefused, type DebugProfile } from "./podSecurity";
import type { ProbePlan, ProbeSource } from "./probe";
import { resolveTargets } from "./targets";

export interface CommandScript {
  readonly setup: readonly string[][];
  /** One per probe, in plan order; empty for a probe that will not run. */
  readonly probes: readonly string[][];
  readonly cleanup: readonly string[][];
}

interface Prepared {
  readonly plan: ProbePlan;
  readonly settings: KubectlSettings;
  readonly profileReason: string;
}

function placeholderPod(source: Extract<ProbeSource, { kind: "service" }>): string {
  return `<${source.service}-pod>`;
}

/** The plan against the recorded cluster, and the profile its namespace label admits. */
function prepare(plan: ProbePlan, settings: KubectlSettings, view: ClusterView | undefined): Prepared {
  if (view === undefined) {
    return {
      plan,
      settings,
      profileReason: "decided at run time from the namespace's PodSecurity label (no recorded cluster)",
    };
  }
  if (settings.method !== "debug") return { plan: resolveTargets(plan, view), settings, profileReason: "" };
  try {
    const choice = chooseDebugProfile(
      settings.debugProfile as DebugProfile | "auto",
      view.namespace,
      enforcedLevel(view.namespaceLabels),
    );
    return {
      plan: resolveTargets(plan, view),
      settings: { ...settings, debugProfile: choice.profile },
      profileReason: choice.reason,
    };
  } catch (error) {
    if (error instanceof ProfileRefused) throw new ClusterError(error.message);
    throw error;
  }
}

function script({ plan, settings }: Prepared): CommandScript {
  const setup: string[][] = [
    namespaceArgs(plan.namespace),
    servicesAndSlicesArgs(plan.namespace),
    podsArgs(plan.namespace),
  ];
  const cleanupNamespaces = new Set<string>();
  const used = plan.sources.filter((source) =>
    plan.probes.some((probe) => probe.sourceKey === source.key && probe.unprobeable === undefined),
  );
  for (const source of used) {
    if (source.kind === "probePod") {
      const name = probePodName(source, settings.runId);
      setup.push(runProbePodArgs(settings, source), podArgs(source.namespace, name));
      if (source.selectedBy.length > 0) setup.push(policyEndpointsArgs(source.namespace));
      cleanupNamespaces.add(source.namespace);
    } else if (settings.method === "debug") {
      const pod = placeholderPod(source);
      setup.push(debugContainerArgs(settings, source, pod), podArgs(source.namespace, pod));
    }
  }
  const probes = plan.probes.map((probe) => {
    if (probe.unprobeable !== undefined) return [];
    const source = used.find((candidate) => candidate.key === probe.sourceKey);
    if (source === undefined) throw new Error(`probe from unknown source ${probe.sourceKey}`);
    const pod = source.kind === "service" ? placeholderPod(source) : undefined;
    return execArgs(
      execTargetOf(settings, source, pod),
      checkCommand(probe.check, settings.connectWaitSeconds),
    );
  });
  const cleanup = [...cleanupNamespaces].map((namespace) =>
    deletePodsArgs(namespace, runSelector(settings.runId)),
  );
  const full = (args: string[]) => (args.length === 0 ? [] : ["kubectl", ...withContext(settings, args)]);
  return { setup: setup.map(full), probes: probes.map(full), cleanup: cleanup.map(full) };
}

/** The `--format json` dry run: keys are only ever added (other tools read it). */
export function dryRunJson(
  offlinePlan: ProbePlan,
  offlineSettings: KubectlSettings,
  view?: ClusterView,
): unknown {
  const prepared = prepare(offlinePlan, offlineSettings, view);
  const { plan, settings } = prepared;
  const commands = script(prepared);
  const allowed = plan.probes.filter((probe) => probe.expected === "allowed").length;
  return {
    stack: plan.stack,
    namespace: plan.namespace,
    stage: plan.stage,
    method: settings.method,
    probes: plan.probes.map((probe, index) => ({
      from: probe.from,
      to: probe.to,
      port: probe.port,
      protocol: probe.protocol,
      expected: probe.expected,
      intended: probe.intended,
      reason: probe.reason,
      command: commands.probes[index],
      source: probe.sourceKey,
      address: probe.address ?? null,
      via: probe.via ?? null,
      couldNotProbe: probe.unprobeable ?? null,
    })),
    setup: commands.setup,
    cleanup: commands.cleanup,
    notProbed: plan.notProbed,
    image: settings.image,
    debugProfile: settings.method === "debug" ? settings.debugProfile : null,
    debugProfileReason: settings.method === "debug" ? prepared.profileReason : null,
    runId: settings.runId,
    probeWaitSeconds: settings.connectWaitSeconds,
    kubectlTimeoutSeconds: settings.connectWaitSeconds + kubectlMarginSeconds(settings.connectWaitSeconds),
    clusterReads:
      view === undefined
        ? null
        : `fixtures/k8s/${plan.stack}.json (recorded; a live run reads the cluster anew)`,
    counts: {
      probes: plan.probes.length,
      expectedAllowed: allowed,
      expectedBlocked: plan.probes.length - allowed,
      couldNotProbe: plan.probes.filter((probe) => probe.unprobeable !== undefined).length,
    },
  };
}

const show = (argv: readonly string[]) => renderCommand(argv.slice(1));

export function renderDryRun(
  offlinePlan: ProbePlan,
  offlineSettings: KubectlSettings,
  view?: ClusterView,
): string {
  const prepared = prepare(offlinePlan, offlineSettings, view);
  const { plan, settings } = prepared;
  const commands = script(prepared);
  const allowed = plan.probes.filter((probe) => probe.expected === "allowed").length;
  const lines = [
    `Probe plan of stack ${plan.stack}: ${plan.probes.length} probes, ${allowed} expected allowed, ${plan.probes.length - allowed} expected blocked`,
    `Expectations: the offline matrix at the current stage (${plan.stage})`,
    `Method: ${settings.method === "debug" ? `debug (an ephemeral ${settings.image} container in each service pod)` : "exec (nc and nslookup from the application images)"}`,
    ...(settings.method === "debug"
      ? [`Debug profile: ${settings.debugProfile} (${prepared.profileReason})`]
      : []),
    ...(view === undefined
      ? []
      : [`Addresses: the recorded cluster fixtures/k8s/${plan.stack}.json; a live run reads them anew`]),
    "",
  ];
  plan.probes.forEach((probe, index) => {
    lines.push(
      `${String(index + 1).padStart(2)}. ${probe.expected.padEnd(7)} ${probe.from} -> ${probe.to}:${probe.port}/${probe.protocol}`,
      `    ${probe.reason}`,
      ...(probe.unprobeable === undefined ? [] : [`    could not probe: ${probe.unprobeable}`]),
    );
  });
  if (plan.notProbed.length > 0)
    lines.push("", "Not probed:", ...plan.notProbed.map((entry) => `  ${entry}`));
  lines.push("", "Commands (dry run: nothing was executed)", "# set up");
  lines.push(...commands.setup.map(show));
  if (settings.method === "debug") {
    lines.push(
      "#   (<service-pod> is a Running pod from the pods read; each status read repeats until the container runs or waits with an error)",
    );
  }
  lines.push(
    "# probes",
    ...commands.probes.filter((argv) => argv.length > 0).map(show),
    "# clean up (always, also after an error or Ctrl-C; --cleanup sweeps earlier runs)",
  );
  lines.push(...commands.cleanup.map(show));
  return `${lines.join("\n")}\n`;
}
