/**
 * The rollout to replay against: `next` (the next step of the documented stage plan,
 * analyzer/flash/stages.ts `rolloutStagePlan`, whatever order the stack file lists services in),
 * `target` (everything enforced), or explicit flags applied to the current rollout
 * (`flash-api.egress=enforce,defaultDeny=enforce`). Every candidate passes the config schema, so it
 * is a rollout `pulumi up` would accept.
 */
import { CONFIG_SCHEMA, type RolloutConfig } from "../core/config";
import type { ServiceName } from "../core/flowTable";
import { DIRECTIONS } from "../core/kubernetes";
import { fullEnforcement, rolloutStagePlan } from "../analyzer/flash/stages";

export type CandidateResult =
  | { readonly ok: true; readonly rollout: RolloutConfig; readonly description: string }
  | { readonly ok: false; readonly problem: string };

function clone(rollout: RolloutConfig): RolloutConfig {
  return JSON.parse(JSON.stringify(rollout)) as RolloutConfig;
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

export function resolveCandidate(spec: string, current: RolloutConfig): CandidateResult {
  if (spec === "target")
    return {
      ok: true,
      rollout: fullEnforcement(Object.keys(current.services)),
      description: "target (everything enforced)",
    };
  if (spec === "next") {
    const services: ServiceName[] = Object.keys(current.services);
    const step = rolloutStagePlan(services).find((candidate) => !candidate.done(current));
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
