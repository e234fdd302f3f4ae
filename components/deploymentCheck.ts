/**
 * Selectors that match real pods: a NetworkPolicy whose podSelector matches no pod template protects
 * nothing, and a port the containers do not declare is allowed for nobody. This compares each
 * service's selector and port with its Deployment as the cluster has it.
 */
import type { StackConfig } from "./config";
import { flowsOf, type ServiceName } from "./flowTable";
import type { GeneratedPolicy, LabelSelector } from "./networkPolicies";

/** The fields of an apps/v1 Deployment this check reads. */
export interface DeploymentSnapshot {
  metadata?: { name?: string; namespace?: string };
  spec?: {
    template?: {
      metadata?: { labels?: Record<string, string> };
      spec?: {
        containers?: {
          name?: string;
          ports?: { containerPort?: number; protocol?: string; name?: string }[];
        }[];
      };
    };
  };
}

export function deploymentNameOf(config: StackConfig, service: ServiceName): string {
  return config.deployments[service] ?? service;
}

function selects(selector: LabelSelector, labels: Record<string, string>): boolean {
  return Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
}

const formatLabels = (labels: Record<string, string>) =>
  Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(",") || "none";

/** Every mismatch, each naming the Deployment, the labels or ports found, and the config key to fix. */
export function checkDeployments(
  config: StackConfig,
  policies: readonly GeneratedPolicy[],
  deployments: Readonly<Record<ServiceName, DeploymentSnapshot>>,
): string[] {
  const problems: string[] = [];
  for (const service of Object.keys(config.services)) {
    const deployment = deployments[service] ?? {};
    const where = `Deployment ${config.namespace}/${deploymentNameOf(config, service)}`;
    const labels = deployment.spec?.template?.metadata?.labels ?? {};
    const selector = { matchLabels: config.services[service].podLabels };
    if (!selects(selector, labels)) {
      const covering = policies
        .filter((policy) => selects(policy.manifest.spec.podSelector, labels))
        .map((policy) => policy.manifest.metadata.name);
      problems.push(
        `flash-netpol:services.${service}.podLabels (${formatLabels(selector.matchLabels)}) matches no pod of ${where}, ` +
          `whose pod template has labels ${formatLabels(labels)}: the ${service} policies would protect nothing, and its pods ` +
          `are covered by ${covering.length === 0 ? "no policy at all" : `only ${covering.join(", ")}`}. ` +
          `Fix: set podLabels to labels the template carries, or fix the Deployment's labels.`,
      );
    }
    // Only a port that something connects to must be declared; the pay worker serves nobody.
    if (flowsOf(service, "ingress", config.flows).length > 0) {
      const declared = (deployment.spec?.template?.spec?.containers ?? []).flatMap((container) =>
        (container.ports ?? []).map((port) => `${port.containerPort}/${port.protocol ?? "TCP"}`),
      );
      const port = `${config.services[service].port}/TCP`;
      if (!declared.includes(port)) {
        problems.push(
          `flash-netpol:services.${service}.port is ${port}, but no container of ${where} declares it ` +
            `(declared: ${declared.join(" ") || "none"}). Fix: set the port the container listens on.`,
        );
      }
    }
  }
  return problems;
}
