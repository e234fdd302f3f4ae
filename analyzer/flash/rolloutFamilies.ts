/**
 * The rollout proof without enumerating stages. Each rollout flag switches exactly one service policy
 * whose content does not depend on any other flag (components/networkPolicies.ts generatePolicies),
 * and the config accepts defaultDeny only once every service flag is enforced (components/config.ts
 * rolloutConfig). So the reachable stages are the 2^(2n) service-flag combinations with defaultDeny
 * off, plus full enforcement.
 *
 * A probe is allowed exactly when neither side is denied: its source's egress and its
 * destination's ingress, each decided only by that side's deciding policies (the Judge contract:
 * equal deciding keys, equal verdicts; `Judge.side`). Flags whose policy decides neither side cannot
 * change it. So for each (source, destination) pair we find each side's deciding flags (in the
 * fully enforced set, which holds every flag's policy) and judge that side under every subset of
 * them, every other flag off: 2 + 2 small judgements per probe under upstream semantics, 4 + 4 under
 * the EKS agent. A stage T's verdict on the probe then combines the sides' outcomes at T's flags,
 * for each of the 2^|D| subsets T of the pair's flags D. Overlapping selectors (one service's labels
 * a superset of another's) simply put more flags in a side: still exact.
 *
 * A failing subset T of D is a family of stages: "defaultDeny off; enforced: T; off: D \ T", every
 * other flag free. Families are merged (two that differ in one flag only) and counted without
 * listing their stages, so memory stays flat whatever the number of services.
 */
import type { StackConfig } from "../../core/config";
import type { ServiceName } from "../../core/flowTable";
import { DIRECTIONS, type Direction } from "../../core/kubernetes";
import {
  generatePolicies,
  type GeneratedPolicy,
  type NetworkPolicyManifest,
  type ResolvedCidrs,
} from "../../core/networkPolicies";
import { judgeFor, type EnforcerOptions, type Judge, type SideOutcome } from "./enforcers";
import type { FlashModel, FlashProbe, NamedEndpoint } from "./model";
import { countUnion, cubeKey, mergeCubes, type Cube } from "./stageFamilies";
import { fullEnforcement, serviceFlagsOff } from "./stages";

/** One rollout flag: a service and a direction. */
export interface RolloutFlagRef {
  readonly service: ServiceName;
  readonly direction: Direction;
}

/** A failing family of stages: the flags it fixes; every flag not named is free. */
export interface FailingFamily {
  /** "defaultDeny off; enforced: flash-api ingress; off: flash-pay ingress" */
  readonly condition: string;
  /** Flags (indices into the proof's flags) enforced / off in every stage of the family. */
  readonly enforced: readonly number[];
  readonly off: readonly number[];
  /** true for the fully enforced stage (defaultDeny enforce). */
  readonly fullEnforcement: boolean;
  /** One probe that fails throughout the family, for the message. */
  readonly example: string;
}

export interface FamilyProof<Family extends FailingFamily = FailingFamily> {
  readonly flags: readonly RolloutFlagRef[];
  /** Reachable stages: 2^(2n) + 1. */
  readonly stageCount: bigint;
  readonly failing: readonly Family[];
  /** Stages in no failing family. */
  readonly stagesProven: bigint;
  /** Policy sets judged: the cost measure (polynomial in the services when D stays small). */
  readonly policySetsJudged: number;
}

export function describeFlag(flag: RolloutFlagRef): string {
  return `${flag.service} ${flag.direction}`;
}

/** The rollout flags of these services, in the order the generator emits their policies. */
export function rolloutFlagsOf(services: readonly ServiceName[]): RolloutFlagRef[] {
  return services.flatMap((service) => DIRECTIONS.map((direction) => ({ service, direction })));
}

/** Each flag's policy in a fully enforced generation, and the flag of each policy key. */
export function flagPolicies(
  generated: readonly GeneratedPolicy[],
  flags: readonly RolloutFlagRef[],
): { policyOfFlag: NetworkPolicyManifest[]; flagOfKey: Map<string, number> } {
  const policyOfFlag: NetworkPolicyManifest[] = [];
  const flagOfKey = new Map<string, number>();
  flags.forEach((flag, index) => {
    const found = generated.find(
      ({ role }) =>
        role.kind === "service" && role.service === flag.service && role.direction === flag.direction,
    );
    if (found === undefined)
      throw new Error(`no policy generated for the rollout flag ${describeFlag(flag)}`);
    policyOfFlag[index] = found.manifest;
    flagOfKey.set(`${found.manifest.metadata.namespace}/${found.manifest.metadata.name}`, index);
  });
  return { policyOfFlag, flagOfKey };
}

/** The flags whose policies decide an endpoint's side, found in a judge holding every flag's policy. */
export function decidingFlags(
  fullJudge: Judge,
  flagOfKey: ReadonlyMap<string, number>,
  endpoint: NamedEndpoint,
  direction: Direction,
): number[] {
  // Other deciding policies (ApplicationNetworkPolicies, on EKS) are the same at every stage.
  const indices = fullJudge.decidingPolicies(endpoint.endpoint, direction).flatMap((key) => {
    const flag = flagOfKey.get(key);
    return flag === undefined ? [] : [flag];
  });
  return [...new Set(indices)].sort((a, b) => a - b);
}

