/**
 * What amazon-network-policy-controller-k8s resolves a ClusterNetworkPolicy into
 * (pkg/resolvers/clusternetworkpolicy_resolver.go: every rule is converted to a one-rule NetworkPolicy
 * and resolved by the NetworkPolicy resolver) and an ApplicationNetworkPolicy into
 * (applicationnetworkpolicy_resolver.go). Line references: docs/fidelity/eks-tiers.md.
 */
import { compileLabelSelector } from "../../core/labelSelector";
import type {
  Direction,
  LabelSelector,
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  PodInfo,
} from "../../core/kubernetes";
import type { EndpointsResolver } from "./controller";
import type {
  ApplicationNetworkPolicy,
  ClusterNetworkPolicy,
  ClusterNetworkPolicyPort,
  ClusterPolicyAction,
} from "./clusterPolicyObjects";
import type { L4Entry } from "./model";

/** One resolved ClusterEndpointInfo, tagged with where it came from. */
export interface ClusterRule {
  readonly policy: string;
  readonly tier: "Admin" | "Baseline";
  /** spec.priority as written (0-1000). */
  readonly priority: number;
  readonly action: ClusterPolicyAction;
  readonly direction: Direction;
  readonly ruleIndex: number;
  readonly ruleName?: string;
  readonly cidr: string;
  /** Empty: every protocol and port. */
  readonly ports: readonly L4Entry[];
  /** Set when a pods/namespaces peer resolved to this pod's IP. */
  readonly pod?: PodInfo;
}

/** A domainNames peer: resolved by the controller, skipped by the agent (CIDR is empty). */
export interface SkippedDomainRule {
  readonly policy: string;
  readonly ruleIndex: number;
  readonly domainName: string;
}

export interface ClusterPolicyEndpoints {
  readonly policy: string;
  readonly tier: "Admin" | "Baseline";
  readonly priority: number;
  readonly selects: (pod: PodInfo) => boolean;
  readonly ingress: readonly ClusterRule[];
  readonly egress: readonly ClusterRule[];
  readonly skippedDomains: readonly SkippedDomainRule[];
}

function npPorts(ports: readonly ClusterNetworkPolicyPort[] | undefined): NetworkPolicyPort[] | undefined {
  if (ports === undefined) return undefined;
  // convertCNPPortsToNPPorts: portNumber, portRange (port + endPort) and namedPort (protocol unset).
  return ports.flatMap((port): NetworkPolicyPort[] => [
    ...(port.portNumber ? [{ protocol: port.portNumber.protocol, port: port.portNumber.port }] : []),
    ...(port.portRange
      ? [{ protocol: port.portRange.protocol, port: port.portRange.start, endPort: port.portRange.end }]
      : []),
    ...(port.namedPort !== undefined ? [{ port: port.namedPort }] : []),
  ]);
}

type CnpPeer = {
  namespaces?: LabelSelector;
  pods?: { namespaceSelector: LabelSelector; podSelector: LabelSelector };
};

/** convertSingleCNP*RuleToNP: namespaces -> namespaceSelector; pods -> namespaceSelector + podSelector. */
function npPeer(peer: CnpPeer): NetworkPolicyPeer {
  if (peer.pods !== undefined)
    return { namespaceSelector: peer.pods.namespaceSelector, podSelector: peer.pods.podSelector };
  return { namespaceSelector: peer.namespaces };
}

function tempPolicy(name: string, namespace: string, spec: Partial<NetworkPolicy["spec"]>): NetworkPolicy {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name, namespace },
    // The temp NetworkPolicy leaves podSelector at its zero value and sets no policyTypes.
    spec: { podSelector: {}, policyTypes: [], ...spec },
  };
}

export class ClusterPolicyResolver {
  constructor(
    private readonly resolver: EndpointsResolver,
    private readonly namespaces: readonly { name: string; labels: Readonly<Record<string, string>> }[],
  ) {}

  /** resolveNamespacesBySelector: an empty selector lists every namespace. */
  private namespacesMatching(selector: LabelSelector): string[] {
    const matches = compileLabelSelector(selector);
    return this.namespaces.filter((ns) => matches(ns.labels)).map((ns) => ns.name);
  }

