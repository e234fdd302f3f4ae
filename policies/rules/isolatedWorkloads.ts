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
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { CONFIG_NAMESPACE, CONFIG_SCHEMA } from "../../components/config";
import { declareFlows, isolatedServices } from "../../components/flowTable";
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

function parsedKey<T>(
  stackConfig: Readonly<Record<string, string>>,
  key: keyof typeof CONFIG_SCHEMA,
  structured: boolean,
): T | undefined {
  const text = stackConfig[`${CONFIG_NAMESPACE}:${key}`];
  let value: unknown = text;
  try {
    if (structured && text !== undefined) value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = CONFIG_SCHEMA[key].safeParse(value);
  return parsed.success ? (parsed.data as T) : undefined;
}

/**
 * The services the stack's flow table gives no inbound flow, with their namespace and pod labels,
 * from the stack's config (flash-netpol:services, flows and namespace). Empty when the config holds
 * no valid table: another project using the pack, or a config the program itself refuses.
 */
export function isolatedWorkloadsOf(stackConfig: Readonly<Record<string, string>>): IsolatedWorkload[] {
  type Services = Record<string, { podLabels: Record<string, string> }>;
  const services = parsedKey<Services>(stackConfig, "services", true);
  const flows = parsedKey<Parameters<typeof declareFlows>[0]>(stackConfig, "flows", true);
  const namespace = parsedKey<string>(stackConfig, "namespace", false);
  if (services === undefined || flows === undefined || namespace === undefined) return [];
  const declared = declareFlows(flows, Object.keys(services));
  if (declared.problems.length > 0) return [];
  return isolatedServices(Object.keys(services), declared.flows).map((service) => ({
    namespace,
    podLabels: { ...services[service]!.podLabels },
  }));
}

/** The stack's config as the CLI hands it to the pack process (PULUMI_CONFIG, see docs/fidelity.md). */
function packStackConfig(): Record<string, string> {
  try {
    return JSON.parse(process.env.PULUMI_CONFIG ?? "{}") as Record<string, string>;
  } catch {
    return {};
  }
}

/** Derived from the stack's flow table: `pulumi preview` hands the pack the stack's config. */
export const DEFAULT_CONFIG: IsolatedWorkloadsConfig = { isolated: isolatedWorkloadsOf(packStackConfig()) };

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
