/**
 * What amazon-network-policy-controller-k8s resolves a NetworkPolicy into (pkg/resolvers/endpoints.go):
 * pod IPs for selector peers, ipBlocks with their excepts, and for egress selector peers the
 * ClusterIPs of the Services whose selector the peer's podSelector matches, ports mapped through
 * targetPort. Line references: docs/fidelity/eks-agent.md.
 */
import { compileLabelSelector, selectorCacheKey } from "../../core/labelSelector";
import type {
  ContainerPort,
  LabelSelector,
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  PodInfo,
  PolicyType,
  Protocol,
} from "../../core/kubernetes";
import { policyKey, protocolOf } from "../../core/kubernetes";
import { effectivePolicyTypes } from "../policyTypes";
import { expandItems, hasAnyRule, single, type EndpointItem } from "./endpointItems";
import type { EksCluster, EndpointRule, L4Entry, ServiceInfo } from "./model";

/** One policy's PolicyEndpoint: the pods it selects, its isolation, and its resolved rules. */
export interface PolicyEndpoints {
  readonly policy: string;
  readonly namespace: string;
  readonly selects: (pod: PodInfo) => boolean;
  /** PodIsolation = the policy's policyTypes (after API defaulting). */
  readonly podIsolation: readonly PolicyType[];
  /** The entries in the PolicyEndpoint's order (expanded from the items on first read). */
  readonly ingress: readonly EndpointRule[];
  readonly egress: readonly EndpointRule[];
  readonly ingressItems: readonly EndpointItem[];
  readonly egressItems: readonly EndpointItem[];
  /** Whether the expanded list has any entry, without expanding it. */
  readonly hasRules: Readonly<Record<"ingress" | "egress", boolean>>;
}

/** convertToPolicyInfoPortForCIDRs: named ports cannot be resolved without a destination. */
function cidrPort(port: NetworkPolicyPort): L4Entry | undefined {
  if (port.port === undefined) return { protocol: protocolOf(port) };
  if (typeof port.port === "string") return undefined;
  return { protocol: protocolOf(port), port: port.port, endPort: port.endPort };
}

/** LookupContainerPortAndName: a numeric port resolves to itself even when no container declares it. */
function containerPort(pod: PodInfo, port: number | string, protocol: Protocol): ContainerPort | undefined {
  const declared = pod.ports.find(
    (candidate) =>
      candidate.protocol === protocol &&
      (typeof port === "string" ? candidate.name === port : candidate.port === port),
  );
  if (declared !== undefined) return declared;
  return typeof port === "number" ? { port, protocol } : undefined;
}

/** Pods declaring the same ports (replicas share the array) resolve a rule's ports to one shared list. */
const portListsByDeclared = new WeakMap<
  readonly ContainerPort[],
  WeakMap<readonly NetworkPolicyPort[], L4Entry[]>
>();

/** getPortList: each port resolved against one destination pod; unresolved named ports dropped. */
function podPortList(pod: PodInfo, ports: readonly NetworkPolicyPort[]): readonly L4Entry[] {
  let byRule = portListsByDeclared.get(pod.ports);
  if (byRule === undefined) {
    byRule = new WeakMap();
    portListsByDeclared.set(pod.ports, byRule);
  }
  let list = byRule.get(ports);
  if (list === undefined) {
    list = resolvedPortList(pod, ports);
    byRule.set(ports, list);
  }
  return list;
}

function resolvedPortList(pod: PodInfo, ports: readonly NetworkPolicyPort[]): L4Entry[] {
  return ports.flatMap((port): L4Entry[] => {
    if (port.port === undefined) return [{ protocol: protocolOf(port), endPort: port.endPort }];
    const resolved = containerPort(pod, port.port, protocolOf(port));
    return resolved === undefined
      ? []
      : [{ protocol: protocolOf(port), port: resolved.port, endPort: port.endPort }];
  });
}

function l4Key(entry: L4Entry): string {
  return `${entry.protocol}@${entry.port ?? ""}@${entry.endPort ?? ""}`;
}

function dedup(entries: readonly L4Entry[]): L4Entry[] {
  return [...new Map(entries.map((entry) => [l4Key(entry), entry])).values()];
}

export class EndpointsResolver {
  /** The cluster's pods by namespace, in cluster order: every peer looks in one namespace at a time. */
  private readonly podsByNamespace = new Map<string, PodInfo[]>();
  /** Many peers share a (namespace, selector): each is resolved once. */
  private readonly selectedPods = new Map<string, PodInfo[]>();

  constructor(private readonly cluster: EksCluster) {
    for (const pod of cluster.pods) {
      const list = this.podsByNamespace.get(pod.namespace) ?? [];
      list.push(pod);
      this.podsByNamespace.set(pod.namespace, list);
    }
  }

