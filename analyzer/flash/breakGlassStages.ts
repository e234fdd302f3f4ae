/**
 * The vocabulary of the break-glass proof (breakGlassFamilies.ts): what a flag contributes to the
 * break-glass policy (its except ranges per direction), the failing families of stages it reports,
 * and how a family is counted and matched against one stage without listing the others.
 */
import type { StackConfig } from "../../core/config";
import { exceptedRanges, type NetworkPolicyManifest } from "../../core/networkPolicies";
import {
  describeFlag,
  enforcedIn,
  familyHolds,
  type FailingFamily,
  type RolloutFlagRef,
} from "./rolloutFamilies";
import type { Cube } from "./stageFamilies";

/** The ranges a policy excepts, per direction: what it makes the break-glass policy list. */
export interface ExceptSignature {
  readonly ingress: readonly string[];
  readonly egress: readonly string[];
  readonly empty: boolean;
}

export function exceptSignature(policy: NetworkPolicyManifest): ExceptSignature {
  return signature(exceptedRanges([policy], "ingress"), exceptedRanges([policy], "egress"));
}

function signature(ingress: readonly string[], egress: readonly string[]): ExceptSignature {
  return { ingress, egress, empty: ingress.length === 0 && egress.length === 0 };
}

export function unionOfSignatures(signatures: readonly ExceptSignature[]): ExceptSignature {
  const union = (pick: (one: ExceptSignature) => readonly string[]) =>
    [...new Set(signatures.flatMap(pick))].sort();
  return signature(
    union((one) => one.ingress),
    union((one) => one.egress),
  );
}

export function signatureKey(one: ExceptSignature): string {
  return `in:${one.ingress.join(",")} out:${one.egress.join(",")}`;
}

export function describeSignature(one: ExceptSignature): string {
  const parts = [
    ...(one.egress.length > 0 ? [`egress ${one.egress.join(", ")}`] : []),
    ...(one.ingress.length > 0 ? [`ingress ${one.ingress.join(", ")}`] : []),
  ];
  return parts.length === 0 ? "nothing" : parts.join("; ");
}

/**
 * A failing family of stages: the flags it fixes, and groups of which at least one flag is enforced
 * (so break-glass lists their except ranges); every flag not named is free.
 */
export interface BreakGlassFamily extends FailingFamily {
  /** "defaultDeny off; enforced: svc-a egress; off: svc-b egress; at least one of svc-c egress (...)" */
  readonly condition: string;
  /** Each group: at least one of these flags enforced. */
  readonly someOf: readonly (readonly number[])[];
}

export function describeSomeOf(
  flags: readonly RolloutFlagRef[],
  group: readonly number[],
  excepts: ExceptSignature,
): string {
  return `at least one of ${group.map((flag) => describeFlag(flags[flag])).join(", ")} enforced (break-glass lists ${describeSignature(excepts)})`;
}

/**
 * The family as disjoint cubes, for counting: "at least one of a, b, c" is "a on", "a off, b on",
 * "a off, b off, c on". Not for full enforcement (counted apart).
 */
export function breakGlassFamilyCubes(family: BreakGlassFamily): Cube[] {
  let cubes: Map<number, boolean>[] = [
    new Map([
      ...family.enforced.map((flag): [number, boolean] => [flag, true]),
      ...family.off.map((flag): [number, boolean] => [flag, false]),
    ]),
  ];
  for (const group of family.someOf)
    cubes = cubes.flatMap((cube) =>
      group.map((first, index) => {
        const next = new Map(cube);
        for (const before of group.slice(0, index)) next.set(before, false);
        next.set(first, true);
        return next;
      }),
    );
  return cubes;
}

/** Whether the family holds this rollout. */
export function breakGlassFamilyHolds(
  family: BreakGlassFamily,
  flags: readonly RolloutFlagRef[],
  rollout: StackConfig["rollout"],
): boolean {
  if (!familyHolds(family, flags, rollout)) return false;
  const on = enforcedIn(flags, rollout);
  return family.fullEnforcement || family.someOf.every((group) => group.some(on));
}
