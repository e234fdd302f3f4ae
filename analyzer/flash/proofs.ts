/**
 * The rollout proofs of a stack, each a statement over every probe of the flash model:
 *  (a) no outage at any stage: at each reachable rollout stage, the generated policies allow every
 *      intended flow (a stage may be left exposed, never broken);
 *  (b) no exposure at the target: fully enforced, nothing beyond the table and DNS is allowed;
 *  (c) the current stage: its matrix and how it differs from the table.
 */
import type { StackConfig } from "../../core/config";
import { generatePolicies, type NetworkPolicyManifest, type ResolvedCidrs } from "../../core/networkPolicies";
import { ConnectivityEvaluator, type ConnectivityReport } from "./connectivity";
import type { ServiceInfo } from "../eks/model";
import type { EnforcerOptions } from "./enforcers";
import { buildFlashModel, type FlashModel } from "./model";
import { proveBreakGlassFamilies, type BreakGlassHooks, type BreakGlassProof } from "./breakGlassFamilies";
import { proveRolloutFamilies, type FailingFamily, type FamilyProof } from "./rolloutFamilies";
import { fullEnforcement } from "./stages";
import { topologyFromConfig } from "./topology";

export interface RolloutProof {
  readonly model: FlashModel;
  /** (a) over every reachable stage, as failing families of stages (rolloutFamilies.ts). */
  readonly stages: FamilyProof;
  /** (b) the fully enforced target. */
  readonly target: ConnectivityReport;
  /** (c) the manifests the stack deploys now. */
  readonly current: ConnectivityReport;
}

export interface ProveOptions {
  /** The manifests of the current stage as the program registered them; generated from config when absent. */
  readonly currentManifests?: readonly NetworkPolicyManifest[];
  readonly serviceIpv4Cidr?: string;
  /** The cluster's Services, for ClusterIP probes (fixtures/k8s/<stack>.json). */
  readonly clusterServices?: readonly ServiceInfo[];
  /** The enforcer the proofs run under; upstream Kubernetes semantics by default. */
  readonly enforcer?: EnforcerOptions["enforcer"];
  readonly mode?: EnforcerOptions["mode"];
  /** EKS only: cluster policies, ApplicationNetworkPolicies and the agent version. */
  readonly eks?: EnforcerOptions["eks"];
  /**
   * The flash model of this config, cidrs, service CIDR and Services, when the caller built it
   * already (the plan proves under two enforcers over one model); built here when absent.
   */
  readonly model?: FlashModel;
}

export function flashModelFor(
  config: StackConfig,
  cidrs: ResolvedCidrs,
  options: ProveOptions = {},
): FlashModel {
  return buildFlashModel({
    ...topologyFromConfig(config, cidrs),
    serviceIpv4Cidr: options.serviceIpv4Cidr,
    clusterServices: options.clusterServices,
  });
}

/**
 * The manifests of a rollout stage. Break-glass is left out: it is an emergency switch outside the
 * rollout, and an allow-all would make every stage "exposed". The current stage is judged from the
 * manifests actually deployed, so an active break-glass still shows there.
 */
export function manifestsAt(
  config: StackConfig,
  cidrs: ResolvedCidrs,
  rollout: StackConfig["rollout"],
): NetworkPolicyManifest[] {
  return generatePolicies({ ...config, rollout, breakGlass: false }, cidrs).map((policy) => policy.manifest);
}

export function proveRollout(
  config: StackConfig,
  cidrs: ResolvedCidrs,
  options: ProveOptions = {},
): RolloutProof {
  const model = options.model ?? flashModelFor(config, cidrs, options);
  const enforcerOptions = { enforcer: options.enforcer, mode: options.mode, eks: options.eks };
  const evaluator = new ConnectivityEvaluator(model, enforcerOptions);
  const services = Object.keys(config.services);
  const stages = proveRolloutFamilies(config, cidrs, model, enforcerOptions);
  const target = evaluator.evaluate(manifestsAt(config, cidrs, fullEnforcement(services)));
  const current = evaluator.evaluate(options.currentManifests ?? manifestsAt(config, cidrs, config.rollout));
  return { model, stages, target, current };
}

/** The failing families of stages; empty when (a) holds at every reachable stage. */
export function failingStages(proof: RolloutProof): readonly FailingFamily[] {
  return proof.stages.failing;
}

/**
 * Break-glass must lift every isolation at once: at each reachable stage, the stage's policies plus
 * `break-glass-allow-all` must allow every probe of the flash model, both directions. Proven over
 * families of stages in polynomial time (breakGlassFamilies.ts); the enumeration is the tests' oracle.
 */
export function proveBreakGlass(
  config: StackConfig,
  cidrs: ResolvedCidrs,
  options: ProveOptions = {},
  hooks: BreakGlassHooks = {},
): BreakGlassProof {
  const model = options.model ?? flashModelFor(config, cidrs, options);
  return proveBreakGlassFamilies(
    config,
    cidrs,
    model,
    { enforcer: options.enforcer, mode: options.mode, eks: options.eks },
    hooks,
  );
}
