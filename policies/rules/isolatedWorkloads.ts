/**
 * isolated-workloads-no-ingress: the flow table gives some services no inbound flow at all (the pay
 * worker holds the payment provider credentials), so no policy may allow ingress to them. Kubernetes
 * unions allows, so one stray rule in any policy that selects the pods opens them; the rule checks
 * every policy whose podSelector could select the isolated labels.
 *
 * Which services are isolated is data: the stack's flash-netpol:flows and services, which the CLI
 * hands the pack process as its PULUMI_CONFIG (project config merged in). Pack config may still
 * list `isolated` workloads itself, e.g. for another project's manifests.
 */
import { compileLabelSelector } from "../../core/labelSelector";
import type { SelectorOperator } from "../../core/kubernetes";
import { isolatedServices } from "../../core/flowTable";
import { z } from "zod";
import { networkPolicyRule, violation } from "./common";
import { weakensWhen } from "./configStrictness";
import { namespaceOf, type Selector } from "./k8s";
import { packStackConfig, stackFlowTableOf } from "./stackConfig";
import { workloadSchema, type Workload } from "./workloads";

export const NAME = "isolated-workloads-no-ingress";
export const DESCRIPTION =
  "Workloads the flow table isolates (no inbound flow, e.g. the pay worker) are the target of no ingress allow.";

const isolatedWorkload = workloadSchema;
export type IsolatedWorkload = Workload;

/**
 * The services the stack's flow table gives no inbound flow, with their namespace and pod labels,
 * from the stack's config (flash-netpol:services, flows and namespace). Empty when the config holds
 * no valid table: another project using the pack, or a config the program itself refuses.
 */
export function isolatedWorkloadsOf(stackConfig: Readonly<Record<string, string>>): IsolatedWorkload[] {
  const table = stackFlowTableOf(stackConfig);
  if (table === undefined) return [];
  return isolatedServices(Object.keys(table.services), table.flows).map((service) => ({
    namespace: table.namespace,
    podLabels: { ...table.services[service]!.podLabels },
  }));
}

export const CONFIG = z.object({
  /** Derived from the stack's flow table: `pulumi preview` hands the pack the stack's config. */
  isolated: weakensWhen(
    z.array(isolatedWorkload).default(() => isolatedWorkloadsOf(packStackConfig())),
    "shrinks",
  ),
});
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

export const isolatedWorkloadsNoIngress = networkPolicyRule({
  name: NAME,
  description: DESCRIPTION,
  config: CONFIG,
  check: ({ policy, resource, provider, config }) => {
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
  },
});
