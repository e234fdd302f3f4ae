/** Calls a pack rule as @pulumi/policy's server would, without a pack process. */
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { NETWORK_POLICY_TYPE } from "../../core/resourceTypes";
import type { NetworkPolicyView } from "../../policies/rules/k8s";

export { NETWORK_POLICY_TYPE };

export interface Reported {
  message: string;
  level?: string;
}

/** Calls a resource rule as the pack server would, collecting both report forms. */
export function runRule(
  rule: ResourceValidationPolicy,
  props: NetworkPolicyView,
  config: Record<string, unknown> = {},
): Reported[] {
  const reported: Reported[] = [];
  const reportViolation = ((message: string | { message: string; enforcementLevel?: string }) => {
    reported.push(
      typeof message === "string"
        ? { message }
        : { message: message.message, level: message.enforcementLevel },
    );
  }) as ReportViolation;
  const args = {
    type: NETWORK_POLICY_TYPE,
    props: props as Record<string, unknown>,
    urn: "urn:pulumi:test::flash-netpol::x",
    name: props.metadata?.name ?? "x",
    opts: {
      protect: false,
      ignoreChanges: [],
      aliases: [],
      additionalSecretOutputs: [],
      customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    },
    stackTags: new Map(),
    getConfig: <T>() => config as T,
    isType: () => true,
    asType: () => props,
    notApplicable: () => {
      throw new Error("not applicable");
    },
  } as unknown as ResourceValidationArgs;
  const validations = rule.validateResource === undefined ? [] : [rule.validateResource].flat();
  for (const validate of validations) void validate(args, reportViolation);
  return reported;
}
