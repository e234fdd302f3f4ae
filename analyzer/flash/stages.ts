/**
 * The rollout stages a stack can be in: every combination of the seven rollout flags that stack
 * config accepts. Asking the config schema itself (rather than writing "64 + 1" here) keeps this
 * list right if the refine on defaultDeny ever changes.
 */
import { CONFIG_SCHEMA, type RolloutConfig, type RolloutFlag } from "../../components/config";
import { DIRECTIONS, SERVICE_NAMES } from "../../components/flowTable";

export interface RolloutStage {
  /** "defaultDeny off; enforced: flash-gateway ingress, flash-pay egress" */
  readonly name: string;
  readonly rollout: RolloutConfig;
}

const FLAGS: readonly RolloutFlag[] = ["off", "enforce"];

function rolloutFromBits(bits: number): unknown {
  let bit = 0;
  const next = (): RolloutFlag => FLAGS[(bits >> bit++) & 1];
  const services = Object.fromEntries(
    SERVICE_NAMES.map((service) => [
      service,
      Object.fromEntries(DIRECTIONS.map((direction) => [direction, next()])),
    ]),
  );
  return { services, defaultDeny: next() };
}

export function describeRollout(rollout: RolloutConfig): string {
  const enforced = SERVICE_NAMES.flatMap((service) =>
    DIRECTIONS.filter((direction) => rollout.services[service][direction] === "enforce").map(
      (direction) => `${service} ${direction}`,
    ),
  );
  return `defaultDeny ${rollout.defaultDeny}; enforced: ${enforced.length > 0 ? enforced.join(", ") : "none"}`;
}

export function isFullEnforcement(rollout: RolloutConfig): boolean {
  return (
    rollout.defaultDeny === "enforce" &&
    SERVICE_NAMES.every((service) =>
      DIRECTIONS.every((direction) => rollout.services[service][direction] === "enforce"),
    )
  );
}

/** Every flag combination the config schema accepts, "nothing enforced" first, full enforcement last. */
export function reachableRolloutStages(): RolloutStage[] {
  const flagCount = SERVICE_NAMES.length * DIRECTIONS.length + 1;
  const stages: RolloutStage[] = [];
  for (let bits = 0; bits < 2 ** flagCount; bits++) {
    const parsed = CONFIG_SCHEMA.rollout.safeParse(rolloutFromBits(bits));
    if (parsed.success) stages.push({ name: describeRollout(parsed.data), rollout: parsed.data });
  }
  return stages;
}

export function fullEnforcement(): RolloutConfig {
  const full = reachableRolloutStages().find((stage) => isFullEnforcement(stage.rollout));
  if (full === undefined) throw new Error("the config schema accepts no fully enforced rollout");
  return full.rollout;
}
