/**
 * flows-match-flow-table: the deployed NetworkPolicies, evaluated by our analyzer on the flash-ticket
 * model, allow every flow of the flow table (no outage at this rollout stage) and, for every pod and
 * direction they isolate, nothing beyond the table and DNS (no exposure). The model (labels, ports,
 * CIDRs, rollout) comes from the FlashNetworkPolicies component's outputs in the engine's state, and
 * the flows from core/flowTable.ts: the same single source the generator reads.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { checkFlowsAgainstTable } from "../../analyzer/flash";
import { COMPONENT_TYPE, NETWORK_POLICY_TYPE } from "../../core/resourceTypes";
import { recordedStateSchema } from "../../core/recordedState";
import { report, violation, type Violation } from "./common";
import { notedPackFacts, type PackFacts } from "./packFacts";
import { checkPackFacts } from "./packFactsCheck";

export { checkPackFacts };
import { isProgramsBreakGlass } from "./breakGlassExemption";
import { namespaceOf, type NetworkPolicyView } from "./k8s";
import { stackNamespace } from "./stackConfig";

export const NAME = "flows-match-flow-table";
export const DESCRIPTION =
  "The NetworkPolicies allow every flow of the flash-ticket flow table and, where they isolate a pod, nothing beyond it and DNS.";

function policyKey(resource: PolicyResource): string {
  const policy = resource.props as NetworkPolicyView;
  return `${namespaceOf(policy, resource.provider)}/${policy.metadata?.name ?? resource.name}`;
}

export function checkStack(resources: readonly PolicyResource[], facts: PackFacts = {}) {
  const policies = resources.filter((resource) => resource.type === NETWORK_POLICY_TYPE);
  const component = resources.find((resource) => resource.type === COMPONENT_TYPE);
  // Without the component there is no model to prove against: manifests checked from a YAML file, or
  // another project using the pack. The other rules still judge every policy.
  if (component === undefined) return [];
  const byKey = new Map(policies.map((resource) => [policyKey(resource), resource]));
  return [...checkPackFacts(component, facts), ...checkFlows(policies, component, byKey)];
}

function checkFlows(
  policies: readonly PolicyResource[],
  component: PolicyResource,
  byKey: Map<string, PolicyResource>,
): Violation[] {
  // The namespace the component recorded deploying to; the stack config's when it recorded none.
  const recorded = recordedStateSchema.pick({ namespace: true }).safeParse(component.props);
  const namespace = (recorded.success ? recorded.data.namespace : undefined) ?? stackNamespace();
  return checkFlowsAgainstTable(
    policies.map((resource) => resource.props),
    component?.props,
  ).map((found) => {
    const culprits = found.policies.map((key) => byKey.get(key)).filter((resource) => resource !== undefined);
    // The program's own emergency allow-all must never block a deployment; break-glass-active
    // already reports it. Any other policy with the label is judged (breakGlassExemption.ts).
    const onlyBreakGlass =
      found.kind === "exposure" &&
      culprits.length > 0 &&
      culprits.every((resource) =>
        isProgramsBreakGlass(resource.props as NetworkPolicyView, resource.provider, namespace),
      );
    // One resource per message (the pack's shape); the analyzer's text names any others involved.
    const subject = found.policies[0] !== undefined ? `NetworkPolicy ${found.policies[0]}` : "Stack";
    return {
      message: violation(subject, found.message.replace(/\.?\s*Fix:.*$/s, ""), fixOf(found.message)),
      urn: culprits[0]?.urn ?? component?.urn,
      forceLevel: onlyBreakGlass ? ("advisory" as const) : undefined,
    };
  });
}

/** The analyzer's messages end with their own fix; keep it, in the pack's message shape. */
function fixOf(message: string): string {
  const fix = /Fix:\s*(.*)$/s.exec(message)?.[1];
  return (
    fix?.replace(/\.$/, "") ??
    "change the NetworkPolicies or the flow table (core/flowTable.ts) so they agree"
  );
}

export const flowsMatchFlowTable: StackValidationPolicy = {
  name: NAME,
  description: DESCRIPTION,
  validateStack: (args, reportViolation) => {
    for (const found of checkStack(args.resources, notedPackFacts()))
      report(reportViolation, DESCRIPTION, found);
  },
};
