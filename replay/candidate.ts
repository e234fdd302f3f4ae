/**
 * The rollout to replay against: `next` (the stage order of docs/rollout.md: every service's ingress at once,
 * then each service's egress in the order the stack file lists them under rollout.services, then
 * defaultDeny), `target` (everything enforced), or explicit flags applied to the current rollout
 * (`flash-api.egress=enforce,defaultDeny=enforce`). Every candidate passes the config schema, so it
 * is a rollout `pulumi up` would accept.
 */
import { CONFIG_SCHEMA, CONFIG_NAMESPACE, type RolloutConfig } from "../components/config";
import { DIRECTIONS, type ServiceName } from "../components/flowTable";
import { fullEnforcement } from "../analyzer/flash";

export interface RolloutStep {
  /** "every service's ingress", "flash-api egress", "defaultDeny". */
  readonly name: string;
  readonly apply: (rollout: RolloutConfig) => RolloutConfig;
  readonly done: (rollout: RolloutConfig) => boolean;
}

export type CandidateResult =
  | { readonly ok: true; readonly rollout: RolloutConfig; readonly description: string }
  | { readonly ok: false; readonly problem: string };

function clone(rollout: RolloutConfig): RolloutConfig {
  return JSON.parse(JSON.stringify(rollout)) as RolloutConfig;
}

/** The services in the order the stack file lists them under rollout.services (every service is listed there). */
export function serviceOrderOf(stackConfig: Readonly<Record<string, string>>): ServiceName[] {
  const raw = stackConfig[`${CONFIG_NAMESPACE}:rollout`];
  let listed: string[] = [];
  try {
    const parsed =
      raw === undefined ? undefined : (JSON.parse(raw) as { services?: Record<string, unknown> });
    listed = Object.keys(parsed?.services ?? {});
  } catch {
    listed = [];
  }
  return listed;
}

export function rolloutSteps(order: readonly ServiceName[]): RolloutStep[] {
  return [
    {
      name: "every service's ingress",
      done: (rollout) => Object.values(rollout.services).every((flags) => flags.ingress === "enforce"),
      apply: (rollout) => {
        const next = clone(rollout);
        for (const flags of Object.values(next.services)) flags.ingress = "enforce";
        return next;
      },
    },
    ...order.map((service): RolloutStep => ({
      name: `${service} egress`,
      done: (rollout) => rollout.services[service].egress === "enforce",
      apply: (rollout) => {
        const next = clone(rollout);
        next.services[service].egress = "enforce";
        return next;
      },
    })),
    {
      name: "defaultDeny",
      done: (rollout) => rollout.defaultDeny === "enforce",
      apply: (rollout) => ({ ...clone(rollout), defaultDeny: "enforce" }),
    },
  ];
}

function explicitFlags(spec: string, current: RolloutConfig): CandidateResult {
  const next = clone(current);
  const valid = [
    ...Object.keys(current.services).flatMap((service) =>
      DIRECTIONS.map((direction) => `${service}.${direction}`),
    ),
    "defaultDeny",
  ];
  for (const assignment of spec
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "")) {
    const match = /^([^=]+)=(.*)$/.exec(assignment);
    const [flag, value] = match === null ? [assignment, ""] : [match[1].trim(), match[2].trim()];
    if (!valid.includes(flag))
      return {
        ok: false,
        problem: `--candidate: unknown flag "${flag}"; expected next, target, or FLAG=off|enforce,... with FLAG one of ${valid.join(", ")}`,
      };
    if (value !== "off" && value !== "enforce")
      return { ok: false, problem: `--candidate: ${flag}="${value}"; expected off or enforce` };
    if (flag === "defaultDeny") next.defaultDeny = value;
    else {
      const [service, direction] = flag.split(".") as [ServiceName, (typeof DIRECTIONS)[number]];
      next.services[service]![direction] = value;
    }
  }
  const checked = CONFIG_SCHEMA.rollout.safeParse(next);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    return { ok: false, problem: `--candidate ${spec}: rollout.${issue.path.join(".")}: ${issue.message}` };
  }
  return { ok: true, rollout: checked.data, description: `explicit flags ${spec}` };
}

export function resolveCandidate(
  spec: string,
  current: RolloutConfig,
  order: readonly ServiceName[],
): CandidateResult {
  if (spec === "target")
    return {
      ok: true,
      rollout: fullEnforcement(Object.keys(current.services)),
      description: "target (everything enforced)",
    };
  if (spec === "next") {
    const step = rolloutSteps(order).find((candidate) => !candidate.done(current));
    if (step === undefined)
      return {
        ok: true,
        rollout: clone(current),
        description: "next: none (the stack already enforces everything)",
      };
    return { ok: true, rollout: step.apply(current), description: `next stage: ${step.name}` };
  }
  return explicitFlags(spec, current);
}
