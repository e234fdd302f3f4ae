/**
 * A simulated EKS cluster behind the CommandRunner interface: it answers kubectl argument vectors
 * from the recorded reads in fixtures/k8s/<stack>.json, and reproduces what the real components
 * do with them (each traced in docs/fidelity/kubectl.md, "kubectl, busybox and the cluster (verify)"):
 *  - kubectl: `-o json` reads, the jsonpath index error on `{.items[0]...}` over an empty list,
 *    `debug --profile` securityContexts (profiles.go), `--custom` merged on top, `run --overrides`;
 *  - PodSecurity admission of the whole pod, ephemeral containers included, at the namespace's
 *    `pod-security.kubernetes.io/enforce` level, with the upstream Forbidden text;
 *  - the kubelet: an image it cannot pull waits in ErrImagePull; runAsNonRoot with an image that
 *    runs as root waits in CreateContainerConfigError;
 *  - kube-proxy: a ClusterIP port with no rule drops the SYN (timeout), a Service without ready
 *    endpoints is rejected (Connection refused), otherwise the connection goes to a ready pod's
 *    targetPort;
 *  - the VPC CNI agent in standard mode: a new pod is allow-all until the PolicyEndpoints of the
 *    policies selecting it list its IP, which happens after `agentLagReads` reads of them;
 *  - busybox nc and nslookup output as kubectl exec relays it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { CommandResult, CommandRunner, RunOptions } from "../../verify/commandRunner";

export type Answer = "open" | "refused" | "timeout";

/** What the policies do with one connection; `service` is set when the destination is a service pod. */
export type Destination =
  | { readonly kind: "pod"; readonly service: string; readonly ip: string }
  | { readonly kind: "host"; readonly host: string }
  | { readonly kind: "dns" };
export type Network = (source: string, destination: Destination, port: number) => Answer;

