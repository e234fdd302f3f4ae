/**
 * The logic of the stack rule `flows-match-flow-table`: are the deployed NetworkPolicies exactly
 * the flow table? Pure, so the policy pack wires it in and tests call it directly.
 *
 * The model comes from the FlashNetworkPolicies component's registered outputs (the engine's
 * state), never from config or AWS: a stack policy sees only what the engine recorded.
 */
import { recordedStateSchema } from "../../core/recordedState";
import { networkPolicySchema, type NetworkPolicy } from "../index";
import {
  describeProbe,
  evaluateConnectivity,
  isPolicedExposure,
  type Exposure,
  type Outage,
} from "./connectivity";
import { buildFlashModel, type FlashModel } from "./model";
import { portsMentionedBy } from "./mentionedPorts";
import { oneSidedExposures, type OneSidedExposure } from "./oneSidedExposures";
import { describeRollout } from "./stages";
import { topologyFromComponentOutputs } from "./topology";

export type FlowTableViolationKind = "outage" | "exposure" | "model-unavailable" | "unreadable-policy";

export interface FlowTableViolation {
  readonly kind: FlowTableViolationKind;
  /** Complete on its own: what is wrong, which flow or rule, and what to do. */
  readonly message: string;
  /** Flow-table rows concerned ("flash-api -> dns"); set for outages. */
  readonly flows: readonly string[];
  /**
   * Policies ("namespace/name") at fault: for an exposure the ones whose rules admit it, for an
   * unreadable policy that policy. Lets the pack attach the violation to the resource's URN.
   */
  readonly policies: readonly string[];
}

/** Examples per violation: enough to see the pattern, short enough to read in `pulumi preview`. */
const EXAMPLES_SHOWN = 6;

function listExamples(texts: readonly string[]): string {
  const shown = texts.slice(0, EXAMPLES_SHOWN).join(", ");
  return texts.length > EXAMPLES_SHOWN ? `${shown} and ${texts.length - EXAMPLES_SHOWN} more` : shown;
}

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  return groups;
}

function outageViolations(outages: readonly Outage[], stage: string): FlowTableViolation[] {
  // One violation per declared flow: "flash-api -> dns is blocked" reads better than eight probes.
  const byFlow = groupBy(outages, (outage) => outage.probe.intendedBy.map((flow) => flow.name).join(" / "));
  return [...byFlow].map(([flowNames, group]) => {
    const { intendedBy } = group[0].probe;
    const deniedBy = new Set(
      group.flatMap(({ explanation }) =>
        [explanation.egress, explanation.ingress].flatMap((verdict) =>
          verdict.kind === "denied" ? verdict.isolatedBy : [],
        ),
      ),
    );
    return {
      kind: "outage",
      flows: intendedBy.map((flow) => flow.name),
      policies: [...deniedBy],
      message:
        `outage at the deployed stage (${stage}): flow ${flowNames} (${intendedBy.map((flow) => flow.purpose).join("; ")}) ` +
        `is blocked for ${listExamples(group.map((outage) => describeProbe(outage.probe)))}; ` +
        `isolated by ${[...deniedBy].join(", ")} with no rule admitting it. ` +
        `Fix: render the policies from the flow table (core/networkPolicies.ts) instead of editing them.`,
    };
  });
}

/**
 * Exposures grouped by the rules that admit them, one violation per group (one over-wide rule is one
 * violation, not hundreds); `problem` words it from the rules, the count and the examples.
 */
function groupedByAdmittingRules(
  exposures: readonly (Exposure | OneSidedExposure)[],
  problem: (rules: string, count: number, examples: string) => string,
): FlowTableViolation[] {
  const describeRules = (exposure: Exposure | OneSidedExposure) =>
    exposure.admittedBy.map((rule) => `${rule.policy} ${rule.direction}[${rule.ruleIndex}]`).join(", ");
  return [...groupBy(exposures, describeRules)].map(([rules, group]) => ({
    kind: "exposure",
    flows: [],
    policies: [...new Set(group.flatMap((exposure) => exposure.admittedBy.map((rule) => rule.policy)))],
    message: problem(
      rules,
      group.length,
      listExamples(group.map((exposure) => describeProbe(exposure.probe))),
    ),
  }));
}

function exposureViolations(exposures: readonly Exposure[], stage: string): FlowTableViolation[] {
  return groupedByAdmittingRules(
    exposures,
    (rules, count, examples) =>
      `exposure at the deployed stage (${stage}): ${rules} admits ${count} connection(s) no flow of the table declares: ` +
      `${examples}. ` +
      `Fix: narrow the rule to the flow table, or add the flow to core/flowTable.ts if the platform needs it.`,
  );
}

