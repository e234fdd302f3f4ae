// Small builders shared by the analyzer tests; not a test file itself.
import type {
  Cluster,
  ContainerPort,
  Endpoint,
  NamespaceInfo,
  NetworkPolicy,
  NetworkPolicySpec,
  PodInfo,
  Probe,
  Protocol,
} from "../../analyzer";

export function namespace(name: string, labels: Record<string, string> = {}): NamespaceInfo {
  return { name, labels: { "kubernetes.io/metadata.name": name, ...labels } };
}

export function pod(
  key: string,
  ip: string,
  labels: Record<string, string> = {},
  ports: readonly ContainerPort[] = [],
): PodInfo {
  const [ns, name] = key.split("/");
  return { namespace: ns, name, labels, ip, ports };
}

export function policy(key: string, spec: NetworkPolicySpec): NetworkPolicy {
  const [ns, name] = key.split("/");
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name, namespace: ns },
    spec,
  };
}

export function cluster(
  namespaces: readonly NamespaceInfo[],
  pods: readonly PodInfo[],
  policies: readonly NetworkPolicy[],
): Cluster {
  return { namespaces, pods, policies };
}

export const at = (p: PodInfo): Endpoint => ({ kind: "pod", pod: p });
export const external = (ip: string): Endpoint => ({ kind: "external", ip });

export function probe(from: Endpoint, to: Endpoint, port: number, protocol: Protocol = "TCP"): Probe {
  return { from, to, port, protocol };
}
