import { compilePolicy, ruleAdmits, type CompiledPolicy, type CompiledRule } from "./compiledPolicy";
import type { DirectionVerdict, ProbeExplanation, RuleReference } from "./explanation";
import type {
  Cluster,
  ContainerPort,
  Direction,
  Endpoint,
  NamespaceInfo,
  PodInfo,
  Probe,
} from "../core/kubernetes";
import { endpointTrafficPeer, type TrafficPeer } from "./trafficPeer";

interface DirectionQuery {
  readonly direction: Direction;
  /** The pod whose policies decide this direction. */
  readonly subject: PodInfo;
  readonly peer: TrafficPeer;
  readonly port: number;
  readonly protocol: Probe["protocol"];
  /** Ports declared by the connection's destination, for named-port resolution. */
  readonly destinationPorts: readonly ContainerPort[] | undefined;
  /** Traffic of a protocol without ports (ICMP): only a rule that lists no ports admits it. */
  readonly portless?: boolean;
}

/** An address's peer depends on the address alone: shared by every analyzer. */
const EXTERNAL_PEERS = new WeakMap<Endpoint, TrafficPeer>();

/**
 * Answers single connection questions with full NetworkPolicy semantics. Policies are compiled
 * once; each probe then walks the policies isolating the pods involved.
 */
export class PolicyAnalyzer {
  readonly policies: readonly CompiledPolicy[];
  private readonly namespaces = new Map<string, NamespaceInfo>();
  private readonly policiesByNamespace = new Map<string, CompiledPolicy[]>();
  private readonly podPeerCache = new Map<PodInfo, TrafficPeer>();
  private readonly isolatingByPod: Record<Direction, Map<PodInfo, readonly CompiledPolicy[]>> = {
    ingress: new Map(),
    egress: new Map(),
  };

  constructor(cluster: Cluster) {
    for (const namespace of cluster.namespaces) this.namespaces.set(namespace.name, namespace);
    this.policies = cluster.policies.map(compilePolicy);
    for (const policy of this.policies) {
      const list = this.policiesByNamespace.get(policy.namespace) ?? [];
      list.push(policy);
      this.policiesByNamespace.set(policy.namespace, list);
    }
  }

  namespaceOf(name: string): NamespaceInfo {
    const namespace = this.namespaces.get(name);
    if (namespace === undefined) throw new Error(`unknown namespace "${name}"`);
    return namespace;
  }

  isAllowed(probe: Probe): boolean {
    return this.bothSidesAllow(probe, false);
  }

  /**
   * Traffic of a protocol a NetworkPolicy port cannot name (ICMP) between two endpoints: a rule
   * admits it only when it lists no ports, as the API defines and the EKS agent enforces (a rule
   * without ports becomes ANY_IP_PROTOCOL; a listed port keeps its own protocol).
   */
  isAllowedPortless(from: Endpoint, to: Endpoint): boolean {
    return this.bothSidesAllow({ from, to, port: 0, protocol: "TCP" }, true);
  }

  explain(probe: Probe): ProbeExplanation {
    const [egressQuery, ingressQuery] = this.directionQueries(probe);
    const egress = this.explainDirection(egressQuery);
    const ingress = this.explainDirection(ingressQuery);
    return { allowed: egress.kind !== "denied" && ingress.kind !== "denied", egress, ingress };
  }

  /**
   * Policies in the subject's namespace that select it and isolate it for the direction. They depend
   * on the pod's namespace and labels only, and the policies are fixed: computed once per pod (a
   * plan asks for the same pod on every probe of its row and column).
   */
  isolatingPolicies(subject: PodInfo, direction: Direction): readonly CompiledPolicy[] {
    const cache = this.isolatingByPod[direction];
    let isolating = cache.get(subject);
    if (isolating === undefined) {
      isolating = (this.policiesByNamespace.get(subject.namespace) ?? []).filter(
        (policy) => policy.isolates[direction] && policy.selectsPod(subject.labels),
      );
      cache.set(subject, isolating);
    }
    return isolating;
  }

  /**
   * One side of a connection: allowed when its endpoint is no pod, no policy isolates the pod in
   * this direction, or a rule of an isolating policy admits the other end. `explain` says the same
   * in words (not-a-pod, not-isolated, allowed, denied); this builds no objects, for hot loops.
   */
  directionAllows(probe: Probe, direction: Direction): boolean {
    return this.sideAllows(probe, direction, false);
  }