interface Json {
  [key: string]: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface SimulatedClusterOptions {
  readonly stack: string;
  readonly network: Network;
  /** PodSecurity level of namespaces other than the stack's (which has its recorded label). */
  readonly otherNamespaceLevel?: "privileged" | "baseline" | "restricted";
  /** Images the nodes cannot pull (a private cluster and Docker Hub, a typo). */
  readonly unpullable?: (image: string) => boolean;
  /** The UID an image runs as when nothing sets runAsUser: busybox's is 0 (root). */
  readonly imageUser?: (image: string) => number;
  /** kubectl older than 1.31 has no `debug --custom` flag. */
  readonly kubectlHasCustom?: boolean;
  /** How many PolicyEndpoints reads pass before the agent lists a new pod (Infinity: never). */
  readonly agentLagReads?: number;
  /** Service pods to drop from the recorded cluster (no Running pod of that service). */
  readonly withoutPodsOf?: readonly string[];
  /** Services whose EndpointSlices list no ready endpoint. */
  readonly notReady?: readonly string[];
}

const ok = (stdout = ""): CommandResult => ({
  exitCode: 0,
  stdout,
  stderr: "",
  elapsedMs: 50,
  timedOut: false,
  aborted: false,
});
const failure = (stderr: string, exitCode = 1, elapsedMs = 50): CommandResult => ({
  exitCode,
  stdout: "",
  stderr,
  elapsedMs,
  timedOut: false,
  aborted: false,
});

const BASELINE_CAPABILITIES = new Set([
  "AUDIT_WRITE",
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "MKNOD",
  "NET_BIND_SERVICE",
  "SETFCAP",
  "SETGID",
  "SETPCAP",
  "SETUID",
  "SYS_CHROOT",
]);

/** kubectl debug's profiles for an ephemeral container (kubectl pkg/cmd/debug/profiles.go). */
function profileSecurityContext(profile: string): Json | undefined | "unknown" {
  switch (profile) {
    case "legacy":
      return undefined;
    case "general":
      return { capabilities: { add: ["SYS_PTRACE"] } };
    case "baseline":
      return undefined;
    case "restricted":
      return {
        runAsNonRoot: true,
        capabilities: { drop: ["ALL"] },
        allowPrivilegeEscalation: false,
        seccompProfile: { type: "RuntimeDefault" },
      };
    case "netadmin":
      return { capabilities: { add: ["NET_ADMIN", "NET_RAW"] } };
    case "sysadmin":
      return { privileged: true };
    default:
      return "unknown";
  }
}

function merge(base: Json | undefined, patch: Json | undefined): Json | undefined {
  if (patch === undefined) return base;
  if (base === undefined) return structuredClone(patch);
  const out: Json = structuredClone(base);
  for (const [key, value] of Object.entries(patch)) {
    out[key] =
      value !== null && typeof value === "object" && !Array.isArray(value)
        ? merge(out[key] as Json | undefined, value as Json)
        : value;
  }
  return out;
}

const quoteList = (items: readonly string[]) => items.map((item) => `"${item}"`).join(", ");
const containers = (n: number) => (n === 1 ? "container" : "containers");

/** PodSecurity's checks at one level over a pod spec, in the upstream wording (policy/check_*.go). */
export function podSecurityViolations(level: string, spec: Json): string[] {
  if (level === "privileged") return [];
  const all: Json[] = [...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])];
  const podContext: Json = spec.securityContext ?? {};
  const problems: string[] = [];
  const badCaps = new Set<string>();
  const capContainers: string[] = [];
  for (const container of all) {
    const added: string[] = container.securityContext?.capabilities?.add ?? [];
    const bad = added.filter((cap) => !BASELINE_CAPABILITIES.has(cap));
    if (bad.length > 0) {
      capContainers.push(container.name);
      bad.forEach((cap) => badCaps.add(cap));
    }
  }
  const privileged = all.filter((c) => c.securityContext?.privileged === true).map((c) => c.name);
  if (privileged.length > 0) {
    problems.push(
      `privileged (${containers(privileged.length)} ${quoteList(privileged)} must not set securityContext.privileged=true)`,
    );
  }
  if (capContainers.length > 0) {
    problems.push(
      `non-default capabilities (${containers(capContainers.length)} ${quoteList(capContainers)} must not include ${quoteList([...badCaps].sort())} in securityContext.capabilities.add)`,
    );
  }
  if (level === "baseline") return problems;
  const escalating = all
    .filter((c) => c.securityContext?.allowPrivilegeEscalation !== false)
    .map((c) => c.name);
  if (escalating.length > 0) {
    problems.push(
      `allowPrivilegeEscalation != false (${containers(escalating.length)} ${quoteList(escalating)} must set securityContext.allowPrivilegeEscalation=false)`,
    );
  }
  const noDropAll = all
    .filter((c) => !(c.securityContext?.capabilities?.drop ?? []).includes("ALL"))
    .map((c) => c.name);
  if (noDropAll.length > 0) {
    problems.push(
      `unrestricted capabilities (${containers(noDropAll.length)} ${quoteList(noDropAll)} must set securityContext.capabilities.drop=["ALL"])`,
    );
  }
  const notNonRoot = all
    .filter((c) => (c.securityContext?.runAsNonRoot ?? podContext.runAsNonRoot) !== true)
    .map((c) => c.name);
  if (notNonRoot.length > 0) {
    problems.push(
      `runAsNonRoot != true (pod or ${containers(notNonRoot.length)} ${quoteList(notNonRoot)} must set securityContext.runAsNonRoot=true)`,
    );
  }
  const noSeccomp = all
    .filter((c) => {
      const type = (c.securityContext?.seccompProfile ?? podContext.seccompProfile)?.type;
      return type !== "RuntimeDefault" && type !== "Localhost";
    })
    .map((c) => c.name);
  if (noSeccomp.length > 0) {
    problems.push(
      `seccompProfile (pod or ${containers(noSeccomp.length)} ${quoteList(noSeccomp)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`,
    );
  }
  return problems;
}

interface SimPod extends Json {
  metadata: { name: string; namespace: string; labels: Record<string, string> };
}

export class SimulatedCluster implements CommandRunner {
  readonly calls: string[][] = [];
  readonly fixture: Json;
  readonly pods: SimPod[];
  /** Return a result to override the normal answer of one call. */
  override: (args: readonly string[]) => CommandResult | undefined = () => undefined;
  onCall: (args: readonly string[], options: RunOptions) => void = () => undefined;
  private policyEndpointReads = 0;
  private readonly listedAt = new Map<string, number>();
  private nextIp = 200;

