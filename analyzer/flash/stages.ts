/**
 * The rollout stages a stack can be in: every combination of its rollout flags (two per service,
 * plus defaultDeny) that stack config accepts. Asking the config schema itself (rather than writing
 * "2^(2n) + 1" here) keeps this list right if the refine on defaultDeny ever changes.
 */
import { CONFIG_SCHEMA, type RolloutConfig, type RolloutFlag } from "../../core/config";
import type { ServiceName } from "../../core/flowTable";
import { DIRECTIONS } from "../../core/kubernetes";

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
 * full enforcement last: 2^(2n) + 1 stages for n services. Exponential: the test oracle of the
 * polynomial proof (rolloutFamilies.ts) for a few services, never the plan's path.
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

function parsedRollout(rollout: unknown, what: string): RolloutConfig {
  const parsed = CONFIG_SCHEMA.rollout.safeParse(rollout);
  if (!parsed.success)
    throw new Error(
      `the config schema refuses ${what} (${parsed.error.issues[0]?.message}); the rollout proof assumes it accepts it`,
    );
  return parsed.data;
}

function everyService(services: readonly ServiceName[], flag: RolloutFlag) {
  return Object.fromEntries(services.map((service) => [service, { ingress: flag, egress: flag }]));
}

/** Every flag enforced, the default deny included: built directly, checked by the config schema. */
export function fullEnforcement(services: readonly ServiceName[]): RolloutConfig {
  return parsedRollout(
    { defaultDeny: "enforce", services: everyService(services, "enforce") },
    "full enforcement",
  );
}

/**
 * The shape of the reachable stages the polynomial proof relies on, asked of the config schema:
 * with defaultDeny off every service flag is free (all off, all on, and alternating are accepted),
 * and defaultDeny enforce refuses any service flag off. Throws when the schema changes that.
 */
export function serviceFlagsOff(services: readonly ServiceName[]): RolloutConfig {
  const none = parsedRollout(
    { defaultDeny: "off", services: everyService(services, "off") },
    "defaultDeny off with every service flag off",
  );
  parsedRollout(
    { defaultDeny: "off", services: everyService(services, "enforce") },
    "defaultDeny off, all enforced",
  );
  parsedRollout(
    {
      defaultDeny: "off",
      services: Object.fromEntries(
        services.map((service, index) => [
          service,
          { ingress: FLAGS[index % 2], egress: FLAGS[(index + 1) % 2] },
        ]),
      ),
    },
    "defaultDeny off with mixed flags",
  );
  for (const service of services) {
    for (const direction of DIRECTIONS) {
      const partial = { defaultDeny: "enforce", services: everyService(services, "enforce") };
      partial.services[service] = { ...partial.services[service], [direction]: "off" };
      if (CONFIG_SCHEMA.rollout.safeParse(partial).success)
        throw new Error(
          `the config schema accepts defaultDeny enforce with ${service} ${direction} off; the rollout proof assumes defaultDeny needs every service flag enforced (analyzer/flash/rolloutFamilies.ts)`,
        );
    }
  }
  return none;
}

/** Reachable stages without listing them: 2^(2n) with defaultDeny off, plus full enforcement. */
export function reachableStageCount(services: readonly ServiceName[]): bigint {
  serviceFlagsOff(services);
  return 2n ** BigInt(services.length * DIRECTIONS.length) + 1n;
}

/**
 * The documented stage plan (README "Staged rollout"): every service's ingress at once, then the
 * egress of flash-pay, flash-gateway and flash-api in that order (the most sensitive pod first), then
 * the namespace default deny. Services the plan does not name (added later, see "Extending") get their
 * egress after the named ones, by name, since defaultDeny needs every service enforced. The one
 * source of the order: `npm run replay -- --candidate next` walks it.
 */
export const STAGED_EGRESS_ORDER: readonly ServiceName[] = ["flash-pay", "flash-gateway", "flash-api"];

export interface RolloutStep {
  /** "every service's ingress", "flash-api egress", "defaultDeny". */
  readonly name: string;
  readonly done: (rollout: RolloutConfig) => boolean;
  readonly apply: (rollout: RolloutConfig) => RolloutConfig;
}

function cloneRollout(rollout: RolloutConfig): RolloutConfig {
  return JSON.parse(JSON.stringify(rollout)) as RolloutConfig;
}

export function rolloutStagePlan(services: readonly ServiceName[]): RolloutStep[] {
  const named = STAGED_EGRESS_ORDER.filter((service) => services.includes(service));
  const others = services.filter((service) => !STAGED_EGRESS_ORDER.includes(service)).sort();
  return [
    {
      name: "every service's ingress",
      done: (rollout) => Object.values(rollout.services).every((flags) => flags.ingress === "enforce"),
      apply: (rollout) => {
        const next = cloneRollout(rollout);
        for (const flags of Object.values(next.services)) flags.ingress = "enforce";
        return next;
      },
    },
    ...[...named, ...others].map((service): RolloutStep => ({
      name: `${service} egress`,
      done: (rollout) => rollout.services[service]?.egress === "enforce",
      apply: (rollout) => {
        const next = cloneRollout(rollout);
        next.services[service].egress = "enforce";
        return next;
      },
    })),
    {
      name: "defaultDeny",
      done: (rollout) => rollout.defaultDeny === "enforce",
      apply: (rollout) => ({ ...cloneRollout(rollout), defaultDeny: "enforce" }),
    },
  ];
}