  resolve(cnp: ClusterNetworkPolicy): ClusterPolicyEndpoints {
    const { tier, priority, subject } = cnp.spec;
    const policy = cnp.metadata.name;
    // resolvePodEndpointsFromSubject: namespaces selects every pod of the matching namespaces.
    const subjectNamespaces = new Set(
      this.namespacesMatching(subject.namespaces ?? subject.pods?.namespaceSelector ?? {}),
    );
    const subjectPods = compileLabelSelector(subject.pods?.podSelector ?? {});
    const base = { policy, tier, priority };
    const ingress: ClusterRule[] = [];
    for (const [ruleIndex, rule] of (cnp.spec.ingress ?? []).entries()) {
      // resolveCNPIngressRules: the target namespaces come from the FIRST peer only; the whole rule
      // is resolved once per such namespace (each peer carries its own namespaceSelector).
      const first = rule.from[0];
      const targets =
        first === undefined
          ? []
          : this.namespacesMatching(first.namespaces ?? first.pods?.namespaceSelector ?? {});
      for (const namespace of targets) {
        const temp = tempPolicy(policy, namespace, {
          ingress: [{ from: rule.from.map(npPeer), ports: npPorts(rule.ports) }],
        });
        for (const entry of this.resolver.resolve(temp).ingress) {
          ingress.push({
            ...base,
            action: rule.action,
            direction: "ingress",
            ruleIndex,
            ruleName: rule.name,
            cidr: entry.cidr,
            ports: entry.ports,
            ...(entry.pod === undefined ? {} : { pod: entry.pod }),
          });
        }
      }
    }
    const egress: ClusterRule[] = [];
    const skippedDomains: SkippedDomainRule[] = [];
    for (const [ruleIndex, rule] of (cnp.spec.egress ?? []).entries()) {
      // convertSingleCNPEgressRuleToNP: networks become ipBlocks (no except), selectors as for
      // ingress, domainNames are left out; the whole rule is resolved once per peer (networks: in
      // "default"; selectors: once per namespace the peer selects).
      const temp = (namespace: string) =>
        tempPolicy(policy, namespace, {
          egress: [
            {
              to: rule.to.flatMap((peer): NetworkPolicyPeer[] =>
                peer.networks !== undefined
                  ? peer.networks.map((cidr) => ({ ipBlock: { cidr } }))
                  : peer.domainNames !== undefined
                    ? []
                    : [npPeer(peer)],
              ),
              ports: npPorts(rule.ports),
            },
          ],
        });
      for (const peer of rule.to) {
        let namespaces: string[];
        if (peer.networks !== undefined) namespaces = ["default"];
        else if (peer.domainNames !== undefined) {
          for (const domainName of peer.domainNames) skippedDomains.push({ policy, ruleIndex, domainName });
          continue;
        } else namespaces = this.namespacesMatching(peer.namespaces ?? peer.pods?.namespaceSelector ?? {});
        for (const namespace of namespaces) {
          for (const entry of this.resolver.resolve(temp(namespace)).egress) {
            egress.push({
              ...base,
              action: rule.action,
              direction: "egress",
              ruleIndex,
              ruleName: rule.name,
              cidr: entry.cidr,
              ports: entry.ports,
              ...(entry.pod === undefined ? {} : { pod: entry.pod }),
            });
          }
        }
      }
    }
    return {
      ...base,
      selects: (pod) => subjectNamespaces.has(pod.namespace) && subjectPods(pod.labels),
      ingress: dedupRules(ingress),
      egress: dedupRules(egress),
      skippedDomains,
    };
  }
}

/** mergeClusterEndpointInfo: one entry per (cidr, action, ports). */
function dedupRules(rules: readonly ClusterRule[]): ClusterRule[] {
  const seen = new Map<string, ClusterRule>();
  for (const rule of rules) {
    const key = `${rule.cidr}|${rule.action}|${JSON.stringify(rule.ports)}`;
    if (!seen.has(key)) seen.set(key, rule);
  }
  return [...seen.values()];
}

/**
 * ApplicationNetworkPolicy, resolved by applicationnetworkpolicy_resolver.go into a namespaced
 * PolicyEndpoint: ingress as a NetworkPolicy's, egress with every domainNames peer left out (the
 * agent skips FQDN entries: CIDR empty), and PodIsolation = spec.policyTypes exactly as written
 * (manager.go: no API defaulting for a CRD).
 */
export function applicationPolicyAsNetworkPolicy(anp: ApplicationNetworkPolicy): {
  policy: NetworkPolicy;
  podIsolation: NonNullable<ApplicationNetworkPolicy["spec"]["policyTypes"]>;
} {
  const egress = (anp.spec.egress ?? []).flatMap((rule) => {
    const to = (rule.to ?? [])
      .filter((peer) => (peer.domainNames ?? []).length === 0)
      .map(({ podSelector, namespaceSelector, ipBlock }) => ({ podSelector, namespaceSelector, ipBlock }));
    return to.length > 0 ? [{ ports: rule.ports, to }] : [];
  });
  return {
    policy: {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: anp.metadata.name, namespace: anp.metadata.namespace },
      spec: {
        podSelector: anp.spec.podSelector,
        policyTypes: anp.spec.policyTypes,
        ingress: anp.spec.ingress,
        egress,
      },
    },
    podIsolation: anp.spec.policyTypes ?? [],
  };
}
