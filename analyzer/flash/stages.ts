/**
 * The rollout stages a stack can be in: every combination of its rollout flags (two per service,
 * plus defaultDeny) that stack config accepts. Asking the config schema itself (rather than writing
 * "2^(2n) + 1" here) keeps this list right if the refine on defaultDeny ever changes.
 */
import { CONFIG_SCHEMA, type RolloutConfig, type RolloutFlag } from "../../components/config";
import { DIRECTIONS, type ServiceName } from "../../components/flowTable";

export interface RolloutStage {
  /** "defaultDeny off; enforced: flash-gateway ingress, flash-pay egress" */
  readonly name: string;
  readonly rollout: RolloutConfig;
}

const FLAGS: readonly RolloutFlag[] = ["off", "enforce"];

function rolloutFromBits(bits: number, serviceNames: readonly ServiceName[]): unknown {
  let bit = 0;
  const next = (): RolloutFlag => FLAGS[Math.floor(bits / 2 ** bit++) % 2];
  const services = Object.fromEntries(
    serviceNames.map((service) => [
      service,
      Object.fromEntries(DIRECTIONS.map((direction) => [direction, next()])),
    ]),
  );
  return { services, defaultDeny: next() };
}

export function describeRollout(rollout: RolloutConfig): string {
  const enforced = Object.entries(rollout.services).flatMap(([service, flags]) =>
    DIRECTIONS.filter((direction) => flags[direction] === "enforce").map(
      (direction) => `${service} ${direction}`,
    ),
  );
  return `defaultDeny ${rollout.defaultDeny}; enforced: ${enforced.length > 0 ? enforced.join(", ") : "none"}`;
}

export function isFullEnforcement(rollout: RolloutConfig): boolean {
  return (
    rollout.defaultDeny === "enforce" &&
    Object.values(rollout.services).every((flags) =>
      DIRECTIONS.every((direction) => flags[direction] === "enforce"),
    )
  );
}

/**
 * Every flag combination the config schema accepts for these services, "nothing enforced" first,
 * full enforcement last: 2^(2n) + 1 stages for n services.
 */
export function reachableRolloutStages(services: readonly ServiceName[]): RolloutStage[] {
  const flagCount = services.length * DIRECTIONS.length + 1;
  const stages: RolloutStage[] = [];
  for (let bits = 0; bits < 2 ** flagCount; bits++) {
    const parsed = CONFIG_SCHEMA.rollout.safeParse(rolloutFromBits(bits, services));
    if (parsed.success) stages.push({ name: describeRollout(parsed.data), rollout: parsed.data });
  }
  return stages;
}

export function fullEnforcement(services: readonly ServiceName[]): RolloutConfig {
  const full = reachableRolloutStages(services).find((stage) => isFullEnforcement(stage.rollout));
  if (full === undefined) throw new Error("the config schema accepts no fully enforced rollout");
  return full.rollout;
}