  constructor(readonly options: SimulatedClusterOptions) {
    const file = path.resolve(__dirname, "..", "..", "fixtures", "k8s", `${options.stack}.json`);
    this.fixture = JSON.parse(fs.readFileSync(file, "utf8")) as Json;
    this.pods = (this.fixture.pods.items as SimPod[]).filter(
      (pod) => !(options.withoutPodsOf ?? []).includes(pod.metadata.labels.app),
    );
    for (const slice of this.fixture.endpointSlices.items as Json[]) {
      if ((options.notReady ?? []).includes(slice.metadata.labels["kubernetes.io/service-name"])) {
        for (const endpoint of slice.endpoints as Json[]) endpoint.conditions.ready = false;
      }
    }
  }

  get namespace(): string {
    return this.fixture.namespace.metadata.name as string;
  }

  commandsOf(verb: string): string[][] {
    return this.calls
      .map((call) => (call[0] === "--context" ? call.slice(2) : call))
      .filter((c) => c[0] === verb);
  }

  probePods(): SimPod[] {
    return this.pods.filter((pod) => pod.metadata.labels["flash-netpol/probe"] === "true");
  }

  async run(args: readonly string[], options: RunOptions): Promise<CommandResult> {
    this.calls.push([...args]);
    this.onCall(args, options);
    const plain = args[0] === "--context" ? args.slice(2) : [...args];
    if (options.signal?.aborted && plain[0] === "exec") {
      return { exitCode: null, stdout: "", stderr: "", elapsedMs: 5, timedOut: false, aborted: true };
    }
    const overridden = this.override(plain);
    if (overridden !== undefined) return overridden;
    switch (plain[0]) {
      case "config":
        return ok("arn:aws:eks:ap-northeast-2:111122223333:cluster/flash-prod\n");
      case "get":
        return this.get(plain);
      case "debug":
        return this.debug(plain);
      case "run":
        return this.runPod(plain);
      case "wait":
        return this.wait(plain);
      case "delete":
        return this.delete(plain);
      case "exec":
        return this.exec(plain);
      default:
        return failure(`error: unknown command "${plain[0]}" for "kubectl"`);
    }
  }

  private flag(args: readonly string[], name: string): string | undefined {
    const inline = args.find((arg) => arg.startsWith(`${name}=`));
    if (inline !== undefined) return inline.slice(name.length + 1);
    const at = args.indexOf(name);
    return at >= 0 ? args[at + 1] : undefined;
  }

  private levelOf(namespace: string): string {
    if (namespace === this.namespace) {
      return this.fixture.namespace.metadata.labels["pod-security.kubernetes.io/enforce"] ?? "privileged";
    }
    return this.options.otherNamespaceLevel ?? "privileged";
  }

  private namespaceObject(name: string): Json {
    if (name === this.namespace) return this.fixture.namespace as Json;
    const labels: Record<string, string> = { "kubernetes.io/metadata.name": name };
    if (this.options.otherNamespaceLevel !== undefined) {
      labels["pod-security.kubernetes.io/enforce"] = this.options.otherNamespaceLevel;
    }
    return { apiVersion: "v1", kind: "Namespace", metadata: { name, labels } };
  }

  private matches(labels: Record<string, string>, selector: string | undefined): boolean {
    if (selector === undefined) return true;
    return selector.split(",").every((pair) => {
      const [key, value] = pair.split("=");
      return labels[key] === value;
    });
  }

  private list(items: readonly Json[]): Json {
    return { apiVersion: "v1", kind: "List", metadata: { resourceVersion: "" }, items };
  }