  resolve(policy: NetworkPolicy): PolicyEndpoints {
    const selectsLabels = compileLabelSelector(policy.spec.podSelector);
    const namespace = policy.metadata.namespace;
    const ingressItems = this.ingress(policy);
    const egressItems = this.egress(policy);
    let ingress: EndpointRule[] | undefined;
    let egress: EndpointRule[] | undefined;
    return {
      policy: policyKey(policy),
      namespace,
      selects: (pod) => pod.namespace === namespace && selectsLabels(pod.labels),
      podIsolation: effectivePolicyTypes(policy.spec),
      ingressItems,
      egressItems,
      hasRules: { ingress: hasAnyRule(ingressItems), egress: hasAnyRule(egressItems) },
      get ingress() {
        return (ingress ??= expandItems(ingressItems));
      },
      get egress() {
        return (egress ??= expandItems(egressItems));
      },
    };
  }

  private namespacesOf(peer: NetworkPolicyPeer, policyNamespace: string): string[] {
    if (peer.namespaceSelector === undefined) return [policyNamespace];
    const matches = compileLabelSelector(peer.namespaceSelector);
    return this.cluster.namespaces.filter((ns) => matches(ns.labels)).map((ns) => ns.name);
  }

  private podsIn(namespace: string, selector: LabelSelector | undefined): PodInfo[] {
    const key = `${namespace}\u0000${selectorCacheKey(selector ?? {})}`;
    let pods = this.selectedPods.get(key);
    if (pods === undefined) {
      const matches = compileLabelSelector(selector ?? {});
      pods = (this.podsByNamespace.get(namespace) ?? []).filter((pod) => matches(pod.labels));
      this.selectedPods.set(key, pods);
    }
    return pods;
  }

  private ingress(policy: NetworkPolicy): EndpointItem[] {
    const key = policyKey(policy);
    const rules: EndpointItem[] = [];
    // The controller reads spec.ingress whatever policyTypes says.
    for (const [ruleIndex, rule] of (policy.spec.ingress ?? []).entries()) {
      const ports = rule.ports ?? [];
      const resolved = this.ingressPorts(policy, ports);
      if (ports.length !== 0 && resolved.length === 0) continue;
      // An empty `from` is omitted on the wire (omitempty), so it reads as nil: every source.
      if (rule.from === undefined || rule.from.length === 0) {
        rules.push(single({ policy: key, ruleIndex, cidr: "0.0.0.0/0", except: [], ports: resolved }));
        continue;
      }
      for (const peer of rule.from) {
        if (peer.ipBlock !== undefined) {
          rules.push(
            single({
              policy: key,
              ruleIndex,
              cidr: peer.ipBlock.cidr,
              except: [...(peer.ipBlock.except ?? [])],
              ports: resolved,
            }),
          );
          continue;
        }
        for (const namespace of this.namespacesOf(peer, policy.metadata.namespace)) {
          const pods = this.podsIn(namespace, peer.podSelector);
          if (pods.length > 0) {
            rules.push({ kind: "pods", policy: key, ruleIndex, pods, portsFor: () => resolved });
          }
        }
      }
    }
    return rules;
  }

  /** resolveIngressPorts: named ports are looked up on every pod the policy selects, then de-duplicated. */
  private ingressPorts(policy: NetworkPolicy, ports: readonly NetworkPolicyPort[]): L4Entry[] {
    if (ports.length === 0) return [];
    if (!ports.some((port) => typeof port.port === "string")) {
      return ports.map(cidrPort).filter((entry): entry is L4Entry => entry !== undefined);
    }
    const selected = this.podsIn(policy.metadata.namespace, policy.spec.podSelector);
    return dedup(selected.flatMap((pod) => podPortList(pod, ports)));
  }

  private egress(policy: NetworkPolicy): EndpointItem[] {
    const key = policyKey(policy);
    const rules: EndpointItem[] = [];
    for (const [ruleIndex, rule] of (policy.spec.egress ?? []).entries()) {
      const ports = rule.ports ?? [];
      const cidrPorts = ports.map(cidrPort).filter((entry): entry is L4Entry => entry !== undefined);
      if (rule.to === undefined || rule.to.length === 0) {
        if (ports.length !== 0 && cidrPorts.length === 0) continue;
        rules.push(single({ policy: key, ruleIndex, cidr: "0.0.0.0/0", except: [], ports: cidrPorts }));
        continue;
      }
      // Per destination pod; a pod none of whose ports resolve is left out.
      const portsFor = (pod: PodInfo): readonly L4Entry[] | undefined => {
        const podPorts = podPortList(pod, ports);
        return ports.length !== 0 && podPorts.length === 0 ? undefined : podPorts;
      };
      for (const peer of rule.to) {
        if (peer.ipBlock !== undefined) {
          if (ports.length !== 0 && cidrPorts.length === 0) continue;
          rules.push(
            single({
              policy: key,
              ruleIndex,
              cidr: peer.ipBlock.cidr,
              except: [...(peer.ipBlock.except ?? [])],
              ports: cidrPorts,
            }),
          );
          continue;
        }
        for (const namespace of this.namespacesOf(peer, policy.metadata.namespace)) {
          const pods = this.podsIn(namespace, peer.podSelector);
          if (pods.length > 0) rules.push({ kind: "pods", policy: key, ruleIndex, pods, portsFor });
          for (const clusterIp of this.serviceClusterIps(
            key,
            ruleIndex,
            peer.podSelector ?? {},
            namespace,
            ports,
          )) {
            rules.push(single(clusterIp));
          }
        }
      }
    }
    return rules;
  }