  /** Egress of the source and ingress of the destination: the hot path of every matrix and proof. */
  private bothSidesAllow(probe: Probe, portless: boolean): boolean {
    // Both peers first, as explain does: an endpoint in an unknown namespace fails either way.
    if (probe.from.kind === "pod") this.trafficPeer(probe.to);
    if (probe.to.kind === "pod") this.trafficPeer(probe.from);
    return this.sideAllows(probe, "egress", portless) && this.sideAllows(probe, "ingress", portless);
  }

  private sideAllows(probe: Probe, direction: Direction, portless: boolean): boolean {
    const subject = direction === "egress" ? probe.from : probe.to;
    const other = direction === "egress" ? probe.to : probe.from;
    if (subject.kind !== "pod") return true;
    const isolating = this.isolatingPolicies(subject.pod, direction);
    if (isolating.length === 0) return true;
    const peer = this.trafficPeer(other);
    const destinationPorts = probe.to.kind === "pod" ? probe.to.pod.ports : undefined;
    for (const policy of isolating) {
      for (const rule of policy.rules[direction]) {
        if (ruleAdmits(rule, peer, probe.port, probe.protocol, destinationPorts, portless)) return true;
      }
    }
    return false;
  }

  private explainDirection(query: DirectionQuery | undefined): DirectionVerdict {
    if (query === undefined) return { kind: "not-a-pod" };
    const isolating = this.isolatingPolicies(query.subject, query.direction);
    if (isolating.length === 0) return { kind: "not-isolated" };
    const allowedBy: RuleReference[] = [];
    for (const policy of isolating) {
      for (const rule of policy.rules[query.direction]) {
        if (this.ruleAdmits(rule, query)) {
          allowedBy.push({ policy: policy.key, direction: query.direction, ruleIndex: rule.index });
        }
      }
    }
    const isolatedBy = isolating.map((policy) => policy.key);
    return allowedBy.length > 0 ? { kind: "allowed", isolatedBy, allowedBy } : { kind: "denied", isolatedBy };
  }

  private ruleAdmits(rule: CompiledRule, query: DirectionQuery): boolean {
    return ruleAdmits(
      rule,
      query.peer,
      query.port,
      query.protocol,
      query.destinationPorts,
      query.portless === true,
    );
  }

  /** [egress side, ingress side]; undefined where the endpoint is not a pod and so not policed. */
  private directionQueries(
    probe: Probe,
    portless = false,
  ): [DirectionQuery | undefined, DirectionQuery | undefined] {
    const destinationPorts = probe.to.kind === "pod" ? probe.to.pod.ports : undefined;
    const common = { port: probe.port, protocol: probe.protocol, destinationPorts, portless };
    const egress: DirectionQuery | undefined =
      probe.from.kind === "pod"
        ? { ...common, direction: "egress", subject: probe.from.pod, peer: this.trafficPeer(probe.to) }
        : undefined;
    const ingress: DirectionQuery | undefined =
      probe.to.kind === "pod"
        ? { ...common, direction: "ingress", subject: probe.to.pod, peer: this.trafficPeer(probe.from) }
        : undefined;
    return [egress, ingress];
  }

  private trafficPeer(endpoint: Endpoint): TrafficPeer {
    const namespaceOf = (name: string): NamespaceInfo => this.namespaceOf(name);
    if (endpoint.kind !== "pod") {
      // An address's peer depends on the address alone: share it across analyzers (the rollout proof
      // builds one per policy set it judges, over the same endpoints).
      let external = EXTERNAL_PEERS.get(endpoint);
      if (external === undefined) {
        external = endpointTrafficPeer(endpoint, namespaceOf);
        EXTERNAL_PEERS.set(endpoint, external);
      }
      return external;
    }
    // Parsing the address dominates when the same pod is probed repeatedly, so keep it per pod.
    let peer = this.podPeerCache.get(endpoint.pod);
    if (peer === undefined) {
      peer = endpointTrafficPeer(endpoint, namespaceOf);
      this.podPeerCache.set(endpoint.pod, peer);
    }
    return peer;
  }
}
