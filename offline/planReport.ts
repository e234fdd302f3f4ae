/**
 * The offline plan of a stack: what `pulumi up` would apply, built by running the real program
 * under mocks. One report object feeds every output format, so the summary, the YAML and the JSON
 * can never disagree.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../core/config";
import { parseStackConfig } from "../components/configValidation";
import type { ServiceName } from "../core/flowTable";
import type { NetworkPolicyManifest, ResolvedCidrs } from "../core/networkPolicies";
import type { EffectiveFlow } from "../components/flashNetworkPolicies";
import { networkPolicies, runStack, type ProgramRun, type RunOptions } from "./runProgram";
import { COMPONENT_TYPE } from "../core/resourceTypes";
import { describeRecordedStateIssues, recordedStateSchema, type RecordedState } from "../core/recordedState";

export interface PlanService {
  name: ServiceName;
  podLabels: Record<string, string>;
  port: number;
}

/**
 * One resource as the program registered it, in the order it asked the engine: what a reviewer
 * compares with `pulumi preview --json`. Secrets read "[secret]".
 */
export interface PlanResource {
  type: string;
  name: string;
  urn: string;
  parent?: string;
  dependsOn: string[];
  /** The provider reference, `urn::id`. */
  provider?: string;
  inputs: Record<string, unknown>;
  /** A read of an existing object (`.get`): the id read. Nothing is created. */
  readId?: string;
  /** The `import` option: the existing object the engine adopts instead of creating one. */
  importId?: string;
  retainOnDelete?: boolean;
}

export interface PlanReport {
  stack: string;
  namespace: string;
  services: PlanService[];
  cidrs: ResolvedCidrs;
  /** The cluster's node, control-plane and pod subnets as discovery found them. */
  clusterCidrs: RecordedState["clusterCidrs"];
  manifests: NetworkPolicyManifest[];
  flowTable: EffectiveFlow[];
  rollout: StackConfig["rollout"];
  awsLookups: number;
  /** Risks the stack accepted in config (a data store sharing the cluster's subnets), from the component's outputs. */
  warnings: string[];
  resources: PlanResource[];
}

function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (value === null || typeof value !== "object") return value;
  const object = value as Record<string, unknown>;
  if (object[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig) return "[secret]";
  return Object.fromEntries(Object.entries(object).map(([key, item]) => [key, redactSecrets(item)]));
}

export function planResources(run: ProgramRun): PlanResource[] {
  return run.resources.map((resource) => ({
    type: resource.type,
    name: resource.name,
    urn: resource.urn,
    parent: resource.parent,
    dependsOn: resource.dependencies,
    provider: resource.provider,
    inputs: redactSecrets(resource.inputs) as Record<string, unknown>,
    ...(resource.readId === undefined ? {} : { readId: resource.readId }),
    ...(resource.options.importId === undefined ? {} : { importId: resource.options.importId }),
    ...(resource.options.retainOnDelete ? { retainOnDelete: true } : {}),
  }));
}

/** The program failed: the message is the program's own, which already names the key or AWS object. */
export class PlanFailure extends Error {}

/** The component's recorded state in a successful run, parsed by the schema the component wrote it with. */
export function recordedStateOf(run: ProgramRun): RecordedState {
  const component = run.resources.find((resource) => resource.type === COMPONENT_TYPE);
  const parsed = recordedStateSchema.safeParse(component?.outputs);
  if (!parsed.success) {
    throw new PlanFailure(
      `the ${COMPONENT_TYPE} component recorded no usable state (${describeRecordedStateIssues(parsed.error)})`,
    );
  }
  return parsed.data;
}

/**
 * A failed read of the namespace is what `pulumi preview` reports too (the SDK's "failed to read
 * resource" around the engine's or provider's reason); the plan adds what it means and the fix.
 */
function describeFailure(error: Error, options: RunOptions, config: StackConfig | undefined): string {
  if (config === undefined || !error.message.includes("[kubernetes:core/v1:Namespace]")) return error.message;
  const fixture =
    typeof options.kubernetesFixture === "string"
      ? options.kubernetesFixture
      : `fixtures/k8s/${options.stack}.json`;
  const unreachable = /unreachable/.test(error.message);
  return (
    `namespace ${config.namespace} (flash-netpol:namespace) could not be read from EKS cluster ${config.cluster.name} ` +
    `(${config.cluster.region}), answered from ${fixture}: ${error.message}. ` +
    `\`pulumi preview\` fails the same way, before any NetworkPolicy is registered. Fix: ` +
    (unreachable
      ? `make the cluster reachable (aws eks get-token --cluster-name ${config.cluster.name} --region ${config.cluster.region} must work, and the endpoint must answer from here)`
      : `create the namespace (it belongs to the application), or set flash-netpol:namespace to the application's namespace; ` +
        `then record it with: kubectl get namespace ${config.namespace} -o json (key "namespace" of ${fixture})`) +
    "."
  );
}

export async function buildPlan(
  options: RunOptions,
): Promise<{ report: PlanReport; run: ProgramRun; config: StackConfig }> {
  const run = await runStack(options);
  const stackFile = options.stackFile ?? `Pulumi.${options.stack}.yaml`;
  if (run.error !== undefined) {
    let config: StackConfig | undefined;
    try {
      config = parseStackConfig(run.config, path.basename(stackFile));
    } catch {
      // The program's own message already says what is wrong with the config.
    }
    throw new PlanFailure(describeFailure(run.error, options, config));
  }
  const config = parseStackConfig(run.config, path.basename(stackFile));
  const recorded = recordedStateOf(run);
  const order = recorded.policyNames;
  const manifests = networkPolicies(run)
    .map((resource): NetworkPolicyManifest => resource.inputs)
    .sort((a, b) => order.indexOf(a.metadata.name) - order.indexOf(b.metadata.name));
  return {
    run,
    config,
    report: {
      stack: options.stack,
      namespace: config.namespace,
      services: Object.entries(config.services).map(([name, { podLabels, port }]) => ({
        name,
        podLabels,
        port,
      })),
      cidrs: recorded.cidrs,
      clusterCidrs: recorded.clusterCidrs,
      manifests,
      flowTable: recorded.flowTable,
      rollout: config.rollout,
      awsLookups: run.awsCalls.length,
      warnings: recorded.discoveryWarnings,
      resources: planResources(run),
    },
  };
}
