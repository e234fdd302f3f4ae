/**
 * Selectors that match real pods: a NetworkPolicy whose podSelector matches no pod template protects
 * nothing, and a port the containers do not declare is allowed for nobody. This compares each
 * service's selector and port with its Deployment as the cluster has it.
 */
import { compileLabelSelector } from "../core/labelSelector";
import type { StackConfig } from "../core/config";
import { describeEndpoint, flowsOf, type ServiceName } from "../core/flowTable";
import type { GeneratedPolicy, LabelSelector } from "../core/networkPolicies";
import { protocolOf } from "../core/kubernetes";

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
  return compileLabelSelector(selector)(labels);
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
        (container.ports ?? []).map((port) => `${port.containerPort}/${protocolOf(port)}`),
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

/** The fields of a core/v1 Service this check reads. */
export interface ServiceSnapshot {
  clusterIP?: string;
  selector?: Record<string, string>;
  ports?: { name?: string; port?: number; protocol?: string; targetPort?: number | string }[];
}

/** Services are looked up by the Deployment's name (flash-netpol:deployments), the usual convention. */
export function serviceNameOf(config: StackConfig, service: ServiceName): string {
  return deploymentNameOf(config, service);
}

/**
 * Only a service something connects to needs a Service: the pay worker (no ingress flow) is reached
 * by nobody, so it is not read and may have none.
 */
export function servicesNeedingService(config: Pick<StackConfig, "services" | "flows">): ServiceName[] {
  return Object.keys(config.services).filter(
    (service) => flowsOf(service, "ingress", config.flows).length > 0,
  );
}

const describeServicePorts = (ports: ServiceSnapshot["ports"]) =>
  (ports ?? [])
    .map((port) => `${port.port}->${port.targetPort ?? port.port}/${protocolOf(port)}`)
    .join(" ") || "none";

/**
 * Each Service as the EKS network policy controller needs it to add the ClusterIP to the callers'
 * egress policies (amazon-network-policy-controller-k8s pkg/resolvers/endpoints.go,
 * getMatchingServiceClusterIPs): not headless, a selector the service's podLabels match, and a port
 * whose targetPort is the configured port. Otherwise a caller's connection to the ClusterIP is
 * dropped on EKS although the policies allow the pods.
 */
export function checkServices(
  config: StackConfig,
  services: Readonly<Partial<Record<ServiceName, ServiceSnapshot>>>,
  deployments: Readonly<Partial<Record<ServiceName, DeploymentSnapshot>>> = {},
): string[] {
  const problems: string[] = [];
  for (const service of servicesNeedingService(config)) {
    const snapshot = services[service];
    if (snapshot === undefined) continue;
    // Only pods have egress policies the controller adds ClusterIPs to; the ALB reaches pod IPs itself.
    const podCallers = flowsOf(service, "ingress", config.flows)
      .filter((flow) => flow.from.kind === "service")
      .map((flow) => describeEndpoint(flow.from));
    const where =
      `Service ${config.namespace}/${serviceNameOf(config, service)} ` +
      `(selector ${formatLabels(snapshot.selector ?? {})}; ports ${describeServicePorts(snapshot.ports)})`;
    const consequence =
      podCallers.length > 0
        ? `so the EKS network policy controller adds its ClusterIP to no egress policy, and ${podCallers.join(", ")} -> ${service} through the Service is dropped on EKS`
        : `so the Service does not lead to the ${service} pods on the port the policies open`;
    const podLabels = config.services[service].podLabels;
    if (snapshot.clusterIP === undefined || snapshot.clusterIP === "" || snapshot.clusterIP === "None") {
      problems.push(
        `${where} is headless (clusterIP ${snapshot.clusterIP ?? "unset"}), ${consequence}. ` +
          `Fix: give the Service a ClusterIP (recreate it without clusterIP: None), or have callers use the pod addresses.`,
      );
      continue;
    }
    if (!selects({ matchLabels: podLabels }, snapshot.selector ?? {})) {
      problems.push(
        `${where}: its selector does not contain flash-netpol:services.${service}.podLabels (${formatLabels(podLabels)}), ` +
          `${consequence}. Fix: add ${formatLabels(podLabels)} to the Service's selector, or set podLabels to labels the Service selects on.`,
      );
    }
    const port = config.services[service].port;
    const containerPorts = (deployments[service]?.spec?.template?.spec?.containers ?? []).flatMap(
      (container) => container.ports ?? [],
    );
    const targets = (snapshot.ports ?? []).some((servicePort) => {
      if (protocolOf(servicePort) !== "TCP") return false;
      const target = servicePort.targetPort ?? servicePort.port;
      if (typeof target === "number") return target === port;
      return containerPorts.some((declared) => declared.name === target && declared.containerPort === port);
    });
    if (!targets) {
      problems.push(
        `${where}: no port targets flash-netpol:services.${service}.port ${port}/TCP, ${consequence}. ` +
          `Fix: set the Service port's targetPort to ${port}, or set services.${service}.port to the port the Service targets.`,
      );
    }
  }
  return problems;
}
