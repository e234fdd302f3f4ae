/**
 * Turns a probe aimed at a service into the addresses a live probe can honestly reach:
 *  - a ready pod's IP on the container port: what the destination pod's ingress policy judges;
 *  - each selecting Service's ClusterIP on the Service's port (not the container port: kube-proxy
 *    only has a rule for the Service's port, anything else is never translated and times out).
 *    On EKS the network policy agent matches egress on the ClusterIP, before kube-proxy's DNAT,
 *    from the ClusterIPs the controller adds to PolicyEndpoints, so this row can fail alone.
 * A service with no ready pod, or a Service with no ready endpoint (kube-proxy rejects those, and
 * nc's "Connection refused" would read as "allowed"), is "could not probe", never a verdict.
 */
import { compileLabelSelector } from "../core/labelSelector";
import type { ClusterPod, ClusterService, ClusterView } from "./clusterView";
import type { PlannedProbe, ProbePlan } from "./probe";

// A Service without a selector selects no pod (its endpoints are managed by hand), unlike an empty LabelSelector.
const selects = (selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>) =>
  Object.keys(selector).length > 0 && compileLabelSelector({ matchLabels: selector })(labels);

const labelsText = (labels: Readonly<Record<string, string>>) =>
  Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(",");

function servicePortFor(service: ClusterService, pod: ClusterPod | undefined, containerPort: number) {
  return service.ports.find((port) => {
    if (port.protocol !== "TCP") return false;
    if (typeof port.targetPort === "number") return port.targetPort === containerPort;
    // A named targetPort resolves to the pod's container port of that name.
    return pod?.containerPorts.some(
      (candidate) => candidate.name === port.targetPort && candidate.containerPort === containerPort,
    );
  });
}

function resolveOne(probe: PlannedProbe, view: ClusterView, notes: Set<string>): PlannedProbe[] {
  const destination = probe.destination;
  if (destination === undefined)
    return [
      {
        ...probe,
        via: probe.via ?? "name",
        address: probe.address ?? (probe.check.kind === "tcp" ? probe.check.host : undefined),
      },
    ];
  const { service, podLabels, containerPort } = destination;
  const matching = view.pods.filter((pod) => selects(podLabels, pod.labels));
  const pod = matching.find(
    (candidate) => candidate.running && candidate.ready && candidate.ip !== undefined,
  );
  const probes: PlannedProbe[] = [];
  if (pod?.ip === undefined) {
    probes.push({
      ...probe,
      to: `${service} (no ready pod)`,
      via: "pod",
      unprobeable: `no Ready pod with labels ${labelsText(podLabels)} in ${view.namespace}`,
    });
  } else {
    probes.push({
      ...probe,
      to: `${service} pod ${pod.ip}`,
      address: pod.ip,
      via: "pod",
      check: { kind: "tcp", host: pod.ip, port: containerPort },
    });
  }
  const services = view.services.filter((candidate) => selects(candidate.selector, podLabels));
  if (services.length === 0)
    notes.add(`${service}: no Service selects its pods; only its pod IPs are probed`);
  for (const candidate of services) {
    const port = servicePortFor(candidate, pod, containerPort);
    if (port === undefined || candidate.clusterIP === undefined || candidate.clusterIP === "None") {
      notes.add(`Service ${candidate.name}: no ClusterIP port targets ${service}'s port ${containerPort}`);
      continue;
    }
    const base = {
      ...probe,
      to: `${service} Service ${candidate.name} ${candidate.clusterIP}`,
      port: port.port,
      address: candidate.clusterIP,
      via: "clusterIP" as const,
      check: { kind: "tcp" as const, host: candidate.clusterIP, port: port.port },
      reason: `${probe.reason}; via the ClusterIP (the EKS agent matches egress before kube-proxy's DNAT)`,
    };
    probes.push(
      candidate.readyEndpoints === 0
        ? {
            ...base,
            unprobeable: `Service ${candidate.name} has no ready endpoint: kube-proxy rejects connections to it, so no pod would be reached`,
          }
        : base,
    );
  }
  return probes;
}

/** The plan with every service target replaced by its pod and ClusterIP probes. */
export function resolveTargets(plan: ProbePlan, view: ClusterView): ProbePlan {
  const notes = new Set<string>();
  const probes = plan.probes.flatMap((probe) => resolveOne(probe, view, notes));
  return { ...plan, probes, notProbed: [...plan.notProbed, ...notes] };
}
