import { parseAddress, type ParsedAddress } from "./ipBlock";
import type { Endpoint, Labels, NamespaceInfo, PodInfo } from "../core/kubernetes";

/** What a policy rule can see of the other side of a connection. */
export type TrafficPeer =
  | {
      readonly kind: "pod";
      readonly namespace: string;
      readonly namespaceLabels: Labels;
      readonly labels: Labels;
      readonly address: ParsedAddress;
    }
  | { readonly kind: "external"; readonly address: ParsedAddress };

export function podTrafficPeer(pod: PodInfo, namespace: NamespaceInfo): TrafficPeer {
  return {
    kind: "pod",
    namespace: pod.namespace,
    namespaceLabels: namespace.labels,
    labels: pod.labels,
    address: parseAddress(pod.ip),
  };
}

export function externalTrafficPeer(ip: string): TrafficPeer {
  return { kind: "external", address: parseAddress(ip) };
}

export type NamespaceLookup = (name: string) => NamespaceInfo;

export function endpointTrafficPeer(endpoint: Endpoint, namespaceOf: NamespaceLookup): TrafficPeer {
  return endpoint.kind === "pod"
    ? podTrafficPeer(endpoint.pod, namespaceOf(endpoint.pod.namespace))
    : externalTrafficPeer(endpoint.ip);
}
