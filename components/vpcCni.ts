/**
 * Is NetworkPolicy enforced at all? On EKS the VPC CNI enforces it only when its network policy
 * agent is enabled in the vpc-cni add-on's configuration. A policy the CNI ignores gives false
 * confidence, so an enforced rollout stage refuses to run against a cluster that would ignore it.
 */
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../core/config";

export type EnforcingMode = StackConfig["networkPolicyEnforcingMode"];

/** What the vpc-cni add-on says about network policy, from its configuration values. */
export interface VpcCniState {
  readonly installed: boolean;
  readonly addonVersion?: string;
  readonly networkPolicyEnabled: boolean;
  readonly enforcingMode: EnforcingMode;
  readonly policyEventLogs: boolean;
  /** The add-on's whole configuration, so a suggested fix keeps every other setting. */
  readonly configuration: Record<string, unknown>;
}

export const NOT_INSTALLED: VpcCniState = {
  installed: false,
  networkPolicyEnabled: false,
  enforcingMode: "standard",
  policyEventLogs: false,
  configuration: {},
};

const isTrue = (value: unknown) => value === true || value === "true";

export function readVpcCniState(addonVersion: string, configurationValues: string): VpcCniState {
  let configuration: Record<string, unknown> = {};
  if (configurationValues.trim() !== "") {
    try {
      const parsed: unknown = JSON.parse(configurationValues);
      if (parsed !== null && typeof parsed === "object") configuration = parsed as Record<string, unknown>;
    } catch {
      // The add-on accepts YAML too; without JSON we cannot read it, and say so below as "not enabled".
    }
  }
  const nodeAgent = (configuration.nodeAgent ?? {}) as Record<string, unknown>;
  const env = (configuration.env ?? {}) as Record<string, unknown>;
  return {
    installed: true,
    addonVersion,
    networkPolicyEnabled: isTrue(configuration.enableNetworkPolicy),
    enforcingMode: env.NETWORK_POLICY_ENFORCING_MODE === "strict" ? "strict" : "standard",
    policyEventLogs: isTrue(nodeAgent.enablePolicyEventLogs),
    configuration,
  };
}

/** aws-node logs at DEBUG unless told otherwise; INFO keeps the node's disk and log shipping sane. */
const DEFAULT_LOG_LEVEL = "INFO";

/**
 * The add-on configuration this program sends: the add-on's current configuration (read with
 * aws.eks.getAddon) with network policy on, verdict logs on, the chosen mode, and the CNI's two log
 * levels set explicitly (kept where the add-on already sets them). Nothing else is added, so no
 * default of another tool replaces a setting the cluster runs with.
 */
export function desiredVpcCniConfiguration(
  mode: EnforcingMode,
  current: Record<string, unknown> = {},
): Record<string, unknown> {
  const nodeAgent = (current.nodeAgent ?? {}) as Record<string, unknown>;
  const env = (current.env ?? {}) as Record<string, unknown>;
  return {
    ...current,
    enableNetworkPolicy: "true",
    nodeAgent: { ...nodeAgent, enablePolicyEventLogs: "true", enableCloudWatchLogs: "true" },
    env: {
      ...env,
      AWS_VPC_K8S_CNI_LOGLEVEL: env.AWS_VPC_K8S_CNI_LOGLEVEL ?? DEFAULT_LOG_LEVEL,
      AWS_VPC_K8S_PLUGIN_LOG_LEVEL: env.AWS_VPC_K8S_PLUGIN_LOG_LEVEL ?? DEFAULT_LOG_LEVEL,
      NETWORK_POLICY_ENFORCING_MODE: mode,
    },
  };
}

function fixCommand(config: StackConfig, state: VpcCniState): string {
  const values = JSON.stringify(
    desiredVpcCniConfiguration(config.networkPolicyEnforcingMode, state.configuration),
  );
  const verb = state.installed ? "update-addon" : "create-addon";
  return (
    `aws eks ${verb} --cluster-name ${config.cluster.name} --addon-name vpc-cni --region ${config.cluster.region} ` +
    `--resolve-conflicts PRESERVE --configuration-values '${values}'`
  );
}

/**
 * Fails the preview when policies would be enforced but the CNI would ignore them, or would enforce
 * them in another mode than the stack asks for. Returns quietly when nothing is enforced.
 */
export function assertNetworkPolicyEnforced(config: StackConfig, state: VpcCniState): void {
  const alternative =
    "or set flash-netpol:manageVpcCni: true to let this program manage the add-on (docs/adopting.md says what that adopts)";
  if (!state.installed) {
    throw new pulumi.RunError(
      `vpc-cni is not installed as an EKS add-on on cluster ${config.cluster.name}, so nothing confirms that NetworkPolicy is enforced. ` +
        `Fix: ${fixCommand(config, state)} ; ${alternative}.`,
    );
  }
  if (!state.networkPolicyEnabled) {
    throw new pulumi.RunError(
      `the vpc-cni add-on (${state.addonVersion}) on cluster ${config.cluster.name} has network policy disabled: ` +
        `its configuration lacks "enableNetworkPolicy": "true", so every NetworkPolicy would be accepted and ignored. ` +
        `Fix: ${fixCommand(config, state)} ; ${alternative}.`,
    );
  }
  if (state.enforcingMode !== config.networkPolicyEnforcingMode) {
    throw new pulumi.RunError(
      `the vpc-cni add-on on cluster ${config.cluster.name} enforces in ${state.enforcingMode} mode, but ` +
        `flash-netpol:networkPolicyEnforcingMode is ${config.networkPolicyEnforcingMode}. ` +
        `Fix: ${fixCommand(config, state)} ; or set networkPolicyEnforcingMode to ${state.enforcingMode}.`,
    );
  }
}