/** The model's probes grouped by (source, destination) pair: a pair's probes share their deciding flags. */
export function probePairs(model: FlashModel): FlashProbe[][] {
  const pairs: FlashProbe[][] = [];
  for (const probe of model.probes) {
    const last = pairs[pairs.length - 1];
    if (last !== undefined && last[0].from === probe.from && last[0].to === probe.to) last.push(probe);
    else pairs.push([probe]);
  }
  return pairs;
}

/**
 * Whether a probe breaks proof (a) given its two sides: an intended flow blocked, or an undeclared
 * one allowed while a deployed rule admits it (explain's "allowed" side with a rule).
 */
function fails(intended: boolean, egress: SideOutcome, ingress: SideOutcome): boolean {
  const allowed = egress !== "denied" && ingress !== "denied";
  if (intended) return !allowed;
  return allowed && (egress === "admitted" || ingress === "admitted");
}

function failsAt(judge: Judge): (probe: FlashProbe) => boolean {
  return (probe) =>
    fails(probe.intendedBy.length > 0, judge.side(probe, "egress"), judge.side(probe, "ingress"));
}

export function conditionOf(flags: readonly RolloutFlagRef[], cube: Cube): string {
  const names = (on: boolean) =>
    [...cube.entries()]
      .filter(([, value]) => value === on)
      .map(([flag]) => flag)
      .sort((a, b) => a - b)
      .map((flag) => describeFlag(flags[flag]));
  const list = (items: string[]) => (items.length === 0 ? "none" : items.join(", "));
  return `defaultDeny off; enforced: ${list(names(true))}; off: ${list(names(false))}`;
}

/**
 * Proof (a) over every reachable stage, exactly, judging 2^|D| small policy sets per probe pair
 * plus the fully enforced set once.
 */
