/**
 * Every kubectl invocation of live verification, as argument vectors.
 *
 * Nothing here is a shell string: each value from config, AWS or a flag is one element of the
 * vector handed to spawn, so no label, host or name can turn into shell syntax. Pure functions,
 * shared by `--dry-run` (which prints them) and the live run (which executes them), so what the
 * operator reviews is what runs.
 */
import type { ServiceName } from "../core/flowTable";
import { PROBE_POD_LABEL, type ProbeCheck, type ProbeSource } from "./probe";

export const PROBE_METHODS = ["debug", "exec"] as const;
export type ProbeMethod = (typeof PROBE_METHODS)[number];

/**
 * busybox 1.36.1 (nc with -z/-w, nslookup) pinned by the digest of its multi-arch index on Docker
 * Hub, so every run probes with the same binaries. Private clusters mirror it to ECR and set
 * `probeImage` (docs/verify.md).
 */
export const DEFAULT_PROBE_IMAGE =
  "docker.io/library/busybox:1.36.1@sha256:73aaf090f3d85aa34ee199857f03fa3a95c8ede2ffd4cc2cdb5b94e566b11662";
/** Probe pods and probe containers run as nobody: PodSecurity restricted and runAsNonRoot pods need a non-root UID, and busybox's is root. */
export const PROBE_UID = 65534;
export const PROBE_RUN_LABEL_KEY = "flash-netpol/probe-run";

export interface KubectlSettings {
  /** `--context` for every call; undefined uses the kubeconfig's current context. */
  readonly context?: string;
  readonly image: string;
  readonly method: ProbeMethod;
  /** kubectl debug's security profile for the ephemeral container. */
  readonly debugProfile: string;
  /** `kubectl debug --custom` file (kubectl >= 1.31) that sets the non-root UID on top of the profile. */
  readonly customProfileFile?: string;
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

/** Reachability, credentials and the namespace (its PodSecurity label) in one read. */
export function namespaceArgs(namespace: string): string[] {
  return ["get", "namespace", namespace, "-o", "json"];
}

/** Service ports, ClusterIPs and ready endpoints: where a probe must aim. */
export function servicesAndSlicesArgs(namespace: string): string[] {
  return ["get", "services,endpointslices", "-n", namespace, "-o", "json"];
}

/**
 * The namespace's pods: sources for the debug method and destination pod IPs. JSON, not a
 * `{.items[0]...}` jsonpath, which fails with an index error when no pod matches.
 */
export function podsArgs(namespace: string): string[] {
  return ["get", "pods", "-n", namespace, "-o", "json"];
}

/** One pod's status: container states (waiting reasons) and its IP. */
export function podArgs(namespace: string, pod: string): string[] {
  return ["get", "pod", pod, "-n", namespace, "-o", "json"];
}

/** The EKS network policy controller's resolved policies (networking.k8s.aws/v1alpha1). */
export function policyEndpointsArgs(namespace: string): string[] {
  return ["get", "policyendpoints.networking.k8s.aws", "-n", namespace, "-o", "json"];
}

/** EKS cluster network policies (cluster-scoped): the Admin tier decides before any NetworkPolicy. */
export function clusterNetworkPoliciesArgs(): string[] {
  return ["get", "clusternetworkpolicies.networking.k8s.aws", "-o", "json"];
}

/** The namespace's ApplicationNetworkPolicies (namespace tier, beside the NetworkPolicies). */
export function applicationNetworkPoliciesArgs(namespace: string): string[] {
  return ["get", "applicationnetworkpolicies.networking.k8s.aws", "-n", namespace, "-o", "json"];
}

/** The aws-node DaemonSet: container aws-eks-nodeagent's image names the network policy agent version. */
export function awsNodeArgs(): string[] {
  return ["get", "daemonset", "aws-node", "-n", "kube-system", "-o", "json"];
}

/** The partial container spec `--custom` merges over the debug profile. */
export function customProfile(): { securityContext: { runAsUser: number; runAsGroup: number } } {
  return { securityContext: { runAsUser: PROBE_UID, runAsGroup: PROBE_UID } };
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
    ...(settings.customProfileFile === undefined ? [] : [`--custom=${settings.customProfileFile}`]),
    ...(target === undefined ? [] : [`--target=${target}`]),
    "--",
    "sleep",
    String(settings.sleepSeconds),
  ];
}

export function runProbePodArgs(
  settings: KubectlSettings,
  source: Extract<ProbeSource, { kind: "probePod" }>,
): string[] {
  const name = probePodName(source, settings.runId);
  const labels = Object.entries({ ...source.labels, [PROBE_RUN_LABEL_KEY]: settings.runId })
    .map(([key, value]) => `${key}=${value}`)
    .join(",");
  const command = ["sleep", String(settings.sleepSeconds)];
  // What PodSecurity "restricted" requires, and a UID busybox does not have by itself. The default
  // --override-type is a JSON merge patch (RFC 7396): the container list is replaced, so it is whole.
  const overrides = {
    apiVersion: "v1",
    spec: {
      securityContext: {
        runAsNonRoot: true,
        runAsUser: PROBE_UID,
        runAsGroup: PROBE_UID,
        seccompProfile: { type: "RuntimeDefault" },
      },
      containers: [
        {
          name,
          image: settings.image,
          command,
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
        },
      ],
    },
  };
  return [
    "run",
    name,
    "-n",
    source.namespace,
    `--image=${settings.image}`,
    "--restart=Never",
    `--labels=${labels}`,
    `--overrides=${JSON.stringify(overrides)}`,
    "--command",
    "--",
    ...command,
  ];
}

/** The selector of this run's probe pods; `--cleanup` uses the label every run's pods wear. */
export function runSelector(runId: string): string {
  return `${PROBE_RUN_LABEL_KEY}=${runId}`;
}
export const ANY_RUN_SELECTOR = `${PROBE_POD_LABEL.key}=${PROBE_POD_LABEL.value}`;

/**
 * By label, so a pod whose create was interrupted is still found. `--wait=false`: cleanup must not
 * hang; `--grace-period=1`: PID 1 `sleep` ignores SIGTERM, so the default 30 s would all go by.
 */
export function deletePodsArgs(namespace: string, selector: string): string[] {
  return [
    "delete",
    "pods",
    "-n",
    namespace,
    "-l",
    selector,
    "--ignore-not-found",
    "--wait=false",
    "--grace-period=1",
  ];
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
