/**
 * cluster-tier-policies: since network policy agent v1.3, EKS enforces two more kinds beside the
 * NetworkPolicy (networking.k8s.aws, docs/fidelity/eks-tiers.md):
 * - a ClusterNetworkPolicy in the Admin tier decides before any NetworkPolicy: its Accept opens a
 *   flow that no NetworkPolicy, default deny or flow table can close again;
 * - an ApplicationNetworkPolicy is read beside the namespace's NetworkPolicies and its allows are
 *   unioned with theirs, so in an application namespace it opens flows the flow-table guard never
 *   sees.
 * The program writes neither. This rule refuses an Admin Accept whose subject can take in an
 * application namespace's pods, and any ApplicationNetworkPolicy in one. Admin Deny and Pass (a
 * guardrail such as "no pod reaches IMDS") and the Baseline tier (read only for pods no
 * NetworkPolicy selects, which the default deny leaves none of) are left to the plan's preflight,
 * which reads the cluster's tiers and names any outage they cause.
 */
import type { StackValidationPolicy } from "@pulumi/policy";
import { z } from "zod";
import { configSchemaOf, parseRuleConfig, report, violation, type Violation } from "./common";
import { weakensWhen } from "./configStrictness";
import { dns1123Label } from "../../core/config";
import { stackFlowTableOf } from "./stackConfig";
import { isRecord } from "../../core/records";
import { isClusterNetworkPolicyType, isApplicationNetworkPolicyType } from "../../core/resourceTypes";

export const NAME = "cluster-tier-policies";
export const DESCRIPTION =
  "No ClusterNetworkPolicy Accept in the Admin tier over an application namespace, and no ApplicationNetworkPolicy in one: both open flows past the NetworkPolicies.";

const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

export const CONFIG = z.object({
  /** The namespaces whose pods only the program's NetworkPolicies may open; the stack's by default. */
  applicationNamespaces: weakensWhen(
    z.array(dns1123Label).default(() => [stackFlowTableOf()?.namespace ?? "flash-ticket"]),
    "shrinks",
  ),
});
export type ClusterTierPoliciesConfig = z.output<typeof CONFIG>;

/**
 * Could a namespace selector take in namespace `name`? Only the name label,
 * kubernetes.io/metadata.name (set by the API server on every namespace), is known; any other
 * requirement might match, so only a contradiction on the name label rules the namespace out. An
 * unreadable selector might select anything.
 */
export function namespaceSelectorCouldSelect(selector: unknown, name: string): boolean {
  if (!isRecord(selector)) return true;
  const matchLabels = isRecord(selector["matchLabels"]) ? selector["matchLabels"] : {};
  const pinned = matchLabels[NAMESPACE_NAME_LABEL];
  if (pinned !== undefined && pinned !== name) return false;
  const expressions = Array.isArray(selector["matchExpressions"]) ? selector["matchExpressions"] : [];
  for (const expression of expressions) {
    if (!isRecord(expression) || expression["key"] !== NAMESPACE_NAME_LABEL) continue;
    const values = Array.isArray(expression["values"]) ? expression["values"] : [];
    const operator = expression["operator"];
    if (operator === "In" && !values.includes(name)) return false;
    if (operator === "NotIn" && values.includes(name)) return false;
    if (operator === "DoesNotExist") return false;
  }
  return true;
}

/** The namespace selector of a ClusterNetworkPolicy subject (`namespaces` or `pods.namespaceSelector`). */
function subjectNamespaceSelector(spec: Record<string, unknown>): unknown {
  const subject = spec["subject"];
  if (!isRecord(subject)) return undefined;
  if (subject["namespaces"] !== undefined) return subject["namespaces"];
  return isRecord(subject["pods"]) ? subject["pods"]["namespaceSelector"] : undefined;
}

function acceptRules(spec: Record<string, unknown>): string[] {
  const paths: string[] = [];
  for (const direction of ["ingress", "egress"] as const) {
    const rules = spec[direction];
    if (!Array.isArray(rules)) continue;
    rules.forEach((rule, index) => {
      if (isRecord(rule) && rule["action"] === "Accept") paths.push(`spec.${direction}[${index}]`);
    });
  }
  return paths;
}

export function findTierBypasses(
  resources: readonly { type: string; props: Record<string, unknown>; urn: string; name: string }[],
  config: ClusterTierPoliciesConfig,
): Violation[] {
  const found: Violation[] = [];
  for (const resource of resources) {
    const metadata = isRecord(resource.props["metadata"]) ? resource.props["metadata"] : {};
    const spec = isRecord(resource.props["spec"]) ? resource.props["spec"] : {};
    const name = typeof metadata["name"] === "string" ? metadata["name"] : resource.name;
    if (isClusterNetworkPolicyType(resource.type)) {
      // The controller's CRD defaults nothing for tier; anything but Baseline is judged as Admin.
      if (spec["tier"] === "Baseline") continue;
      const accepts = acceptRules(spec);
      if (accepts.length === 0) continue;
      const selector = subjectNamespaceSelector(spec);
      const covered = config.applicationNamespaces.filter((namespace) =>
        namespaceSelectorCouldSelect(selector, namespace),
      );
      if (covered.length === 0) continue;
      found.push({
        urn: resource.urn,
        message: violation(
          `ClusterNetworkPolicy ${name}`,
          `${accepts.join(", ")} Accept in the Admin tier, and its subject can take in the pods of ${covered.join(", ")}: an Admin Accept is decided before every NetworkPolicy, so no default deny or flow table can close what it opens`,
          `add the flow to the flow table (flash-netpol:flows) so the program's NetworkPolicies open it, or pin the subject to other namespaces by ${NAMESPACE_NAME_LABEL}`,
        ),
      });
    } else if (isApplicationNetworkPolicyType(resource.type)) {
      const namespace = typeof metadata["namespace"] === "string" ? metadata["namespace"] : "default";
      if (!config.applicationNamespaces.includes(namespace)) continue;
      found.push({
        urn: resource.urn,
        message: violation(
          `ApplicationNetworkPolicy ${namespace}/${name}`,
          `an ApplicationNetworkPolicy in ${namespace} adds allows beside the program's NetworkPolicies that the flow-table guard does not judge`,
          `add the flow to the flow table (flash-netpol:flows) instead, so the program's NetworkPolicies open it`,
        ),
      });
    }
  }
  return found;
}

export const clusterTierPolicies: StackValidationPolicy = {
  name: NAME,
  description: DESCRIPTION,
  configSchema: configSchemaOf(CONFIG),
  validateStack: (args, reportViolation) => {
    const config = parseRuleConfig(CONFIG, args.getConfig(), NAME);
    for (const found of findTierBypasses(args.resources, config)) report(reportViolation, DESCRIPTION, found);
  },
};