  /** The few jsonpath templates verify has ever used, evaluated as client-go's jsonpath does. */
  private jsonpath(template: string, object: Json): CommandResult {
    const indexed = /^\{\.items\[(\d+)\]\.metadata\.name\}$/.exec(template);
    if (indexed !== null) {
      const index = Number(indexed[1]);
      const items = object.items as Json[];
      if (index >= items.length) {
        // cli-runtime pkg/printers/jsonpath.go + client-go util/jsonpath/jsonpath.go
        return failure(
          `error: error executing jsonpath "${template}": Error executing template: array index out of bounds: index ${index}, length ${items.length}. Printing more information for debugging the template:\n\ttemplate was:\n\t\t${template}\n\tobject given to jsonpath engine was:\n\t\t${JSON.stringify(object)}\n\n`,
        );
      }
      return ok(items[index].metadata.name as string);
    }
    if (template === "{.items[*].metadata.name}") {
      return ok((object.items as Json[]).map((item) => item.metadata.name as string).join(" "));
    }
    const ephemeral =
      /^\{\.status\.ephemeralContainerStatuses\[\?\(@\.name=="([^"]+)"\)\]\.state\.running\.startedAt\}$/.exec(
        template,
      );
    if (ephemeral !== null) {
      const status = (object.status.ephemeralContainerStatuses ?? []).find(
        (candidate: Json) => candidate.name === ephemeral[1],
      );
      return ok((status?.state?.running?.startedAt as string | undefined) ?? "");
    }
    return failure(`simulated kubectl: unsupported jsonpath ${template}`);
  }

  private output(args: readonly string[], object: Json): CommandResult {
    const format = this.flag(args, "-o") ?? "";
    if (format === "json") return ok(`${JSON.stringify(object, null, 2)}\n`);
    if (format === "name") return ok(`${String(object.kind).toLowerCase()}/${object.metadata.name}\n`);
    if (format.startsWith("jsonpath=")) return this.jsonpath(format.slice("jsonpath=".length), object);
    return failure(`simulated kubectl: unsupported output ${format}`);
  }

  private get(args: readonly string[]): CommandResult {
    const namespace = this.flag(args, "-n") ?? "default";
    const kind = args[1];
    if (kind === "namespace") return this.output(args, this.namespaceObject(args[2]));
    if (kind === "services,endpointslices" || kind === "svc,endpointslices") {
      const inNamespace = namespace === this.namespace;
      return this.output(
        args,
        this.list(
          inNamespace
            ? [
                ...(this.fixture.services.items as Json[]).map((item) => ({
                  apiVersion: "v1",
                  kind: "Service",
                  ...item,
                })),
                ...(this.fixture.endpointSlices.items as Json[]),
              ]
            : [],
        ),
      );
    }
    if (kind === "policyendpoints.networking.k8s.aws") {
      this.policyEndpointReads += 1;
      return this.output(args, this.list(this.policyEndpoints(namespace)));
    }
    if (kind === "pods") {
      const selector = this.flag(args, "-l");
      const running = args.includes("--field-selector=status.phase=Running");
      const items = this.pods.filter(
        (pod) =>
          pod.metadata.namespace === namespace &&
          this.matches(pod.metadata.labels, selector) &&
          (!running || pod.status.phase === "Running"),
      );
      return this.output(args, this.list(items));
    }
    if (kind === "pod") {
      const pod = this.pods.find(
        (candidate) => candidate.metadata.name === args[2] && candidate.metadata.namespace === namespace,
      );
      if (pod === undefined) return failure(`Error from server (NotFound): pods "${args[2]}" not found\n`);
      return this.output(args, pod);
    }
    return failure(`simulated kubectl: unsupported get ${kind}`);
  }

  /** The recorded PolicyEndpoints, with each new pod added once the agent has caught up. */
  private policyEndpoints(namespace: string): Json[] {
    const recorded = structuredClone(this.fixture.policyEndpoints.items as Json[]).filter(
      (item) => item.metadata.namespace === namespace,
    );
    for (const pod of this.probePods()) {
      const listedAt = this.listedAt.get(pod.metadata.name);
      if (listedAt === undefined || this.policyEndpointReads < listedAt) continue;
      for (const endpoint of recorded) {
        const selector: Record<string, string> = endpoint.spec.podSelector?.matchLabels ?? {};
        if (pod.metadata.namespace !== namespace) continue;
        if (Object.entries(selector).every(([key, value]) => pod.metadata.labels[key] === value)) {
          endpoint.spec.podSelectorEndpoints.push({
            hostIP: pod.status.hostIP,
            podIP: pod.status.podIP,
            name: pod.metadata.name,
            namespace: pod.metadata.namespace,
          });
        }
      }
    }
    return recorded;
  }

