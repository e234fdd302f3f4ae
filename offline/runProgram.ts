/**
 * Runs the real Pulumi program (index.ts) in-process under Pulumi's mock runtime.
 *
 * Config comes from the stack file exactly as the CLI would pass it, AWS data-source calls are
 * answered from the stack's recorded aws CLI fixture, and every resource registration is captured
 * with what the engine would see: inputs, parent, dependencies, provider and options. The program
 * itself knows nothing of this; it runs as it would under `pulumi preview`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import type { NetworkPolicyManifest } from "../components/networkPolicies";
import { AwsFixtureAnswers, loadAwsFixture, type AwsFixture } from "./awsFixtures";

export const PROJECT_ROOT = path.resolve(__dirname, "..");
export const PROJECT_NAME = "flash-netpol";

export interface ResourceOptionsSeen {
  protect: boolean;
  ignoreChanges: string[];
  deleteBeforeReplace: boolean;
  additionalSecretOutputs: string[];
  aliases: string[];
  customTimeouts?: { create: string; update: string; delete: string };
}

/** A resource as the engine sees it when the program registers it. */
export interface RegisteredResource {
  type: string;
  name: string;
  urn: string;
  custom: boolean;
  inputs: Record<string, unknown>;
  parent?: string;
  dependencies: string[];
  /** The provider reference, `urn::id`, as the engine receives it. */
  provider?: string;
  options: ResourceOptionsSeen;
  /** What a component registered with registerOutputs: the engine's state for it, as analyzeStack sees it. */
  outputs?: Record<string, unknown>;
}

export interface AwsCallRecord {
  token: string;
  args: Record<string, unknown>;
  startedMs: number;
  endedMs: number;
  failed: boolean;
}

/** What a test can make an AWS call do instead of answering from the fixture. */
export type AwsFault = { kind: "error"; message: string } | { kind: "hang" };

export interface RunOptions {
  stack: string;
  /** Defaults to Pulumi.<stack>.yaml at the project root. */
  stackFile?: string;
  /** Replaces or adds config keys (fully qualified) after the stack file is read; `undefined` removes a key. */
  configOverrides?: Record<string, unknown>;
  /** Defaults to fixtures/aws/<stack>.json. */
  fixture?: string | AwsFixture;
  /** Every AWS answer arrives after this long, to measure how lookups overlap. */
  awsDelayMs?: number;
  awsFault?: (token: string, args: Record<string, unknown>) => AwsFault | undefined;
  /** Defaults to fixtures/k8s/<stack>.json: what the cluster answers to read-only resource reads. */
  kubernetesFixture?: string | KubernetesFixture;
  preview?: boolean;
}

interface KubernetesObject {
  kind?: string;
  metadata: { name: string; namespace?: string };
}

interface KubernetesList {
  items: KubernetesObject[];
}

/**
 * What the cluster answers to read-only reads, one key per kubectl command (fixtures/k8s/<stack>.json
 * names each command under `commands`): the namespace, its Deployments, Services and EndpointSlices,
 * and kube-system's kube-dns Service.
 */
export interface KubernetesFixture {
  description?: string;
  commands?: Record<string, string>;
  namespace?: KubernetesObject;
  deployments: KubernetesList;
  services?: KubernetesList;
  kubeDnsService?: KubernetesObject;
  endpointSlices?: KubernetesList;
}

export function loadKubernetesFixture(
  stack: string,
  given: RunOptions["kubernetesFixture"],
): KubernetesFixture {
  if (typeof given === "object") return given;
  const file = given ?? path.join(PROJECT_ROOT, "fixtures", "k8s", `${stack}.json`);
  if (given === undefined && !fs.existsSync(file)) return { deployments: { items: [] } };
  return JSON.parse(fs.readFileSync(file, "utf8")) as KubernetesFixture;
}

/** Every object the fixture holds, whichever command printed it. */
export function kubernetesFixtureObjects(fixture: KubernetesFixture): KubernetesObject[] {
  return [
    ...(fixture.namespace ? [{ kind: "Namespace", ...fixture.namespace }] : []),
    ...fixture.deployments.items.map((item) => ({ kind: "Deployment", ...item })),
    ...(fixture.services?.items ?? []).map((item) => ({ kind: "Service", ...item })),
    ...(fixture.kubeDnsService ? [{ kind: "Service", ...fixture.kubeDnsService }] : []),
    ...(fixture.endpointSlices?.items ?? []).map((item) => ({ kind: "EndpointSlice", ...item })),
  ];
}

