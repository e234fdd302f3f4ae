/**
 * Runs the real Pulumi program (index.ts) in-process under Pulumi's mock runtime.
 *
 * Config comes from the stack file exactly as the CLI would pass it, AWS data-source calls are
 * answered from the stack's recorded aws CLI fixture, and every resource registration is captured
 * with what the engine would see: inputs, parent, dependencies, provider and options. The program
 * itself knows nothing of this; it runs as it would under `pulumi preview`.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { NetworkPolicyManifest } from "../core/networkPolicies";
import { EKS_ADDON_TYPE, NETWORK_POLICY_TYPE, VPC_CNI_ADDON_TYPE } from "../core/resourceTypes";
import { loadAwsFixture, type AwsFixture } from "./awsFixtureFile";
import { AwsFixtureAnswers } from "./awsFixtures";
import {
  newEngineRegistrations,
  recordEngineRegistrations,
  type RegisteredResource,
} from "./engineRegistrations";
import { loadKubernetesFixture, readKubernetesObject, type KubernetesFixture } from "./kubernetesFixture";
import { PROJECT_NAME, PROJECT_ROOT, readStackConfig } from "./stackConfig";

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
  /** The stack's config as already read (fully qualified keys); replaces reading `stackFile`. */
  config?: Record<string, string>;
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
  const config = applyOverrides(options.config ?? readStackConfig(stackFile), options.configOverrides);
  const fixture =
    typeof options.fixture === "object"
      ? options.fixture
      : loadAwsFixture(
          options.fixture ?? path.join(PROJECT_ROOT, "fixtures", "aws", `${options.stack}.json`),
        );
  const answers = new AwsFixtureAnswers(fixture);
  const kubernetes = loadKubernetesFixture(options.stack, options.kubernetesFixture);
  const awsCalls: AwsCallRecord[] = [];
  const capture = newEngineRegistrations();
  const { registered, pending, outputsByUrn } = capture;
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
  recordEngineRegistrations(capture);

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
