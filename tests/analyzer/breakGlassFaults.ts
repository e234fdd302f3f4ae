/**
 * Faulty generators for the break-glass proof's tests: each renders the stage's policies as
 * generatePolicies does, then spoils the break-glass policy in one way that still depends on the
 * stage only through the excepted ranges it lists (so the proof's argument applies and it must find
 * exactly the stages the enumeration finds).
 */
import {
  generatePolicies,
  type NetworkPolicyEgressRule,
  type NetworkPolicyIngressRule,
  type NetworkPolicyManifest,
} from "../../core/networkPolicies";
import type { PolicyGenerator } from "../../analyzer/flash";

type Rule = NetworkPolicyIngressRule | NetworkPolicyEgressRule;
const isAllowAll = (rule: Rule) => Object.keys(rule).length === 0;

function spoilBreakGlass(spoil: (rules: Rule[]) => Rule[]): PolicyGenerator {
  return (config, cidrs) =>
    generatePolicies(config, cidrs).map((policy) => {
      if (policy.role.kind !== "breakGlass") return policy;
      const spec: NetworkPolicyManifest["spec"] = structuredClone(policy.manifest.spec);
      spec.ingress = spoil(spec.ingress ?? []) as NetworkPolicyIngressRule[];
      spec.egress = spoil(spec.egress ?? []) as NetworkPolicyEgressRule[];
      return { ...policy, manifest: { ...policy.manifest, spec } };
    });
}

/** The break-glass policy before the EKS fix: the allow-all alone, no excepted range listed. */
export const forgetsExcepts = spoilBreakGlass((rules) => rules.filter(isAllowAll));

/** The excepted ranges listed for TCP 443 only (the payment port), not for every port. */
export const forgetsPorts = spoilBreakGlass((rules) =>
  rules.map((rule) => (isAllowAll(rule) ? rule : { ...rule, ports: [{ protocol: "TCP", port: 443 }] })),
);

/** The allow-all rule replaced by the excepted ranges whenever some policy excepts a range. */
export const exceptsInsteadOfAllowAll = spoilBreakGlass((rules) =>
  rules.length > 1 ? rules.filter((rule) => !isAllowAll(rule)) : rules,
);

/**
 * The directions mixed up: once egress policies except ranges, the ingress allow-all is replaced by
 * those egress ranges. Every pod's ingress then depends on other services' egress flags, which no
 * upstream ingress side holds among its own deciding flags.
 */
export const ingressFromEgressExcepts: PolicyGenerator = (config, cidrs) =>
  generatePolicies(config, cidrs).map((policy) => {
    if (policy.role.kind !== "breakGlass") return policy;
    const spec: NetworkPolicyManifest["spec"] = structuredClone(policy.manifest.spec);
    const listed = (spec.egress ?? []).flatMap((rule) => rule.to ?? []);
    if (listed.length > 0) spec.ingress = [{ from: listed }];
    return { ...policy, manifest: { ...policy.manifest, spec } };
  });