  /**
   * Whether the agent enforces a new pod's own policies yet (standard mode: its egress is open
   * until then). A pod no policy selects has nothing to load; destinations' ingress always applies.
   */
  private enforced(pod: SimPod): boolean {
    if (pod.metadata.labels["flash-netpol/probe"] !== "true") return true;
    const selected = (this.fixture.policyEndpoints.items as Json[]).some(
      (endpoint) =>
        endpoint.metadata.namespace === pod.metadata.namespace &&
        Object.entries((endpoint.spec.podSelector?.matchLabels ?? {}) as Record<string, string>).every(
          ([key, value]) => pod.metadata.labels[key] === value,
        ),
    );
    if (!selected) return true;
    const listedAt = this.listedAt.get(pod.metadata.name) ?? Infinity;
    return this.policyEndpointReads >= listedAt;
  }

  /** The kubelet's verdict on starting a container: a waiting reason, or running. */
  private containerState(image: string, context: Json | undefined, podContext: Json): Json {
    if (this.options.unpullable?.(image) ?? false) {
      return {
        waiting: {
          reason: "ErrImagePull",
          message: `failed to pull and unpack image "${image}": failed to resolve reference "${image}": unexpected status from HEAD request: 429 Too Many Requests`,
        },
      };
    }
    const runAsNonRoot = context?.runAsNonRoot ?? podContext.runAsNonRoot;
    const user = context?.runAsUser ?? podContext.runAsUser ?? this.options.imageUser?.(image) ?? 0;
    if (runAsNonRoot === true && user === 0) {
      return {
        waiting: {
          reason: "CreateContainerConfigError",
          message: "container has runAsNonRoot and image will run as root",
        },
      };
    }
    return { running: { startedAt: "2026-11-26T21:40:00Z" } };
  }

  private debug(args: readonly string[]): CommandResult {
    const namespace = this.flag(args, "-n") ?? "default";
    const target = args.find((arg) => arg.startsWith("pod/"))?.slice(4);
    const pod = this.pods.find(
      (candidate) => candidate.metadata.name === target && candidate.metadata.namespace === namespace,
    );
    if (pod === undefined) return failure(`Error from server (NotFound): pods "${target}" not found\n`);
    const image = this.flag(args, "--image") ?? "";
    const name = this.flag(args, "--container") ?? "debugger";
    const profile = this.flag(args, "--profile") ?? "legacy";
    const custom = this.flag(args, "--custom");
    if (custom !== undefined && this.options.kubectlHasCustom === false) {
      return failure("error: unknown flag: --custom\nSee 'kubectl debug --help' for usage.\n");
    }
    let context = profileSecurityContext(profile);
    if (context === "unknown") return failure(`error: unknown profile: ${profile}\n`);
    if (custom !== undefined) {
      const partial = JSON.parse(fs.readFileSync(custom, "utf8")) as Json;
      context = merge(context, partial.securityContext as Json | undefined);
    }
    const container: Json = { name, image, ...(context === undefined ? {} : { securityContext: context }) };
    const spec: Json = {
      ...pod.spec,
      ephemeralContainers: [...(pod.spec.ephemeralContainers ?? []), container],
    };
    const violations = podSecurityViolations(this.levelOf(namespace), spec);
    if (violations.length > 0) {
      return failure(
        `Error from server (Forbidden): pods "${pod.metadata.name}" is forbidden: violates PodSecurity "${this.levelOf(namespace)}:latest": ${violations.join(", ")}\n`,
      );
    }
    pod.spec.ephemeralContainers = spec.ephemeralContainers;
    pod.status.ephemeralContainerStatuses = [
      ...(pod.status.ephemeralContainerStatuses ?? []),
      { name, image, state: this.containerState(image, context, pod.spec.securityContext ?? {}) },
    ];
    return ok(`Defaulting debug container name to ${name}.\n`);
  }