function oneSidedViolations(exposures: readonly OneSidedExposure[], stage: string): FlowTableViolation[] {
  return groupedByAdmittingRules(
    exposures,
    (rules, count, examples) =>
      `over-wide rule at the deployed stage (${stage}): ${rules} admits ${count} connection(s) no flow of the table declares ` +
      `(the other side blocks them today, but not once its policy is off): ` +
      `${examples}. ` +
      `Fix: narrow the rule to the flow table, or add the flow to the flow table (flash-netpol:flows) if the platform needs it.`,
  );
}

function parsePolicies(networkPolicyProps: readonly unknown[]): {
  policies: NetworkPolicy[];
  problems: FlowTableViolation[];
} {
  const policies: NetworkPolicy[] = [];
  const problems: FlowTableViolation[] = [];
  networkPolicyProps.forEach((props, index) => {
    const parsed = networkPolicySchema.safeParse(props);
    if (parsed.success) {
      policies.push(parsed.data);
      return;
    }
    const metadata = (props as { metadata?: { name?: unknown; namespace?: unknown } } | null)?.metadata;
    const name = `${String(metadata?.namespace ?? "?")}/${String(metadata?.name ?? `#${index}`)}`;
    const issue = parsed.error.issues[0];
    problems.push({
      kind: "unreadable-policy",
      flows: [],
      policies: [name],
      message:
        `NetworkPolicy ${name} cannot be analysed (${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"}), ` +
        `so the flows it allows are unknown. Fix: give it a complete networking.k8s.io/v1 spec.`,
    });
  });
  return { policies, problems };
}

/**
 * Judges the stack's NetworkPolicies against the flow table.
 *
 * @param networkPolicyProps the properties of every `kubernetes:networking.k8s.io/v1:NetworkPolicy`
 *   resource of the stack, as the engine hands them to a stack policy (`resource.props`).
 * @param componentOutputs what the `flash-netpol:index:FlashNetworkPolicies` component registered
 *   (its state outputs); `undefined` when the stack has no such component or it recorded nothing.
 * @returns outages (an intended flow the deployed policies block), exposures (a connection an
 *   isolating policy admits beyond the table and DNS; unisolated pods mid-rollout are not
 *   reported), unreadable policies, or one `model-unavailable` problem when the outputs are missing.
 *
 * Every policy given is judged, break-glass included: an active `break-glass-allow-all` comes back
 * as exposures whose `policies` name it, so the pack can keep those advisory (an emergency must
 * never be blocked) while still blocking any other rule wider than the table.
 */
export function checkFlowsAgainstTable(
  networkPolicyProps: readonly unknown[],
  componentOutputs: Readonly<Record<string, unknown>> | undefined,
): FlowTableViolation[] {
  const unavailable = (why: string): FlowTableViolation[] => [
    {
      kind: "model-unavailable",
      flows: [],
      policies: [],
      message:
        `the flash-ticket model is unavailable: ${why}, so the policies cannot be checked against the flow table. ` +
        `Fix: deploy the policies through the FlashNetworkPolicies component, which records its model in its outputs.`,
    },
  ];
  if (componentOutputs === undefined || Object.keys(componentOutputs).length === 0) {
    return unavailable("the FlashNetworkPolicies component registered no outputs");
  }
  const topology = topologyFromComponentOutputs(componentOutputs);
  if (!topology.ok) return unavailable(topology.problem);

  const rollout = recordedStateSchema.shape.rollout.safeParse(componentOutputs.rollout);
  const stage = rollout.success ? describeRollout(rollout.data) : "rollout not recorded";
  const { policies, problems } = parsePolicies(networkPolicyProps);
  let model: FlashModel;
  try {
    model = buildFlashModel(topology.topology, {
      neighbourPorts: true,
      alsoProbe: portsMentionedBy(policies),
    });
  } catch (error) {
    // A stack rule must report, never crash the pack: an unplaceable model is a problem to show.
    return [...problems, ...unavailable(error instanceof Error ? error.message : String(error))];
  }
  const report = evaluateConnectivity(model, policies);
  return [
    ...problems,
    ...outageViolations(report.outages, stage),
    ...exposureViolations(report.exposures.filter(isPolicedExposure), stage),
    ...oneSidedViolations(oneSidedExposures(model, policies), stage),
  ];
}
