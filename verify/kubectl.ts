/**
 * Every kubectl invocation of live verification, as argument vectors.
 *
 * Nothing here is a shell string: each value from config, AWS or a flag is one element of the
 * vector handed to spawn, so no label, host or name can turn into shell syntax. Pure functions,
 * shared by `--dry-run` (which prints them) and the live run (which executes them), so what the
 * operator reviews is what runs.
 */
import type { ServiceName } from "../components/flowTable";
import type { ProbeCheck, ProbeSource } from "./probe";

export const PROBE_METHODS = ["debug", "exec"] as const;
export type ProbeMethod = (typeof PROBE_METHODS)[number];

export const DEFAULT_PROBE_IMAGE = "busybox:1.36";

export interface KubectlSettings {
  /** `--context` for every call; undefined uses the kubeconfig's current context. */
  readonly context?: string;
  readonly image: string;
  readonly method: ProbeMethod;
  /** kubectl debug's security profile for the ephemeral container. */
  readonly debugProfile: string;
  /** The application container per service: `-c` for exec, `--target` for debug. */
  readonly containers: Readonly<Partial<Record<ServiceName, string>>>;
  /** Random per run: names the probe pods and ephemeral containers, so runs never collide. */
  readonly runId: string;
  /** How long nc and nslookup wait for an answer inside the pod. */
  readonly connectWaitSeconds: number;
  /** Probe pods and ephemeral containers sleep this long, then end by themselves even if cleanup never runs. */
  readonly sleepSeconds: number;
}

/** Where `kubectl exec` runs a probe. */
export interface ExecTarget {
  readonly namespace: string;
  /** `deploy/flash-api` or `pod/<name>`. */
  readonly target: string;
  readonly container?: string;
}

export function withContext(settings: Pick<KubectlSettings, "context">, args: readonly string[]): string[] {
  return settings.context === undefined ? [...args] : ["--context", settings.context, ...args];
}

export function currentContextArgs(): string[] {
  return ["config", "current-context"];
}

/** Reachability, credentials and the namespace in one read. */
export function namespaceArgs(namespace: string): string[] {
  return ["get", "namespace", namespace, "-o", "name"];
}

export function runningPodArgs(namespace: string, selector: string): string[] {
  return [
    "get",
    "pods",
    "-n",
    namespace,
    "-l",
    selector,
    "--field-selector=status.phase=Running",
    "-o",
    "jsonpath={.items[0].metadata.name}",
  ];
}

export function debugContainerName(runId: string): string {
  return `netpol-probe-${runId}`;
}

export function probePodName(source: ProbeSource, runId: string): string {
  return source.kind === "probePod" && source.role === "other-namespace"
    ? `netpol-probe-${runId}-other`
    : `netpol-probe-${runId}`;
}

/**
 * An ephemeral busybox container in the service's pod. It shares the pod's network namespace, so
 * the pod's NetworkPolicies apply to it exactly as to the application, and it brings nc and
 * nslookup to images that have no shell. It only sleeps: probes are `kubectl exec`s into it, whose
 * exit codes kubectl reports reliably (an attached `kubectl debug` does not).
 */
export function debugContainerArgs(
  settings: KubectlSettings,
  source: Extract<ProbeSource, { kind: "service" }>,
  pod: string,
): string[] {
  const target = settings.containers[source.service];
  return [
    "debug",
    "-n",
    source.namespace,
    `pod/${pod}`,
    `--image=${settings.image}`,
    `--container=${debugContainerName(settings.runId)}`,
    `--profile=${settings.debugProfile}`,
    ...(target === undefined ? [] : [`--target=${target}`]),
    "--",
    "sleep",
    String(settings.sleepSeconds),
  ];
}

/** Prints the ephemeral container's start time once it runs; empty until then. */
export function debugContainerRunningArgs(
  settings: KubectlSettings,
  namespace: string,
  pod: string,
): string[] {
  const name = debugContainerName(settings.runId);
  return [
    "get",
    "pod",
    pod,
    "-n",
    namespace,
    "-o",
    `jsonpath={.status.ephemeralContainerStatuses[?(@.name=="${name}")].state.running.startedAt}`,
  ];
}

export function runProbePodArgs(
  settings: KubectlSettings,
  source: Extract<ProbeSource, { kind: "probePod" }>,
): string[] {
  const labels = Object.entries(source.labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(",");
  return [
    "run",
    probePodName(source, settings.runId),
    "-n",
    source.namespace,
    `--image=${settings.image}`,
    "--restart=Never",
    `--labels=${labels}`,
    "--command",
    "--",
    "sleep",
    String(settings.sleepSeconds),
  ];
}

export function waitReadyArgs(namespace: string, pod: string, timeoutSeconds: number): string[] {
  return ["wait", "-n", namespace, "--for=condition=Ready", `pod/${pod}`, `--timeout=${timeoutSeconds}s`];
}

/** `--wait=false`: cleanup must not hang on a slow termination; the pod is gone either way. */
export function deletePodArgs(namespace: string, pod: string): string[] {
  return ["delete", "pod", pod, "-n", namespace, "--ignore-not-found", "--wait=false"];
}

/** Where a source's probes run, once its pod (for debug) is known. */
export function execTargetOf(
  settings: KubectlSettings,
  source: ProbeSource,
  resolvedPod: string | undefined,
): ExecTarget {
  if (source.kind === "probePod") {
    return { namespace: source.namespace, target: `pod/${probePodName(source, settings.runId)}` };
  }
  if (settings.method === "exec") {
    return {
      namespace: source.namespace,
      target: `deploy/${source.deployment}`,
      container: settings.containers[source.service],
    };
  }
  return {
    namespace: source.namespace,
    target: `pod/${resolvedPod ?? `<${source.service}-pod>`}`,
    container: debugContainerName(settings.runId),
  };
}

/**
 * The command inside the pod. `nc -z` completes the TCP handshake and sends nothing; `-v -v` makes
 * busybox print refusals too (one -v hides them), which is how refused tells from timed out.
 */
export function checkCommand(check: ProbeCheck, waitSeconds: number): string[] {
  switch (check.kind) {
    case "tcp":
      return ["nc", "-z", "-v", "-v", "-w", String(waitSeconds), check.host, String(check.port)];
    case "dns":
      return ["nslookup", `-timeout=${waitSeconds}`, "-retry=1", check.name];
  }
}

export function execArgs(target: ExecTarget, command: readonly string[]): string[] {
  return [
    "exec",
    "-n",
    target.namespace,
    target.target,
    ...(target.container === undefined ? [] : ["-c", target.container]),
    "--",
    ...command,
  ];
}

/** A vector as an operator would type it, for `--dry-run` and error messages only (never executed). */
export function renderCommand(args: readonly string[]): string {
  const quote = (arg: string) =>
    /^[A-Za-z0-9_./:=,@%+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
  return ["kubectl", ...args].map(quote).join(" ");
}
