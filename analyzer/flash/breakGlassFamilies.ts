/**
 * Break-glass opens everything, at every reachable rollout stage, proven without enumerating stages.
 *
 * The break-glass policy B (`breakGlassPolicy`, core/networkPolicies.ts) selects every pod and lists,
 * as plain ipBlocks, the except ranges of the other enforced policies (per direction), so its content
 * depends on the stage, but only through the union of those ranges. A side of a probe (the source's
 * egress, the destination's ingress) is decided by its own deciding flags D and by B (the Judge
 * contract, rolloutFamilies.ts). So at a stage S its outcome is a function of (T = S ∩ D, u), u the
 * union of the excepts of the flags of S outside D. Grouping the flags outside D by their except
 * sets ("signatures"), u is the union of the signatures of the groups with at least one flag
 * enforced, so each side is judged under its 2^|D| subsets times the 2^g present-group subsets (g is
 * usually 0 or 1: every payment egress excepts the same ranges), and B is taken from the generator
 * for a representative stage of that union. Full enforcement is judged once, whole.
 *
 * A failing (T, groups) is a family: "enforced: T; off: D \ T, the absent groups' flags; and at least
 * one flag of each present group". When the side fails whatever the groups, the family is T alone.
 */
import type { StackConfig } from "../../core/config";
import type { Direction } from "../../core/kubernetes";
import { generatePolicies, type GeneratedPolicy, type ResolvedCidrs } from "../../core/networkPolicies";
import { describeProbe } from "./connectivity";
import { judgeFor, type EnforcerOptions, type SideOutcome } from "./enforcers";
import type { FlashModel } from "./model";
import {
  conditionOf,
  decidingFlags,
  describeFlag,
  flagPolicies,
  probePairs,
  rolloutFlagsOf,
  type FamilyProof,
  type RolloutFlagRef,
} from "./rolloutFamilies";
import {
  breakGlassFamilyCubes,
  describeSomeOf,
  exceptSignature,
  signatureKey,
  unionOfSignatures,
  type BreakGlassFamily,
  type ExceptSignature,
} from "./breakGlassStages";
import { countUnion, mergeCubes, type Cube } from "./stageFamilies";
import { fullEnforcement, serviceFlagsOff } from "./stages";

/** The generator the proof (and its oracle) renders stages with; tests hand in faulty variants. */
export type PolicyGenerator = (config: StackConfig, cidrs: ResolvedCidrs) => GeneratedPolicy[];

export interface BreakGlassHooks {
  /** Tests only: a faulty generator, to show the proof finds exactly the oracle's failing stages. */
  readonly generate?: PolicyGenerator;
  /**
   * Tests only: which enforced flags B is rendered from, given the flags of a judged stage and the
   * side's deciding flags; a wrong proof (B from one fixed stage) must be caught by the fuzz.
   */
  readonly breakGlassFrom?: (
    enforced: readonly number[],
    deciding: readonly number[],
    flags: readonly RolloutFlagRef[],
  ) => readonly number[];
}

/** The rollout proof's shape, with families that may also need some other flags enforced. */
export type BreakGlassProof = FamilyProof<BreakGlassFamily>;

/** Beyond this many except groups outside a side's flags, 2^g unions per subset would be too many. */
const GROUP_LIMIT = 12;

