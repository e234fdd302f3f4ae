/**
 * explicit-policy-types: without policyTypes, Kubernetes infers them (Ingress always, Egress only
 * if egress rules exist), so deleting the last egress rule silently lifts egress isolation. And
 * rules of a direction missing from policyTypes are ignored.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { networkPolicyValidation, violation, type Violation } from "./common";

export const NAME = "explicit-policy-types";
export const DESCRIPTION =
  "Every NetworkPolicy states its policyTypes, and has rules only for the types it states.";

const KNOWN_TYPES = ["Ingress", "Egress"];

export const explicitPolicyTypes: ResourceValidationPolicy = {
  name: NAME,
  description: DESCRIPTION,
  validateResource: networkPolicyValidation(({ policy, resource }) => {
    const types = policy.spec?.policyTypes;
    if (types === undefined || types.length === 0) {
      return [
        {
          message: violation(
            resource,
            "spec.policyTypes is missing, so Kubernetes infers it and isolation changes when rules are added or removed",
            "set spec.policyTypes to the directions this policy isolates: [Ingress], [Egress] or [Ingress, Egress]",
          ),
        },
      ];
    }
    const found: Violation[] = [];
    for (const type of types) {
      if (!KNOWN_TYPES.includes(type)) {
        found.push({
          message: violation(
            resource,
            `spec.policyTypes has unknown type "${type}"`,
            "use Ingress and/or Egress",
          ),
        });
      }
    }
    for (const [direction, type] of [
      ["ingress", "Ingress"],
      ["egress", "Egress"],
    ] as const) {
      if ((policy.spec?.[direction] ?? []).length > 0 && !types.includes(type)) {
        found.push({
          message: violation(
            resource,
            `spec.${direction} has rules but spec.policyTypes lacks ${type}, so Kubernetes ignores them`,
            `add ${type} to spec.policyTypes, or remove spec.${direction}`,
          ),
        });
      }
    }
    return found;
  }, DESCRIPTION),
};
