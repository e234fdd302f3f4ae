/**
 * The offline plan of a stack: what `pulumi up` would apply, built by running the real program
 * under mocks. One report object feeds every output format, so the summary, the YAML and the JSON
 * can never disagree.
 */
import * as path from "node:path";
import { parseStackConfig, type StackConfig } from "../components/config";
import { SERVICE_NAMES, type ServiceName } from "../components/flowTable";
import type { NetworkPolicyManifest, ResolvedCidrs } from "../components/networkPolicies";
import type { EffectiveFlow } from "../components/flashNetworkPolicies";
import { networkPolicies, runStack, type ProgramRun, type RunOptions } from "./runProgram";

export interface PlanService {
  name: ServiceName;
  podLabels: Record<string, string>;
  port: number;
}

export interface PlanReport {
  stack: string;
  namespace: string;
  services: PlanService[];
  cidrs: ResolvedCidrs;
  manifests: NetworkPolicyManifest[];
  flowTable: EffectiveFlow[];
  rollout: StackConfig["rollout"];
  awsLookups: number;
  /** Risks the stack accepted in config (a data store sharing the cluster's subnets), from the component's outputs. */
  warnings: string[];
}

/** The program failed: the message is the program's own, which already names the key or AWS object. */
export class PlanFailure extends Error {}

function discoveryWarnings(run: ProgramRun): string[] {
  const component = run.resources.find(
    (resource) => resource.type === "flash-netpol:index:FlashNetworkPolicies",
  );
  const recorded = component?.outputs?.discoveryWarnings;
  return Array.isArray(recorded) ? recorded.map(String) : [];
}

export async function buildPlan(
  options: RunOptions,
): Promise<{ report: PlanReport; run: ProgramRun; config: StackConfig }> {
  const run = await runStack(options);
  if (run.error !== undefined) throw new PlanFailure(run.error.message);
  const stackFile = options.stackFile ?? `Pulumi.${options.stack}.yaml`;
  const config = parseStackConfig(run.config, path.basename(stackFile));
  const order = run.outputs.policyNames as string[];
  const manifests = networkPolicies(run)
    .map((resource): NetworkPolicyManifest => resource.inputs)
    .sort((a, b) => order.indexOf(a.metadata.name) - order.indexOf(b.metadata.name));
  return {
    run,
    config,
    report: {
      stack: options.stack,
      namespace: config.namespace,
      services: SERVICE_NAMES.map((name) => ({
        name,
        podLabels: config.services[name].podLabels,
        port: config.services[name].port,
      })),
      cidrs: run.outputs.cidrs as ResolvedCidrs,
      manifests,
      flowTable: run.outputs.flowTable as EffectiveFlow[],
      rollout: config.rollout,
      awsLookups: run.awsCalls.length,
      warnings: discoveryWarnings(run),
    },
  };
}