export function proveRolloutFamilies(
  config: StackConfig,
  cidrs: ResolvedCidrs,
  model: FlashModel,
  options: EnforcerOptions,
  /** Tests only: replace how a side's deciding flags are found, to show the fuzz catches a wrong rule. */
  decidingFlagsOverride?: (
    endpoint: NamedEndpoint,
    direction: Direction,
    flags: readonly RolloutFlagRef[],
  ) => number[],
): FamilyProof {
  const services = Object.keys(config.services);
  const full = fullEnforcement(services);
  serviceFlagsOff(services); // the config must accept every combination with defaultDeny off
  const flags = rolloutFlagsOf(services);
  const generated = generatePolicies({ ...config, rollout: full, breakGlass: false }, cidrs);
  const { policyOfFlag, flagOfKey } = flagPolicies(generated, flags);
  const fullJudge = judgeFor(model, policyOfFlag, options);

  const pairs = probePairs(model);
  const sideFlags = (endpoint: NamedEndpoint, direction: Direction): number[] => {
    if (decidingFlagsOverride !== undefined) return decidingFlagsOverride(endpoint, direction, flags);
    return decidingFlags(fullJudge, flagOfKey, endpoint, direction);
  };

  // Each side of a pair is judged under every subset of its own deciding flags, every other flag
  // off: by the Judge contract that is its outcome at every stage agreeing on those flags. A side
  // is one (pair, direction); its outcomes per subset mask (bit b = its b-th flag), per probe.
  interface Side {
    readonly pair: number;
    readonly direction: Direction;
    readonly deciding: readonly number[];
    readonly outcomes: SideOutcome[][];
  }
  const sides: Record<Direction, Side>[] = pairs.map((probes, pair) => ({
    egress: { pair, direction: "egress", deciding: sideFlags(probes[0].from, "egress"), outcomes: [] },
    ingress: { pair, direction: "ingress", deciding: sideFlags(probes[0].to, "ingress"), outcomes: [] },
  }));
  // subset key -> the sides that need it judged, with the subset's mask in each side's flags.
  const work = new Map<string, { enforced: number[]; sides: { side: Side; mask: number }[] }>();
  for (const pairSides of sides) {
    for (const side of [pairSides.egress, pairSides.ingress]) {
      if (side.deciding.length > 24) {
        const probe = pairs[side.pair][0];
        throw new Error(
          `${probe.from.name} -> ${probe.to.name}: ${side.deciding.length} rollout flags decide its ${side.direction} (selectors overlap that widely); the proof checks 2^${side.deciding.length} subsets. Give services labels no other service's selector matches`,
        );
      }
      for (let mask = 0; mask < 2 ** side.deciding.length; mask++) {
        const enforced = side.deciding.filter((_, bit) => (mask >> bit) & 1);
        const key = enforced.join(",");
        let entry = work.get(key);
        if (entry === undefined) work.set(key, (entry = { enforced, sides: [] }));
        entry.sides.push({ side, mask });
      }
    }
  }
  for (const { enforced, sides: needing } of work.values()) {
    const judge = judgeFor(
      model,
      enforced.map((flag) => policyOfFlag[flag]),
      options,
    );
    for (const { side, mask } of needing)
      side.outcomes[mask] = pairs[side.pair].map((probe) => judge.side(probe, side.direction));
  }

  // Every subset T of the pair's flags D: its sides' outcomes are those of T's flags on each side.
  const failingCubes = new Map<string, { cube: Cube; example: string }>();
  const maskWithin = (enforced: ReadonlySet<number>, deciding: readonly number[]) =>
    deciding.reduce((mask, flag, bit) => (enforced.has(flag) ? mask | (1 << bit) : mask), 0);
  sides.forEach(({ egress, ingress }, pair) => {
    const deciding = [...new Set([...egress.deciding, ...ingress.deciding])].sort((a, b) => a - b);
    if (deciding.length > 24)
      throw new Error(
        `${pairs[pair][0].from.name} -> ${pairs[pair][0].to.name}: ${deciding.length} rollout flags decide it (selectors overlap that widely); the proof checks 2^${deciding.length} subsets. Give services labels no other service's selector matches`,
      );
    for (let mask = 0; mask < 2 ** deciding.length; mask++) {
      const enforced = new Set(deciding.filter((_, bit) => (mask >> bit) & 1));
      const egressOutcomes = egress.outcomes[maskWithin(enforced, egress.deciding)];
      const ingressOutcomes = ingress.outcomes[maskWithin(enforced, ingress.deciding)];
      const failing = pairs[pair].find((probe, index) =>
        fails(probe.intendedBy.length > 0, egressOutcomes[index], ingressOutcomes[index]),
      );
      if (failing === undefined) continue;
      const cube: Cube = new Map(deciding.map((flag) => [flag, enforced.has(flag)]));
      const key = cubeKey(cube);
      if (!failingCubes.has(key))
        failingCubes.set(key, {
          cube,
          example: `${failing.from.name} -> ${failing.to.name} ${failing.port}/${failing.protocol} ${failing.intendedBy.length > 0 ? "blocked" : "admitted by a rule wider than the table"}`,
        });
    }
  });

  const cubes = mergeCubes([...failingCubes.values()].map(({ cube }) => cube));
  const exampleFor = (cube: Cube) =>
    [...failingCubes.values()].find(({ cube: small }) =>
      [...cube.entries()].every(([flag, on]) => small.get(flag) === on),
    )?.example ?? "";
  const failing: FailingFamily[] = cubes.map((cube) => ({
    condition: conditionOf(flags, cube),
    enforced: [...cube.entries()].filter(([, on]) => on).map(([flag]) => flag),
    off: [...cube.entries()].filter(([, on]) => !on).map(([flag]) => flag),
    fullEnforcement: false,
    example: exampleFor(cube),
  }));

  // Full enforcement: every flag's policy plus the DNS egress and the default deny.
  const fullManifests = generated.map((policy) => policy.manifest);
  const fullFails = failsAt(judgeFor(model, fullManifests, options));
  const fullFailure = model.probes.find(fullFails);
  if (fullFailure !== undefined)
    failing.push({
      condition: `defaultDeny enforce; enforced: ${flags.map(describeFlag).join(", ")}; off: none`,
      enforced: flags.map((_, index) => index),
      off: [],
      fullEnforcement: true,
      example: `${fullFailure.from.name} -> ${fullFailure.to.name} ${fullFailure.port}/${fullFailure.protocol}`,
    });

  const stageCount = 2n ** BigInt(flags.length) + 1n;
  const failingStages = countUnion(cubes, flags.length) + (fullFailure === undefined ? 0n : 1n);
  return {
    flags,
    stageCount,
    failing,
    stagesProven: stageCount - failingStages,
    policySetsJudged: work.size + 2,
  };
}

/** A JSON number while exact, a decimal string beyond Number.MAX_SAFE_INTEGER. */
export function stageCountJson(count: bigint): number | string {
  return count <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(count) : count.toString();
}

/** Whether the family holds this rollout (defaultDeny off; each fixed flag as the family says). */
export function familyHolds(
  family: FailingFamily,
  flags: readonly RolloutFlagRef[],
  rollout: StackConfig["rollout"],
): boolean {
  if (family.fullEnforcement) return rollout.defaultDeny === "enforce";
  if (rollout.defaultDeny !== "off") return false;
  const on = enforcedIn(flags, rollout);
  return family.enforced.every(on) && family.off.every((flag) => !on(flag));
}

/** Whether flag `flag` (an index into `flags`) is enforced in this rollout. */
export function enforcedIn(
  flags: readonly RolloutFlagRef[],
  rollout: StackConfig["rollout"],
): (flag: number) => boolean {
  return (flag) => rollout.services[flags[flag].service]?.[flags[flag].direction] === "enforce";
}
