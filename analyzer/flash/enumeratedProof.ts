/**
 * The rollout and break-glass proofs by enumeration: every reachable stage (2^(2n) + 1) judged as a
 * whole policy set.
 * Exponential, so never the plan's path: it is the oracle the polynomial proof (rolloutFamilies.ts)
 * is tested against for a few services (tests/analyzer/flash.rolloutFamilies.test.ts).
 */
import type { StackConfig } from "../../core/config";
import { generatePolicies, type ResolvedCidrs } from "../../core/networkPolicies";
import type { PolicyGenerator } from "./breakGlassFamilies";
import { ConnectivityEvaluator, isPolicedExposure, type Exposure, type Outage } from "./connectivity";
import type { FlashProbe } from "./model";
import { flashModelFor, manifestsAt, type ProveOptions } from "./proofs";
import { reachableRolloutStages, type RolloutStage } from "./stages";

export interface StageProof {
  readonly stage: RolloutStage;
  readonly outages: readonly Outage[];
  /** Exposures a deployed rule admits (not merely an unisolated pod); none is expected at any stage. */
  readonly policedExposures: readonly Exposure[];
}

/** Refused beyond this many services: 2^(2n) + 1 whole-model evaluations. */
export const ENUMERATION_LIMIT = 4;

export function enumerateRolloutStages(
  config: StackConfig,
  cidrs: ResolvedCidrs,
  options: ProveOptions = {},
): StageProof[] {
  const services = Object.keys(config.services);
  if (services.length > ENUMERATION_LIMIT)
    throw new Error(
      `enumerating ${services.length} services' stages (2^${2 * services.length} + 1) is the test oracle only, for at most ${ENUMERATION_LIMIT} services`,
    );
  const model = flashModelFor(config, cidrs, options);
  const evaluator = new ConnectivityEvaluator(model, {
    enforcer: options.enforcer,
    mode: options.mode,
    eks: options.eks,
  });
  return reachableRolloutStages(services).map((stage): StageProof => {
    const report = evaluator.evaluate(manifestsAt(config, cidrs, stage.rollout));
    return { stage, outages: report.outages, policedExposures: report.exposures.filter(isPolicedExposure) };
  });
}

export function failingEnumeratedStages(stages: readonly StageProof[]): StageProof[] {
  return stages.filter((stage) => stage.outages.length > 0 || stage.policedExposures.length > 0);
}

export interface BreakGlassStage {
  readonly stage: RolloutStage;
  /** Probes of the flash model that break-glass leaves blocked at this stage; empty when it opens everything. */
  readonly blocked: readonly FlashProbe[];
}

/**
 * Break-glass by enumeration: at each reachable stage, the stage's policies plus
 * `break-glass-allow-all` judged whole. The oracle of the polynomial proof (breakGlassFamilies.ts),
 * refused beyond ENUMERATION_LIMIT services.
 */
export function enumerateBreakGlassStages(
  config: StackConfig,
  cidrs: ResolvedCidrs,
  options: ProveOptions = {},
  generate: PolicyGenerator = generatePolicies,
): BreakGlassStage[] {
  const services = Object.keys(config.services);
  if (services.length > ENUMERATION_LIMIT)
    throw new Error(
      `enumerating ${services.length} services' break-glass stages (2^${2 * services.length} + 1) is the test oracle only, for at most ${ENUMERATION_LIMIT} services`,
    );
  const model = flashModelFor(config, cidrs, options);
  const evaluator = new ConnectivityEvaluator(model, {
    enforcer: options.enforcer,
    mode: options.mode,
    eks: options.eks,
  });
  return reachableRolloutStages(services).map((stage) => {
    const manifests = generate({ ...config, rollout: stage.rollout, breakGlass: true }, cidrs).map(
      (policy) => policy.manifest,
    );
    const report = evaluator.evaluate(manifests);
    return {
      stage,
      blocked: report.verdicts.filter((verdict) => !verdict.allowed).map((verdict) => verdict.probe),
    };
  });
}
