/**
 * isolated-workloads-no-ingress: the flow table gives some services no inbound flow at all (the pay
 * worker holds the payment provider credentials), so no policy may allow ingress to them. Kubernetes
 * unions allows, so one stray rule in any policy that selects the pods opens them; the rule checks
 * every policy whose podSelector could select the isolated labels.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { isolatedServices } from "../../components/flowTable";
import { networkPolicyValidation, violation, withDefaults } from "./common";
import { namespaceOf, type Selector } from "./k8s";

export const NAME = "isolated-workloads-no-ingress";
export const DESCRIPTION =
  "Workloads the flow table isolates (no inbound flow, e.g. the pay worker) are the target of no ingress allow.";

export interface IsolatedWorkload {
  namespace: string;
  podLabels: Record<string, string>;
}
export interface IsolatedWorkloadsConfig {
  isolated: IsolatedWorkload[];
}

/** The application namespace's default; stack config may rename it, then pack config must follow. */
const APPLICATION_NAMESPACE = "flash-ticket";

/** Derived from the flow table, with the default `app: <service>` pod labels of stack config. */
export const DEFAULT_CONFIG: IsolatedWorkloadsConfig = {
  isolated: isolatedServices().map((service) => ({
    namespace: APPLICATION_NAMESPACE,
    podLabels: { app: service },
  })),
};

/**
 * Could a pod carrying `labels` (and possibly more labels we do not know) be selected? Only a
 * requirement contradicting a known label rules it out; anything on an unknown key might match.
 */
export function couldSelect(
  selector: Selector | undefined,
  labels: Readonly<Record<string, string>>,
): boolean {
  if (selector === undefined) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (key in labels && labels[key] !== value) return false;
  }
  for (const requirement of selector.matchExpressions ?? []) {
    const key = requirement.key ?? "";
    if (!(key in labels)) continue;
    const value = labels[key]!;
    const values = requirement.values ?? [];
    switch (requirement.operator) {
      case "In":
        if (!values.includes(value)) return false;
        break;
      case "NotIn":
        if (values.includes(value)) return false;
        break;
      case "DoesNotExist":
        return false;
      default:
        break;
    }
  }
  return true;
}

export const isolatedWorkloadsNoIngress: ResourceValidationPolicy = {
  name: NAME,
  description: DESCRIPTION,
  configSchema: {
    properties: {
      isolated: {
        type: "array",
        default: DEFAULT_CONFIG.isolated,
        items: {
          type: "object",
          required: ["namespace", "podLabels"],
          additionalProperties: false,
          properties: {
            namespace: { type: "string", minLength: 1 },
            podLabels: { type: "object", minProperties: 1, additionalProperties: { type: "string" } },
          },
        },
      },
    },
  },
  validateResource: networkPolicyValidation(({ policy, resource, provider, args }) => {
    const config = withDefaults(DEFAULT_CONFIG, args.getConfig<Partial<IsolatedWorkloadsConfig>>());
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