/** A read of an existing Kubernetes object, answered like the provider's read: the live object, or not found. */
function readKubernetesObject(fixture: KubernetesFixture, type: string, id: string): Record<string, unknown> {
  const kind = type.split(":").pop();
  const [namespace, name] = id.includes("/") ? id.split("/", 2) : ["default", id];
  const found = kubernetesFixtureObjects(fixture).find(
    (item) =>
      item.kind === kind &&
      (item.metadata.namespace ?? "default") === namespace &&
      item.metadata.name === name,
  );
  if (found === undefined)
    throw new Error(`${kind?.toLowerCase()}s "${name}" not found in namespace "${namespace}"`);
  return found as unknown as Record<string, unknown>;
}

export interface ProgramRun {
  stack: string;
  config: Record<string, string>;
  resources: RegisteredResource[];
  outputs: Record<string, unknown>;
  awsCalls: AwsCallRecord[];
  /** Set when the program failed; resources then holds whatever it had registered. */
  error?: Error;
}

/** Reads a stack file as the Pulumi CLI does: project-relative keys qualified, objects passed as JSON text. */
export function readStackConfig(stackFile: string): Record<string, string> {
  let document: unknown;
  try {
    document = YAML.parse(fs.readFileSync(stackFile, "utf8"));
  } catch (cause) {
    throw new Error(`${stackFile}: cannot be read as YAML (${(cause as Error).message})`);
  }
  const config = (document as { config?: Record<string, unknown> } | null)?.config ?? {};
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    const qualified = key.includes(":") ? key : `${PROJECT_NAME}:${key}`;
    // Secrets are encrypted per stack; offline they stay unknown, as if unset.
    if (value !== null && typeof value === "object" && "secure" in value) continue;
    values[qualified] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return values;
}

