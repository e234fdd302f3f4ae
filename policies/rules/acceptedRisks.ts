/**
 * accepted-risks: risks the stack accepted in its config, as the component recorded them
 * (discoveryWarnings: a data store in subnets the cluster or the ALB also uses, accepted with
 * flash-netpol:dataStores.<store>.allowSharedSubnets). The program deploys them on purpose, so this
 * rule never blocks; it reports each on every preview, advisory whatever the pack config says, so
 * the exposure stays visible until the store moves to dedicated subnets.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { report, violation, type Violation } from "./common";
import { recordedStateSchema } from "../../core/recordedState";
import { COMPONENT_TYPE } from "../../core/resourceTypes";
import { allowSharedSubnetsKey, storeOfSharedSubnetLine } from "../../core/sharedSubnetLines";

export const NAME = "accepted-risks";
export const DESCRIPTION =
  "Risks the stack accepted in config (data-store subnets shared with the cluster or the ALB under allowSharedSubnets); always advisory.";

/** Only the key this rule reads, so a stack recorded by an older program (without it) says nothing. */
const recordedWarnings = recordedStateSchema.pick({ discoveryWarnings: true }).partial();

function acceptedRisksOf(component: PolicyResource): Violation[] {
  const parsed = recordedWarnings.safeParse(component.props);
  // Unreadable state is reported by flows-match-flow-table as an unavailable model.
  if (!parsed.success) return [];
  return (parsed.data.discoveryWarnings ?? []).map((warning) => {
    const store = storeOfSharedSubnetLine(warning);
    const problem =
      store === undefined
        ? `accepted risk recorded by the component: ${warning}`
        : `${allowSharedSubnetsKey(store)} is true, so the stack deploys an accepted exposure: ${warning}`;
    const fix =
      store === undefined
        ? "remove the cause, or keep accepting it knowingly"
        : `move the ${store} data store to subnets of its own, then remove ${allowSharedSubnetsKey(store)}`;
    return { message: violation("Stack", problem, fix), urn: component.urn, forceLevel: "advisory" };
  });
}

export function checkAcceptedRisks(resources: readonly PolicyResource[]): Violation[] {
  return resources
    .filter((resource) => resource.type === COMPONENT_TYPE)
    .flatMap((component) => acceptedRisksOf(component));
}

export const acceptedRisks: StackValidationPolicy = {
  name: NAME,
  description: DESCRIPTION,
  enforcementLevel: "advisory",
  validateStack: (args, reportViolation) => {
    for (const found of checkAcceptedRisks(args.resources)) report(reportViolation, DESCRIPTION, found);
  },
};