  private runPod(args: readonly string[]): CommandResult {
    const name = args[1];
    const namespace = this.flag(args, "-n") ?? "default";
    const image = this.flag(args, "--image") ?? "";
    const labels = Object.fromEntries(
      (this.flag(args, "--labels") ?? "")
        .split(",")
        .filter(Boolean)
        .map((pair) => pair.split("=") as [string, string]),
    );
    const overrides = JSON.parse(this.flag(args, "--overrides") ?? "{}") as Json;
    const spec: Json = merge({ containers: [{ name, image }] }, overrides.spec as Json | undefined) ?? {};
    const violations = podSecurityViolations(this.levelOf(namespace), spec);
    if (violations.length > 0) {
      return failure(
        `Error from server (Forbidden): pods "${name}" is forbidden: violates PodSecurity "${this.levelOf(namespace)}:latest": ${violations.join(", ")}\n`,
      );
    }
    const container = (spec.containers as Json[])[0];
    const state = this.containerState(
      image,
      container.securityContext as Json | undefined,
      spec.securityContext ?? {},
    );
    const ip = `10.30.99.${this.nextIp++}`;
    this.pods.push({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace, labels },
      spec,
      status: {
        phase: state.running ? "Running" : "Pending",
        hostIP: "10.30.99.7",
        podIP: ip,
        conditions: [{ type: "Ready", status: state.running ? "True" : "False" }],
        containerStatuses: [{ name: container.name, image, ready: state.running !== undefined, state }],
      },
    });
    this.listedAt.set(name, this.policyEndpointReads + (this.options.agentLagReads ?? 0));
    return ok(`pod/${name} created\n`);
  }

  private wait(args: readonly string[]): CommandResult {
    const namespace = this.flag(args, "-n") ?? "default";
    const target = args.find((arg) => arg.startsWith("pod/"))?.slice(4);
    const pod = this.pods.find(
      (candidate) => candidate.metadata.name === target && candidate.metadata.namespace === namespace,
    );
    if (pod === undefined) return failure(`Error from server (NotFound): pods "${target}" not found\n`);
    if (pod.status.phase === "Running") return ok(`pod/${target} condition met\n`);
    // kubectl wait polls until its own --timeout: the whole budget goes by.
    return failure(`error: timed out waiting for the condition on pods/${target}\n`, 1, 90_000);
  }

  private delete(args: readonly string[]): CommandResult {
    const namespace = this.flag(args, "-n") ?? "default";
    const selector = this.flag(args, "-l");
    const before = this.pods.length;
    const gone = this.pods.filter(
      (pod) =>
        pod.metadata.namespace === namespace &&
        (selector !== undefined
          ? this.matches(pod.metadata.labels, selector)
          : pod.metadata.name === args[2]),
    );
    for (const pod of gone) this.pods.splice(this.pods.indexOf(pod), 1);
    if (gone.length === 0 && selector !== undefined) return ok("No resources found\n");
    return ok(gone.map((pod) => `pod "${pod.metadata.name}" deleted\n`).join("") || (before ? "" : ""));
  }

  private sourceOf(target: string, namespace: string): { key: string; pod?: SimPod } {
    const name = target.replace(/^(pod|deploy)\//, "");
    if (target.startsWith("deploy/")) return { key: name };
    const pod = this.pods.find(
      (candidate) => candidate.metadata.name === name && candidate.metadata.namespace === namespace,
    );
    if (pod === undefined) return { key: name };
    if (pod.metadata.labels["flash-netpol/probe"] === "true") {
      return { key: namespace === this.namespace ? "probe-pod" : `probe-pod@${namespace}`, pod };
    }
    return { key: pod.metadata.labels.app, pod };
  }

  private exec(args: readonly string[]): CommandResult {
    const namespace = this.flag(args, "-n") ?? "default";
    const target = args[3];
    const { key, pod } = this.sourceOf(target, namespace);
    if (target.startsWith("pod/") && pod === undefined) {
      return failure(`Error from server (NotFound): pods "${target.slice(4)}" not found\n`);
    }
    const command = args.slice(args.indexOf("--") + 1);
    const network = this.options.network;
    const policies: Network =
      pod !== undefined && !this.enforced(pod)
        ? (from, destination, port) =>
            destination.kind === "pod" ? network(from, destination, port) : "open"
        : network;
    if (command[0] === "nslookup") {
      const name = command[command.length - 1];
      return policies(key, { kind: "dns" }, 53) === "timeout"
        ? {
            ...failure("command terminated with exit code 1\n", 1, 3100),
            stdout: ";; connection timed out; no servers could be reached\n\n",
          }
        : ok(`Server:\t\t172.20.0.10\nAddress:\t172.20.0.10:53\n\nName:\t${name}\nAddress: 172.20.0.1\n`);
    }
    const [host, portText] = command.slice(-2);
    const port = Number(portText);
    const answer = this.connect(key, policies, host, port);
    if (answer.kind === "bad-address") {
      return failure(`nc: bad address '${host}'\ncommand terminated with exit code 1\n`);
    }
    const where = `${host} (${answer.ip}:${port})`;
    switch (answer.answer) {
      case "open":
        return { ...ok(), stderr: `${where} open\nsent 0, rcvd 0\n` };
      case "refused":
        return failure(
          `nc: ${where}: Connection refused\nsent 0, rcvd 0\ncommand terminated with exit code 1\n`,
        );
      case "timeout":
        return failure(
          `nc: ${where}: Connection timed out\nsent 0, rcvd 0\ncommand terminated with exit code 1\n`,
          1,
          3100,
        );
    }
  }

  /** Name resolution, kube-proxy and then the policies, for one TCP connection. */
  private connect(
    source: string,
    policies: Network,
    host: string,
    port: number,
  ): { kind: "bad-address" } | { kind: "answer"; ip: string; answer: Answer } {
    const services = this.fixture.services.items as Json[];
    const serviceName = new RegExp(`^([a-z0-9-]+)\\.${this.namespace}\\.svc\\.cluster\\.local$`).exec(host);
    let ip = host;
    if (serviceName !== null) {
      const service = services.find((candidate) => candidate.metadata.name === serviceName[1]);
      if (service === undefined) return { kind: "bad-address" };
      ip = service.spec.clusterIP as string;
    } else if (host === "kube-dns.kube-system.svc.cluster.local") {
      ip = this.fixture.kubeDnsService.spec.clusterIP as string;
      return { kind: "answer", ip, answer: policies(source, { kind: "host", host }, port) };
    } else if (!/^\d+\.\d+\.\d+\.\d+$/.test(host)) {
      return { kind: "answer", ip: "203.0.113.10", answer: policies(source, { kind: "host", host }, port) };
    }
    const service = services.find((candidate) => candidate.spec.clusterIP === ip);
    if (service !== undefined) {
      const servicePort = (service.spec.ports as Json[]).find((candidate) => candidate.port === port);
      // No iptables rule for this ClusterIP:port: the packet is not translated and goes nowhere.
      if (servicePort === undefined) return { kind: "answer", ip, answer: "timeout" };
      const slices = (this.fixture.endpointSlices.items as Json[]).filter(
        (slice) => slice.metadata.labels["kubernetes.io/service-name"] === service.metadata.name,
      );
      const ready = slices.flatMap((slice) =>
        (slice.endpoints as Json[]).filter((endpoint) => endpoint.conditions.ready === true),
      );
      // kube-proxy REJECTs a Service without ready endpoints: nc sees "Connection refused".
      if (ready.length === 0) return { kind: "answer", ip, answer: "refused" };
      return {
        kind: "answer",
        ip,
        answer: this.toPod(
          source,
          policies,
          ready[0].addresses[0] as string,
          servicePort.targetPort as number,
        ),
      };
    }
    const destination = this.pods.find((candidate) => candidate.status.podIP === ip);
    if (destination !== undefined) {
      return { kind: "answer", ip, answer: this.toPod(source, policies, ip, port) };
    }
    return { kind: "answer", ip, answer: policies(source, { kind: "host", host }, port) };
  }

  private toPod(source: string, policies: Network, ip: string, port: number): Answer {
    const pod = this.pods.find((candidate) => candidate.status.podIP === ip);
    const service = pod?.metadata.labels.app ?? "unknown";
    const answer = policies(source, { kind: "pod", service, ip }, port);
    if (answer !== "open") return answer;
    const listens = (pod?.spec.containers as Json[] | undefined)?.some((container) =>
      (container.ports ?? []).some((candidate: Json) => candidate.containerPort === port),
    );
    return listens ? "open" : "refused";
  }
}