  /**
   * getMatchingServiceClusterIPs: a Service counts only when it is not headless and the peer's
   * podSelector, read as a selector, matches the Service's selector read as a label set.
   */
  private serviceClusterIps(
    policy: string,
    ruleIndex: number,
    peerSelector: LabelSelector,
    namespace: string,
    ports: readonly NetworkPolicyPort[],
  ): EndpointRule[] {
    const matches = compileLabelSelector(peerSelector);
    const rules: EndpointRule[] = [];
    for (const service of this.cluster.services ?? []) {
      if (service.namespace !== namespace || isHeadless(service)) continue;
      if (!matches(service.selector ?? {})) continue;
      const portList: L4Entry[] = [];
      for (const port of ports) {
        if (port.port === undefined) {
          portList.push({ protocol: protocolOf(port), endPort: port.endPort });
          continue;
        }
        const listen = this.servicePortFor(service, port.port, protocolOf(port));
        if (listen === undefined) continue;
        if (typeof port.port === "number" && this.targetPortBypass(service, listen, protocolOf(port), ports))
          continue;
        portList.push({ protocol: protocolOf(port), port: listen, endPort: port.endPort });
      }
      if (ports.length !== portList.length && portList.length === 0) continue;
      rules.push({
        policy,
        ruleIndex,
        cidr: service.clusterIP!,
        except: [],
        ports: portList,
        service: `${service.namespace}/${service.name}`,
      });
    }
    return rules;
  }

  private backingPods(service: ServiceInfo): PodInfo[] {
    return this.podsIn(service.namespace, { matchLabels: service.selector ?? {} });
  }

  /** getMatchingServicePort: LookupServiceListenPort, then LookupListenPortFromPodSpec on backing pods. */
  private servicePortFor(
    service: ServiceInfo,
    port: number | string,
    protocol: Protocol,
  ): number | undefined {
    const direct = service.ports.find(
      (candidate) =>
        typeof candidate.targetPort === typeof port &&
        candidate.targetPort === port &&
        candidate.protocol === protocol,
    );
    if (direct !== undefined) return direct.port;
    for (const pod of this.backingPods(service)) {
      const resolved = pod.ports.find(
        (candidate) =>
          candidate.protocol === protocol &&
          (typeof port === "string" ? candidate.name === port : candidate.port === port),
      );
      if (resolved === undefined) continue;
      const listen = service.ports.find(
        (candidate) =>
          candidate.protocol === protocol &&
          (typeof candidate.targetPort === "string"
            ? candidate.targetPort === resolved.name
            : candidate.targetPort === resolved.port),
      );
      if (listen !== undefined) return listen.port;
    }
    return undefined;
  }

  /** hasTargetPortBypass: a named targetPort resolving to a port the policy does not allow drops the ClusterIP port. */
  private targetPortBypass(
    service: ServiceInfo,
    listenPort: number,
    protocol: Protocol,
    policyPorts: readonly NetworkPolicyPort[],
  ): boolean {
    const named = service.ports.find(
      (candidate) =>
        candidate.port === listenPort &&
        candidate.protocol === protocol &&
        typeof candidate.targetPort === "string",
    );
    if (named === undefined) return false;
    return this.backingPods(service).some((pod) => {
      const resolved = pod.ports.find(
        (candidate) => candidate.name === named.targetPort && candidate.protocol === protocol,
      );
      return resolved !== undefined && !numericPortAllowed(resolved.port, protocol, policyPorts);
    });
  }
}

function numericPortAllowed(
  port: number,
  protocol: Protocol,
  policyPorts: readonly NetworkPolicyPort[],
): boolean {
  return policyPorts.some((candidate) => {
    if (protocolOf(candidate) !== protocol) return false;
    if (candidate.port === undefined) return true;
    if (typeof candidate.port !== "number") return false;
    return port >= candidate.port && port <= (candidate.endPort ?? candidate.port);
  });
}

/** IsServiceHeadless: no ClusterIP, or "None". */
export function isHeadless(service: ServiceInfo): boolean {
  return service.clusterIP === undefined || service.clusterIP === "" || service.clusterIP === "None";
}
