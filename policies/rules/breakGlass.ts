/**
 * break-glass-active: the program can add an allow-all policy in an emergency. It must never block
 * a deployment (that is the point of it), and it must never go unnoticed: this rule reports it as
 * advisory whatever level the pack config gives, and every other rule skips it.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { report, violation } from "./common";
import { BREAK_GLASS_LABEL, describePolicy, isBreakGlass, type NetworkPolicyView } from "./k8s";
import { NETWORK_POLICY_TYPE } from "../../core/resourceTypes";

export const NAME = "break-glass-active";
export const DESCRIPTION = `A NetworkPolicy labelled ${BREAK_GLASS_LABEL}: "true" (emergency allow-all) is active; always advisory.`;

export const breakGlassActive: ResourceValidationPolicy = {
  name: NAME,
  description: DESCRIPTION,
  enforcementLevel: "advisory",
  validateResource: (args, reportViolation) => {
    if (args.type !== NETWORK_POLICY_TYPE) return;
    const policy = args.props as NetworkPolicyView;
    if (!isBreakGlass(policy)) return;
    const resource = describePolicy(policy, args.name, args.provider);
    report(reportViolation, DESCRIPTION, {
      message: violation(
        resource,
        "break-glass allow-all is active: the zero-trust rules are suspended for the pods it selects",
        `remove it (flash-netpol break-glass switch off) as soon as the incident is over`,
      ),
      forceLevel: "advisory",
    });
  },
};
