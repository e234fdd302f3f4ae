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
import type { NetworkPolicyManifest } from "../components/networkPolicies";
import { loadAwsFixture, type AwsFixture } from "./awsFixtureFile";
import { AwsFixtureAnswers } from "./awsFixtures";
import { EKS_ADDON_TYPE, NETWORK_POLICY_TYPE, VPC_CNI_ADDON_TYPE } from "../components/resourceTypes";

import { PROJECT_NAME, PROJECT_ROOT, readStackConfig } from "./stackConfig";

export { PROJECT_NAME, PROJECT_ROOT, readStackConfig };

export interface ResourceOptionsSeen {
  protect: boolean;
  ignoreChanges: string[];
  deleteBeforeReplace: boolean;
  additionalSecretOutputs: string[];
  aliases: string[];
  customTimeouts?: { create: string; update: string; delete: string };
  /** The `import` option: the id of an existing object the engine adopts instead of creating. */
  importId?: string;
  retainOnDelete?: boolean;
}

/** A resource as the engine sees it when the program registers it. */
export interface RegisteredResource {
  type: string;
  /** Set for a read of an existing object (`Resource.get`, a ReadResource call): the id read. */
  readId?: string;
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
  /** Defaults to Pulumi.<stack>.yaml at the project root; project config comes from the root's Pulumi.yaml. */
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
  /**
   * The cluster cannot be reached (`aws eks get-token` fails, the endpoint does not answer): every
   * Kubernetes read fails the way the provider fails it. The text is the provider's reason.
   */
  kubernetesUnreachable?: string;
  /** The program to run; defaults to index.ts at the project root. */
  programFile?: string;
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

/**
 * A read of an existing Kubernetes object (`.get`), answered as the provider and engine answer it:
 * the live object; for an object the cluster does not have, the provider's Read returns no outputs
 * and the engine fails the read with "resource '<id>' does not exist" (pulumi step.go ReadStep);
 * for an unreachable cluster the provider's Read fails outright (pulumi-kubernetes provider.go Read).
 */
function readKubernetesObject(
  fixture: KubernetesFixture,
  unreachable: string | undefined,
  type: string,
  id: string,
): Record<string, unknown> {
  if (unreachable !== undefined) {
    throw new Error(
      `configured Kubernetes cluster is unreachable: ${unreachable}; failed to read resource state due to unreachable cluster. ` +
        `If the cluster was deleted, you can remove this resource from Pulumi state by rerunning the operation with the ` +
        `PULUMI_K8S_DELETE_UNREACHABLE environment variable set to "true"`,
    );
  }
  const kind = type.split(":").pop();
  const [namespace, name] = id.includes("/") ? id.split("/", 2) : [undefined, id];
  const found = kubernetesFixtureObjects(fixture).find(
    (item) => item.kind === kind && item.metadata.namespace === namespace && item.metadata.name === name,
  );
  if (found === undefined) throw new Error(`resource '${id}' does not exist`);
  return found as unknown as Record<string, unknown>;
}

/**
 * Where the mock runtime would only echo inputs, the offline run enforces what the real
 * implementation enforces. eks:index:VpcCniAddon is a remote component: its constructor runs in the
 * pulumi-eks provider and throws before creating anything (pulumi-eks v4.3.0
 * nodejs/eks/addons/cni-addon.ts:266-289), although its .d.ts marks both versions optional.
 */
export function checkRemoteComponentContract(type: string, inputs: Record<string, unknown>): void {
  if (type !== VPC_CNI_ADDON_TYPE) return;
  if (inputs.clusterName === undefined) throw new Error("Missing required option 'clusterName'");
  if (!inputs.addonVersion && !inputs.clusterVersion) {
    throw new Error(
      "You need to specify either `addonVersion` or `clusterVersion` to determine the version of the vpc-cni addon to use.",
    );
  }
}

/**
 * The `import` resource option makes the engine read the existing object through the provider before
 * anything else (pulumi step.go ImportStep.Apply); a missing object fails with "resource '<id>' does
 * not exist". The AWS fixture holds what that read returns.
 */
function importedAwsState(answers: AwsFixtureAnswers, type: string, id: string): Record<string, unknown> {
  if (type !== EKS_ADDON_TYPE) throw new Error(`the offline run cannot import ${type} '${id}'`);
  const [clusterName, addonName] = id.split(":");
  try {
    return answers.answer("aws:eks/getAddon:getAddon", { clusterName, addonName }) as Record<string, unknown>;
  } catch {
    throw new Error(`resource '${id}' does not exist`);
  }
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

interface ReadRequest {
  getType(): string;
  getName(): string;
  getId(): string;
  getParent(): string;
  getProperties(): unknown;
  getDependenciesList(): string[];
  getProvider(): string;
  getAdditionalsecretoutputsList(): string[];
}

interface MonitorLike {
  readResource(
    request: ReadRequest,
    callback: (error: Error | null, response?: { getUrn(): string }) => void,
  ): void;
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
  getImportid(): string;
  getRetainondelete(): boolean | undefined;
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
  // Indexed by the order the program asked for each registration or read (the engine's order), not
  // the order the answers came back in.
  const registered: (RegisteredResource | undefined)[] = [];
  const pending = new Set<Promise<void>>();
  const clock = process.hrtime.bigint();
  const now = () => Number(process.hrtime.bigint() - clock) / 1e6;

  // An invoke through an explicit provider answers with that provider's credentials: an assumed role sees its own account.
  const callerOf = (providerRef: string | undefined) => {
    const provider = registered.find(
      (resource) =>
        providerRef !== undefined && resource !== undefined && providerRef.startsWith(`${resource.urn}::`),
    );
    // The SDK sends a provider's structured inputs as JSON text, as the engine passes provider config.
    const given = provider?.inputs.assumeRoles;
    const roles = (typeof given === "string" ? JSON.parse(given) : given) as
      { roleArn?: string }[] | undefined;
    return { assumedRole: roles?.[0]?.roleArn };
  };

  pulumi.runtime.setAllConfig(config, []);
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        checkRemoteComponentContract(args.type, args.inputs);
        if (!args.id) return { id: args.custom ? `${args.name}-id` : undefined, state: args.inputs };
        // An id is a read (`.get`) or an import (the `import` option): the provider reads the live object.
        if (args.type.startsWith("kubernetes:")) {
          return {
            id: args.id,
            state: readKubernetesObject(kubernetes, options.kubernetesUnreachable, args.type, args.id),
          };
        }
        return { id: args.id, state: { ...importedAwsState(answers, args.type, args.id), ...args.inputs } };
      },
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
          return answers.answer(args.token, args.inputs, callerOf(args.provider));
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
    const index = registered.push(undefined) - 1;
    register(request, (error, response) => {
      if (!error && response) {
        const timeouts = request.getCustomtimeouts();
        registered[index] = {
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
            importId: request.getImportid() || undefined,
            retainOnDelete: request.getRetainondelete() ?? false,
          },
        };
      }
      callback(error, response);
      settle();
      pending.delete(done);
    });
  };

  const read = monitor.readResource.bind(monitor);
  monitor.readResource = (request, callback) => {
    let settle: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (settle = resolve));
    pending.add(done);
    const index = registered.push(undefined) - 1;
    read(request, (error, response) => {
      if (!error && response) {
        registered[index] = {
          type: request.getType(),
          name: request.getName(),
          readId: request.getId(),
          urn: response.getUrn(),
          custom: true,
          inputs: pulumi.runtime.deserializeProperties(request.getProperties() as never) as Record<
            string,
            unknown
          >,
          parent: request.getParent() || undefined,
          dependencies: request.getDependenciesList(),
          provider: request.getProvider() || undefined,
          options: {
            protect: false,
            ignoreChanges: [],
            deleteBeforeReplace: false,
            additionalSecretOutputs: request.getAdditionalsecretoutputsList(),
            aliases: [],
          },
        };
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

  const resources: RegisteredResource[] = [];
  const run: ProgramRun = { stack: options.stack, config, resources, outputs: {}, awsCalls };
  try {
    const loaded = (await import(options.programFile ?? path.join(PROJECT_ROOT, "index.ts"))) as
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
  for (const resource of registered) if (resource !== undefined) resources.push(resource);
  for (const resource of resources) {
    const outputs = outputsByUrn.get(resource.urn);
    if (outputs !== undefined) resource.outputs = outputs;
  }
  return run;
}

export type NetworkPolicyResource = RegisteredResource & {
  inputs: NetworkPolicyManifest & Record<string, unknown>;
};

export function networkPolicies(run: ProgramRun): NetworkPolicyResource[] {
  return run.resources.filter((resource) => resource.type === NETWORK_POLICY_TYPE) as NetworkPolicyResource[];
}
