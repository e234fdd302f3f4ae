/**
 * isolated-workloads-no-ingress: the flow table gives some services no inbound flow at all (the pay
 * worker holds the payment provider credentials), so no policy may allow ingress to them. Kubernetes
 * unions allows, so one stray rule in any policy that selects the pods opens them; the rule checks
 * every policy whose podSelector could select the isolated labels.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { compileLabelSelector } from "../../analyzer/labelSelector";
import type { SelectorOperator } from "../../analyzer/model";
import { isolatedServices } from "../../components/flowTable";
import { z } from "zod";
import { configSchemaOf, networkPolicyValidation, parseRuleConfig, violation } from "./common";
import { namespaceOf, type Selector } from "./k8s";

export const NAME = "isolated-workloads-no-ingress";
export const DESCRIPTION =
  "Workloads the flow table isolates (no inbound flow, e.g. the pay worker) are the target of no ingress allow.";

/** The application namespace's default; stack config may rename it, then pack config must follow. */
const APPLICATION_NAMESPACE = "flash-ticket";

const isolatedWorkload = z.strictObject({
  namespace: z.string().min(1),
  // An empty label set would stand for every pod; stated to the JSON Schema too, which has no refine.
  podLabels: z
    .record(z.string(), z.string())
    .refine((labels) => Object.keys(labels).length > 0, "at least one label")
    .meta({ minProperties: 1 }),
});
export const CONFIG = z.object({
  /** Derived from the flow table, with the default `app: <service>` pod labels of stack config. */
  isolated: z.array(isolatedWorkload).default(() =>
    isolatedServices().map((service) => ({
      namespace: APPLICATION_NAMESPACE,
      podLabels: { app: service },
    })),
  ),
});
export type IsolatedWorkload = z.output<typeof isolatedWorkload>;
export type IsolatedWorkloadsConfig = z.output<typeof CONFIG>;
export const DEFAULT_CONFIG: IsolatedWorkloadsConfig = CONFIG.parse({});

const OPERATORS: readonly string[] = ["In", "NotIn", "Exists", "DoesNotExist"] satisfies SelectorOperator[];
const isOperator = (operator: string | undefined): operator is SelectorOperator =>
  operator !== undefined && OPERATORS.includes(operator);

/**
 * Could a pod carrying `labels` (and possibly more labels we do not know) be selected? Only a
 * requirement contradicting a known label rules it out; anything on an unknown key might match.
 */
export function couldSelect(
  selector: Selector | undefined,
  labels: Readonly<Record<string, string>>,
): boolean {
  if (selector === undefined) return true;
  const known = (key: string | undefined) => key !== undefined && key in labels;
  // Only the requirements on keys we know can be judged; the selector narrowed to them must match.
  return compileLabelSelector({
    matchLabels: Object.fromEntries(Object.entries(selector.matchLabels ?? {}).filter(([key]) => known(key))),
    matchExpressions: (selector.matchExpressions ?? [])
      // An operator the API server would reject says nothing about the pods: skip it, as kubectl never sees it.
      .filter((requirement) => known(requirement.key) && isOperator(requirement.operator))
      .map((requirement) => ({
        key: requirement.key!,
        operator: requirement.operator as SelectorOperator,
        values: requirement.values,
      })),
  })(labels);
}

export const isolatedWorkloadsNoIngress: ResourceValidationPolicy = {
  name: NAME,
  description: DESCRIPTION,
  configSchema: configSchemaOf(CONFIG),
  validateResource: networkPolicyValidation(({ policy, resource, provider, args }) => {
    const config = parseRuleConfig(CONFIG, args.getConfig(), NAME);
    const ingress = policy.spec?.ingress ?? [];
    if (ingress.length === 0) return [];
    const namespace = namespaceOf(policy, provider);
    return config.isolated
      .filter(
        (workload) =>
          workload.namespace === namespace && couldSelect(policy.spec?.podSelector, workload.podLabels),
      )
      .map((workload) => ({
        message: violation(
          resource,
          `its podSelector ${JSON.stringify(policy.spec?.podSelector ?? {})} can select the isolated pods ` +
            `${JSON.stringify(workload.podLabels)} and it has ${ingress.length} ingress rule(s), which would let traffic in`,
          `remove spec.ingress from this policy, or narrow spec.podSelector so it cannot select ${JSON.stringify(workload.podLabels)} ` +
            `(the flow table gives this workload no inbound flow)`,
        ),
      }));
  }, DESCRIPTION),
};
