/**
 * `--dry-run`: the probe plan and the exact kubectl commands a live run would execute, built by the
 * same functions the live run calls. Runs nothing, needs no cluster. Pod names a live run only
 * learns from the cluster (the service pods, for the debug method) appear as <service-pod>.
 */
import {
  checkCommand,
  debugContainerArgs,
  debugContainerRunningArgs,
  deletePodArgs,
  execArgs,
  execTargetOf,
  probePodName,
  renderCommand,
  runProbePodArgs,
  runningPodArgs,
  waitReadyArgs,
  withContext,
  type KubectlSettings,
} from "./kubectl";
import type { ProbePlan, ProbeSource } from "./probe";

export interface CommandScript {
  readonly setup: readonly string[][];
  /** One per probe, in plan order. */
  readonly probes: readonly string[][];
  readonly cleanup: readonly string[][];
}

// Shown only; the live run waits with its own timeout (see liveRun.ts).
const SHOWN_READY_TIMEOUT_SECONDS = 90;

function placeholderPod(source: Extract<ProbeSource, { kind: "service" }>): string {
  return `<${source.service}-pod>`;
}

export function commandScript(plan: ProbePlan, settings: KubectlSettings): CommandScript {
  const setup: string[][] = [];
  const cleanup: string[][] = [];
  const used = plan.sources.filter((source) => plan.probes.some((probe) => probe.sourceKey === source.key));
  for (const source of used) {
    if (source.kind === "probePod") {
      const name = probePodName(source, settings.runId);
      setup.push(
        runProbePodArgs(settings, source),
        waitReadyArgs(source.namespace, name, SHOWN_READY_TIMEOUT_SECONDS),
      );
      cleanup.push(deletePodArgs(source.namespace, name));
    } else if (settings.method === "debug") {
      const pod = placeholderPod(source);
      setup.push(
        runningPodArgs(source.namespace, source.selector),
        debugContainerArgs(settings, source, pod),
        debugContainerRunningArgs(settings, source.namespace, pod),
      );
    }
  }
  const probes = plan.probes.map((probe) => {
    const source = used.find((candidate) => candidate.key === probe.sourceKey);
    if (source === undefined) throw new Error(`probe from unknown source ${probe.sourceKey}`);
    const pod = source.kind === "service" ? placeholderPod(source) : undefined;
    return execArgs(
      execTargetOf(settings, source, pod),
      checkCommand(probe.check, settings.connectWaitSeconds),
    );
  });
  const full = (args: string[]) => ["kubectl", ...withContext(settings, args)];
  return { setup: setup.map(full), probes: probes.map(full), cleanup: cleanup.map(full) };
}

export function dryRunJson(plan: ProbePlan, settings: KubectlSettings): unknown {
  const script = commandScript(plan, settings);
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
      command: script.probes[index],
    })),
    setup: script.setup,
    cleanup: script.cleanup,
    notProbed: plan.notProbed,
  };
}

const show = (argv: readonly string[]) => renderCommand(argv.slice(1));

export function renderDryRun(plan: ProbePlan, settings: KubectlSettings): string {
  const script = commandScript(plan, settings);
  const allowed = plan.probes.filter((probe) => probe.expected === "allowed").length;
  const lines = [
    `Probe plan of stack ${plan.stack}: ${plan.probes.length} probes, ${allowed} expected allowed, ${plan.probes.length - allowed} expected blocked`,
    `Expectations: the offline matrix at the current stage (${plan.stage})`,
    `Method: ${settings.method === "debug" ? `debug (an ephemeral ${settings.image} container in each service pod)` : "exec (nc and nslookup from the application images)"}`,
    "",
  ];
  plan.probes.forEach((probe, index) => {
    lines.push(
      `${String(index + 1).padStart(2)}. ${probe.expected.padEnd(7)} ${probe.from} -> ${probe.to}:${probe.port}/${probe.protocol}`,
      `    ${probe.reason}`,
    );
  });
  if (plan.notProbed.length > 0)
    lines.push("", "Not probed:", ...plan.notProbed.map((entry) => `  ${entry}`));
  lines.push("", "Commands (dry run: nothing was executed)", "# set up");
  lines.push(...script.setup.map(show));
  if (settings.method === "debug") {
    lines.push(
      "#   (<service-pod> is the pod the first command prints; the last one repeats until the container runs)",
    );
  }
  lines.push("# probes", ...script.probes.map(show), "# clean up (always, also after an error or Ctrl-C)");
  lines.push(...script.cleanup.map(show));
  return `${lines.join("\n")}\n`;
}