export function proveBreakGlassFamilies(
  config: StackConfig,
  cidrs: ResolvedCidrs,
  model: FlashModel,
  options: EnforcerOptions,
  hooks: BreakGlassHooks = {},
): BreakGlassProof {
  const generate = hooks.generate ?? generatePolicies;
  const services = Object.keys(config.services);
  const full = fullEnforcement(services);
  const none = serviceFlagsOff(services); // every combination with defaultDeny off is reachable
  const flags = rolloutFlagsOf(services);
  const { policyOfFlag, flagOfKey } = flagPolicies(
    generate({ ...config, rollout: full, breakGlass: false }, cidrs),
    flags,
  );
  const fullJudge = judgeFor(model, policyOfFlag, options);
  const signatures: ExceptSignature[] = policyOfFlag.map(exceptSignature);

  // B for a set of enforced flags, rendered by the generator at that stage; cached by the union of
  // the flags' excepts, which is all B may depend on (the fuzz checks that against the oracle).
  const breakGlassByUnion = new Map<string, GeneratedPolicy["manifest"]>();
  const breakGlassFor = (enforced: readonly number[]) => {
    const key = signatureKey(unionOfSignatures(enforced.map((flag) => signatures[flag])));
    let manifest = breakGlassByUnion.get(key);
    if (manifest === undefined) {
      const rollout = structuredClone(none);
      for (const flag of enforced) rollout.services[flags[flag].service][flags[flag].direction] = "enforce";
      manifest = generate({ ...config, rollout, breakGlass: true }, cidrs).find(
        ({ role }) => role.kind === "breakGlass",
      )?.manifest;
      if (manifest === undefined) throw new Error("the generator rendered no break-glass policy");
      breakGlassByUnion.set(key, manifest);
    }
    return { key, manifest };
  };

  const pairs = probePairs(model);
  interface Side {
    readonly pair: number;
    readonly direction: Direction;
    readonly deciding: readonly number[];
    /** Groups of flags outside `deciding` by except signature (flags without excepts left out). */
    readonly groups: readonly (readonly number[])[];
    /** Per subset mask of `deciding`, per group mask: whether some probe's side is denied, and which. */
    readonly denied: (string | undefined)[][];
  }
  const work = new Map<
    string,
    {
      enforced: readonly number[];
      breakGlass: GeneratedPolicy["manifest"];
      needs: { side: Side; mask: number; groupMask: number }[];
    }
  >();
  const sides: Side[] = [];
  for (const [pair, probes] of pairs.entries()) {
    for (const direction of ["egress", "ingress"] as const) {
      const endpoint = direction === "egress" ? probes[0].from : probes[0].to;
      const deciding = decidingFlags(fullJudge, flagOfKey, endpoint, direction);
      const byKey = new Map<string, number[]>();
      flags.forEach((_, flag) => {
        if (deciding.includes(flag) || signatures[flag].empty) return;
        const key = signatureKey(signatures[flag]);
        byKey.set(key, [...(byKey.get(key) ?? []), flag]);
      });
      const groups = [...byKey.values()];
      if (deciding.length > 24 || groups.length > GROUP_LIMIT)
        throw new Error(
          `${describeProbe(probes[0])}: ${deciding.length} rollout flags decide its ${direction} and ${groups.length} distinct except sets lie outside them; the break-glass proof checks 2^${deciding.length + groups.length} policy sets. Give services labels no other service's selector matches`,
        );
      const side: Side = { pair, direction, deciding, groups, denied: [] };
      sides.push(side);
      for (let mask = 0; mask < 2 ** deciding.length; mask++) {
        side.denied[mask] = [];
        const enforced = deciding.filter((_, bit) => (mask >> bit) & 1);
        for (let groupMask = 0; groupMask < 2 ** groups.length; groupMask++) {
          const representatives = groups.filter((_, bit) => (groupMask >> bit) & 1).map((group) => group[0]);
          const stage = [...enforced, ...representatives].sort((a, b) => a - b);
          const from = hooks.breakGlassFrom?.(stage, deciding, flags) ?? stage;
          const breakGlass = breakGlassFor(from);
          const key = `${enforced.join(",")}|${breakGlass.key}`;
          let entry = work.get(key);
          if (entry === undefined)
            work.set(key, (entry = { enforced, breakGlass: breakGlass.manifest, needs: [] }));
          entry.needs.push({ side, mask, groupMask });
        }
      }
    }
  }
  // Each distinct policy set once: the deciding flags' policies in generator order, then B (as generatePolicies places it).
  for (const { enforced, breakGlass, needs } of work.values()) {
    const judge = judgeFor(model, [...enforced.map((flag) => policyOfFlag[flag]), breakGlass], options);
    for (const { side, mask, groupMask } of needs) {
      const blocked = pairs[side.pair].find(
        (probe) => judge.side(probe, side.direction) === ("denied" satisfies SideOutcome),
      );
      side.denied[mask][groupMask] =
        blocked === undefined ? undefined : `${describeProbe(blocked)} blocked at its ${side.direction}`;
    }
  }

  // Failing (subset, groups) per set of "at least one of" groups; within one, families that differ
  // in one fixed flag are merged, as the rollout proof merges its cubes.
  const bySomeOf = new Map<string, { someOf: number[][]; cubes: { cube: Cube; example: string }[] }>();
  const add = (cube: Cube, someOf: number[][], example: string) => {
    const key = JSON.stringify(someOf);
    const entry = bySomeOf.get(key) ?? { someOf, cubes: [] };
    entry.cubes.push({ cube, example });
    bySomeOf.set(key, entry);
  };
  for (const side of sides) {
    side.denied.forEach((byGroups, mask) => {
      const fixed = new Map(side.deciding.map((flag, bit) => [flag, ((mask >> bit) & 1) === 1]));
      const examples = byGroups.filter((example) => example !== undefined);
      // Failing whatever the other flags' excepts: the family is the subset alone.
      if (examples.length === byGroups.length) return add(fixed, [], examples[0]);
      byGroups.forEach((example, groupMask) => {
        if (example === undefined) return;
        const cube = new Map(fixed);
        const someOf: number[][] = [];
        side.groups.forEach((group, bit) => {
          if ((groupMask >> bit) & 1) someOf.push([...group]);
          else for (const flag of group) cube.set(flag, false);
        });
        add(cube, someOf, example);
      });
    });
  }
  const failing = new Map<string, BreakGlassFamily>();
  for (const { someOf, cubes } of bySomeOf.values()) {
    for (const cube of mergeCubes(cubes.map(({ cube }) => cube))) {
      const example = cubes.find(({ cube: small }) =>
        [...cube].every(([flag, on]) => small.get(flag) === on),
      );
      const family = familyOf(flags, signatures, cube, someOf, example?.example ?? "");
      failing.set(family.condition, family);
    }
  }
  const families = [...failing.values()];
  const failingCount = countUnion(families.flatMap(breakGlassFamilyCubes), flags.length);

  // Full enforcement: every flag's policy, B with every except, the DNS egress and the default deny.
  const fullJudgeWithB = judgeFor(
    model,
    generate({ ...config, rollout: full, breakGlass: true }, cidrs).map(({ manifest }) => manifest),
    options,
  );
  const fullBlocked = model.probes.find((probe) => !fullJudgeWithB.isAllowed(probe));
  if (fullBlocked !== undefined)
    families.push({
      condition: `defaultDeny enforce; enforced: ${flags.map(describeFlag).join(", ")}; off: none`,
      enforced: flags.map((_, index) => index),
      off: [],
      someOf: [],
      fullEnforcement: true,
      example: `${describeProbe(fullBlocked)} blocked`,
    });

  const stageCount = 2n ** BigInt(flags.length) + 1n;
  return {
    flags,
    stageCount,
    failing: families,
    stagesProven: stageCount - failingCount - (fullBlocked === undefined ? 0n : 1n),
    policySetsJudged: work.size + 2,
  };
}

function familyOf(
  flags: readonly RolloutFlagRef[],
  signatures: readonly ExceptSignature[],
  cube: Cube,
  someOf: number[][],
  example: string,
): BreakGlassFamily {
  const entries = [...cube.entries()].sort(([a], [b]) => a - b);
  return {
    condition:
      conditionOf(flags, cube) +
      someOf.map((group) => `; ${describeSomeOf(flags, group, signatures[group[0]])}`).join(""),
    enforced: entries.filter(([, on]) => on).map(([flag]) => flag),
    off: entries.filter(([, on]) => !on).map(([flag]) => flag),
    someOf,
    fullEnforcement: false,
    example,
  };
}
