/**
 * namespace-default-deny: every namespace with NetworkPolicies, and every application namespace,
 * has the zero-trust backstop: a policy selecting every pod, isolating both directions, allowing
 * nothing. Without it, any pod no allow policy selects talks freely.
 *
 * Rollout exemptions are time-boxed: prod adds the default deny as the LAST stage of a gradual
 * rollout, so until the date it is reported as advisory (visible, not blocking) and afterwards at
 * the rule's configured level. The rule is never silently dropped.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { z } from "zod";
import { configSchemaOf, parseRuleConfig, report, violation, type Violation } from "./common";
import { weakensWhen } from "./configStrictness";
import { isEmptySelector, namespaceOf, type NetworkPolicyView } from "./k8s";
import { NAMESPACE_TYPE, NETWORK_POLICY_TYPE } from "../../core/resourceTypes";
import { dns1123Label } from "../../core/config";

export const NAME = "namespace-default-deny";
export const DESCRIPTION =
  "Every namespace with NetworkPolicies, and every application namespace, has a default deny: podSelector {}, policyTypes [Ingress, Egress], no rules.";

const rolloutExemption = z.strictObject({
  namespace: dns1123Label,
  /** Last day (UTC, inclusive) the exemption holds, YYYY-MM-DD. */
  until: weakensWhen(z.string().regex(/^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$/), "later"),
  reason: weakensWhen(z.string().min(1), "never"),
});
export const CONFIG = z.object({
  applicationNamespaces: weakensWhen(z.array(dns1123Label).default(["flash-ticket"]), "shrinks"),
  exemptions: weakensWhen(z.array(rolloutExemption).default([]), "grows"),
});
export type RolloutExemption = z.output<typeof rolloutExemption>;
export type NamespaceDefaultDenyConfig = z.output<typeof CONFIG>;
export const DEFAULT_CONFIG: NamespaceDefaultDenyConfig = CONFIG.parse({});

export function isDefaultDeny(policy: NetworkPolicyView): boolean {
  const spec = policy.spec;
  if (spec === undefined) return false;
  const types = spec.policyTypes ?? [];
  return (
    (spec.podSelector === undefined || isEmptySelector(spec.podSelector)) &&
    types.includes("Ingress") &&
    types.includes("Egress") &&
    (spec.ingress ?? []).length === 0 &&
    (spec.egress ?? []).length === 0
  );
}

/** Today as YYYY-MM-DD in UTC: exemptions are compared as dates, the same everywhere CI runs. */
export function todayUtc(now: Date = new Date()): string {
  return now.toISOString().slice(0, 10);
}

export function findMissingDefaultDeny(
  resources: readonly PolicyResource[],
  config: NamespaceDefaultDenyConfig,
  today: string,
): Violation[] {
  const namespacesWithPolicies = new Set<string>();
  const covered = new Set<string>();
  const namespaceUrns = new Map<string, string>();
  for (const resource of resources) {
    if (resource.type === NAMESPACE_TYPE) {
      const name: unknown = resource.props["metadata"]?.["name"];
      if (typeof name === "string") namespaceUrns.set(name, resource.urn);
      continue;
    }
    if (resource.type !== NETWORK_POLICY_TYPE) continue;
    const policy = resource.props as NetworkPolicyView;
    const namespace = namespaceOf(policy, resource.provider);
    namespacesWithPolicies.add(namespace);
    if (isDefaultDeny(policy)) covered.add(namespace);
  }
  const required = [...new Set([...config.applicationNamespaces, ...namespacesWithPolicies])].sort();
  const found: Violation[] = [];
  for (const namespace of required) {
    if (covered.has(namespace)) continue;
    const why = namespacesWithPolicies.has(namespace)
      ? "has NetworkPolicies but no default deny, so every pod they do not select is open in both directions"
      : "is an application namespace without a default deny, so all its pods are open in both directions";
    const fix =
      `add a NetworkPolicy in ${namespace} with podSelector {}, policyTypes [Ingress, Egress] and no ingress/egress rules ` +
      `(flash-netpol:rollout.defaultDeny: enforce)`;
    const exemption = config.exemptions.find((candidate) => candidate.namespace === namespace);
    const resource = `Namespace ${namespace}`;
    const urn = namespaceUrns.get(namespace);
    if (exemption !== undefined && today <= exemption.until) {
      found.push({
        message: violation(
          resource,
          `${why}; exempt until ${exemption.until}, reason: ${exemption.reason}`,
          fix,
        ),
        urn,
        forceLevel: "advisory",
      });
    } else if (exemption !== undefined) {
      found.push({
        message: violation(
          resource,
          `${why}; the rollout exemption expired on ${exemption.until} (${exemption.reason})`,
          fix,
        ),
        urn,
      });
    } else {
      found.push({ message: violation(resource, why, fix), urn });
    }
  }
  return found;
}

export const namespaceDefaultDeny: StackValidationPolicy = {
  name: NAME,
  description: DESCRIPTION,
  configSchema: configSchemaOf(CONFIG),
  validateStack: (args, reportViolation) => {
    const config = parseRuleConfig(CONFIG, args.getConfig(), NAME);
    for (const found of findMissingDefaultDeny(args.resources, config, todayUtc())) {
      report(reportViolation, DESCRIPTION, found);
    }
  },
};