function applyOverrides(
  values: Record<string, string>,
  overrides: Record<string, unknown> = {},
): Record<string, string> {
  const result = { ...values };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete result[key];
    else result[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return result;
}

interface MonitorLike {
  registerResourceOutputs(
    request: { getUrn(): string; getOutputs(): unknown },
    callback: (error: Error | null, response?: unknown) => void,
  ): void;
  registerResource(
    request: RegisterRequest,
    callback: (error: Error | null, response?: { getUrn(): string }) => void,
  ): void;
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getObject(): unknown;
  getProtect(): boolean | undefined;
  getDependenciesList(): string[];
  getProvider(): string;
  getDeletebeforereplace(): boolean;
  getIgnorechangesList(): string[];
  getAdditionalsecretoutputsList(): string[];
  getAliasurnsList(): string[];
  getCustomtimeouts(): { getCreate(): string; getUpdate(): string; getDelete(): string } | undefined;
}

/**
 * The engine reports a failed provider call as a gRPC error whose `details` carry the provider's
 * message, wrapped the way the engine wraps it; the SDK surfaces only `details`.
 */
function asEngineInvokeError(token: string, error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  const details = `invocation of ${token} returned an error: invoking ${token}: 1 error occurred:\n\t* ${message}`;
  return Object.assign(new Error(details), { details, code: 2 /* grpc UNKNOWN */ });
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type ProgramEntry = () => Promise<Record<string, unknown>>;

/** One run at a time: the Pulumi runtime keeps its settings in process-wide state. */
let running: Promise<unknown> = Promise.resolve();

export function runStack(options: RunOptions): Promise<ProgramRun> {
  const next = running.then(() => runStackNow(options));
  running = next.catch(() => undefined);
  return next;
}

async function runStackNow(options: RunOptions): Promise<ProgramRun> {
  const stackFile = options.stackFile ?? path.join(PROJECT_ROOT, `Pulumi.${options.stack}.yaml`);
  const config = applyOverrides(readStackConfig(stackFile), options.configOverrides);
  const fixture =
    typeof options.fixture === "object"
      ? options.fixture
      : loadAwsFixture(
          options.fixture ?? path.join(PROJECT_ROOT, "fixtures", "aws", `${options.stack}.json`),
        );
  const answers = new AwsFixtureAnswers(fixture);
  const kubernetes = loadKubernetesFixture(options.stack, options.kubernetesFixture);
  const awsCalls: AwsCallRecord[] = [];
  const resources: RegisteredResource[] = [];
  const pending = new Set<Promise<void>>();
  const clock = process.hrtime.bigint();
  const now = () => Number(process.hrtime.bigint() - clock) / 1e6;

  pulumi.runtime.setAllConfig(config, []);
  await pulumi.runtime.setMocks(
    {
      newResource: (args) =>
        args.id
          ? { id: args.id, state: readKubernetesObject(kubernetes, args.type, args.id) }
          : { id: args.custom ? `${args.name}-id` : undefined, state: args.inputs },
      call: async (args) => {
        const record: AwsCallRecord = {
          token: args.token,
          args: args.inputs,
          startedMs: now(),
          endedMs: 0,
          failed: false,
        };
        awsCalls.push(record);
        try {
          if (options.awsDelayMs) await delay(options.awsDelayMs);
          const fault = options.awsFault?.(args.token, args.inputs);
          if (fault?.kind === "hang") await new Promise(() => undefined);
          if (fault?.kind === "error") throw new Error(fault.message);
          return answers.answer(args.token, args.inputs);
        } catch (error) {
          record.failed = true;
          throw asEngineInvokeError(args.token, error);
        } finally {
          record.endedMs = now();
        }
      },
    },
    PROJECT_NAME,
    options.stack,
    options.preview ?? false,
  );

  const monitor = pulumi.runtime.getMonitor() as unknown as MonitorLike;
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (request, callback) => {
    let settle: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (settle = resolve));
    pending.add(done);
    register(request, (error, response) => {
      if (!error && response) {
        const timeouts = request.getCustomtimeouts();
        resources.push({
          type: request.getType(),
          name: request.getName(),
          urn: response.getUrn(),
          custom: request.getCustom(),
          inputs: pulumi.runtime.deserializeProperties(request.getObject() as never) as Record<
            string,
            unknown
          >,
          parent: request.getParent() || undefined,
          dependencies: request.getDependenciesList(),
          provider: request.getProvider() || undefined,
          options: {
            protect: request.getProtect() ?? false,
            ignoreChanges: request.getIgnorechangesList(),
            deleteBeforeReplace: request.getDeletebeforereplace(),
            additionalSecretOutputs: request.getAdditionalsecretoutputsList(),
            aliases: request.getAliasurnsList(),
            customTimeouts: timeouts
              ? { create: timeouts.getCreate(), update: timeouts.getUpdate(), delete: timeouts.getDelete() }
              : undefined,
          },
        });
      }
      callback(error, response);
      settle();
      pending.delete(done);
    });
  };

  const registerOutputs = monitor.registerResourceOutputs.bind(monitor);
  const outputsByUrn = new Map<string, Record<string, unknown>>();
  monitor.registerResourceOutputs = (request, callback) => {
    outputsByUrn.set(
      request.getUrn(),
      pulumi.runtime.deserializeProperties(request.getOutputs() as never) as Record<string, unknown>,
    );
    registerOutputs(request, callback);
  };

  // The Pulumi runtime turns a rejected resource operation nobody awaits (a failed read, say) into a
  // program failure; do the same here instead of letting it end the process.
  const unhandled: Error[] = [];
  const onUnhandled = (reason: unknown) =>
    unhandled.push(reason instanceof Error ? reason : new Error(String(reason)));
  process.on("unhandledRejection", onUnhandled);

  const run: ProgramRun = { stack: options.stack, config, resources, outputs: {}, awsCalls };
  try {
    const loaded = (await import(path.join(PROJECT_ROOT, "index.ts"))) as
      { default: ProgramEntry } | ProgramEntry;
    const program = typeof loaded === "function" ? loaded : loaded.default;
    run.outputs = await program();
  } catch (error) {
    run.error = error instanceof Error ? error : new Error(String(error));
  }
  // Registrations are asynchronous RPCs: wait until none is in flight, and none starts after.
  for (let quiet = 0; quiet < 3; quiet++) {
    if (pending.size > 0) {
      quiet = 0;
      await Promise.all([...pending]);
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  await new Promise((resolve) => setImmediate(resolve));
  process.off("unhandledRejection", onUnhandled);
  if (run.error === undefined && unhandled.length > 0) run.error = unhandled[0];
  for (const resource of resources) {
    const outputs = outputsByUrn.get(resource.urn);
    if (outputs !== undefined) resource.outputs = outputs;
  }
  return run;
}

export type NetworkPolicyResource = RegisteredResource & {
  inputs: NetworkPolicyManifest & Record<string, unknown>;
};

export const NETWORK_POLICY_TYPE = "kubernetes:networking.k8s.io/v1:NetworkPolicy";

export function networkPolicies(run: ProgramRun): NetworkPolicyResource[] {
  return run.resources.filter((resource) => resource.type === NETWORK_POLICY_TYPE) as NetworkPolicyResource[];
}
