/**
 * The NetworkPolicy generator: flow table + stack config + resolved CIDRs -> manifests.
 *
 * Pure and synchronous, so the component, the offline plan and the tests all render the very same
 * objects. One policy per service and direction; the namespace default deny and its DNS allow are
 * switched together, since a policy selecting every pod for egress isolates every pod.
 */
import type * as K8s from "./kubernetes";
import {
  ALWAYS_EXCEPTED_CIDRS,
  IPV6_LOCAL_CIDRS,
  NON_UNICAST_CIDRS,
  canonicalCidrs,
  cidrContains,
  exceptionsWithin,
  isIpv4Cidr,
  sameFamily,
} from "./cidrs";
import { type StackConfig } from "./config";
import { ConfigError } from "./configError";
import { endpointPorts, isEnforced } from "./configQueries";
import {
  describeEndpoint,
  flowsOf,
  portsOf,
  type DeclaredFlow,
  type Endpoint,
  type PortProtocol,
  type ServiceName,
} from "./flowTable";
import { DIRECTIONS, type Direction } from "./kubernetes";

/** The analyzer's NetworkPolicy types (core/kubernetes.ts, the one definition), writable while the generator builds them. */
type Writable<T> = T extends readonly (infer Item)[]
  ? Writable<Item>[]
  : T extends object
    ? { -readonly [Key in keyof T]: Writable<T[Key]> }
    : T;

export type LabelSelector = Writable<K8s.LabelSelector>;
export type NetworkPolicyPeer = Writable<K8s.NetworkPolicyPeer>;
export type NetworkPolicyPort = Writable<K8s.NetworkPolicyPort>;
export type NetworkPolicyIngressRule = Writable<K8s.NetworkPolicyIngressRule>;
export type NetworkPolicyEgressRule = Writable<K8s.NetworkPolicyEgressRule>;
/** What the generator renders always carries its labels and explicit policy types. */
export type NetworkPolicyManifest = Writable<K8s.NetworkPolicy> & {
  metadata: { labels: Record<string, string> };
  spec: { policyTypes: K8s.PolicyType[] };
};

/** Where each non-pod endpoint is, as the AWS lookups found it. Every list is canonical (sorted, de-duplicated). */
export interface ResolvedCidrs {
  alb: string[];
  redis: string[];
  postgres: string[];
  mq: string[];
  vpc: string[];
  payment: string[];
}

export const KUBE_DNS_NAMESPACE = "kube-system";
export const KUBE_DNS_POD_LABELS: Readonly<Record<string, string>> = { "k8s-app": "kube-dns" };
/** Set by the API server on every namespace, so it cannot be forged by hand-labelling another namespace. */
export const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

export const MANAGED_BY_LABELS: Readonly<Record<string, string>> = {
  "app.kubernetes.io/managed-by": "pulumi",
  "app.kubernetes.io/part-of": "flash-netpol",
};

export const DEFAULT_DENY_NAME = "default-deny-all";
export const BREAK_GLASS_NAME = "break-glass-allow-all";
/** Marks the emergency allow-all, so the policy pack can report it on every preview. */
export const BREAK_GLASS_LABEL = "flash-netpol/break-glass";
export const DNS_EGRESS_NAME = "allow-dns-egress";

export function servicePolicyName(service: ServiceName, direction: Direction): string {
  return `${service}-${direction}`;
}

/** What a policy is for: lets the component order it and the plan group it without parsing names. */
export type PolicyRole =
  | { kind: "service"; service: ServiceName; direction: Direction }
  | { kind: "dnsEgress" }
  | { kind: "breakGlass" }
  | { kind: "defaultDeny" };

export interface GeneratedPolicy {
  role: PolicyRole;
  manifest: NetworkPolicyManifest;
}

function networkPolicy(
  metadata: NetworkPolicyManifest["metadata"],
  spec: NetworkPolicyManifest["spec"],
): NetworkPolicyManifest {
  return { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata, spec };
}

const toK8sPorts = (ports: readonly PortProtocol[]): NetworkPolicyPort[] =>
  ports.map(({ port, protocol }) => ({ protocol, port }));

/** Payment CIDRs as ipBlocks that except the VPC, RFC1918 and the metadata service. */
function publicEgressBlocks(cidrs: ResolvedCidrs): NetworkPolicyPeer[] {
  const excepted = canonicalCidrs([...ALWAYS_EXCEPTED_CIDRS, ...cidrs.vpc]);
  // Nor may they lie where no internet host is: loopback, multicast, IPv6 link-local or unique-local.
  const notPublic = [...excepted, ...NON_UNICAST_CIDRS, ...IPV6_LOCAL_CIDRS];
  return cidrs.payment.map((cidr) => {
    const inside = notPublic.find((range) => sameFamily(range, cidr) && cidrContains(range, cidr));
    if (inside !== undefined) {
      throw new ConfigError(
        `flash-netpol:paymentApi.cidrs: got ${cidr}, which lies inside ${inside} (the VPC, RFC1918, the instance metadata range or no unicast range); ` +
          `expected the payment provider's public ranges (or 0.0.0.0/0). Fix paymentApi.cidrs in the stack file.`,
      );
    }
    const except = isIpv4Cidr(cidr) ? exceptionsWithin(cidr, excepted) : [];
    return except.length > 0 ? { ipBlock: { cidr, except } } : { ipBlock: { cidr } };
  });
}

function peersOf(endpoint: Endpoint, config: StackConfig, cidrs: ResolvedCidrs): NetworkPolicyPeer[] {
  switch (endpoint.kind) {
    case "service":
      return [{ podSelector: { matchLabels: { ...config.services[endpoint.service].podLabels } } }];
    case "alb":
      return cidrs.alb.map((cidr) => ({ ipBlock: { cidr } }));
    case "dataStore":
      return cidrs[endpoint.store].map((cidr) => ({ ipBlock: { cidr } }));
    case "dns": {
      const kubeDns: NetworkPolicyPeer = {
        namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: KUBE_DNS_NAMESPACE } },
        podSelector: { matchLabels: { ...KUBE_DNS_POD_LABELS } },
      };
      const nodeLocal = config.dns.nodeLocalAddress;
      return nodeLocal === undefined ? [kubeDns] : [kubeDns, { ipBlock: { cidr: `${nodeLocal}/32` } }];
    }
    case "paymentApi":
      return publicEgressBlocks(cidrs);
  }
}

function metadata(
  name: string,
  config: StackConfig,
  extraLabels: Record<string, string>,
  purpose: string,
): NetworkPolicyManifest["metadata"] {
  return {
    name,
    namespace: config.namespace,
    labels: { ...MANAGED_BY_LABELS, ...extraLabels },
    annotations: { "flash-netpol/purpose": purpose },
  };
}

function describeFlows(flows: readonly DeclaredFlow[], direction: Direction): string {
  if (flows.length === 0) return direction === "ingress" ? "nobody may connect" : "no connection may leave";
  const other = (flow: DeclaredFlow) => describeEndpoint(direction === "ingress" ? flow.from : flow.to);
  return `${direction === "ingress" ? "from" : "to"} ${flows.map(other).join(", ")}`;
}

function servicePolicy(
  service: ServiceName,
  direction: Direction,
  config: StackConfig,
  cidrs: ResolvedCidrs,
): NetworkPolicyManifest {
  const flows = flowsOf(service, direction, config.flows);
  const podSelector = { matchLabels: { ...config.services[service].podLabels } };
  const meta = metadata(
    servicePolicyName(service, direction),
    config,
    { "flash-netpol/service": service, "flash-netpol/direction": direction },
    `${service} ${direction}: ${describeFlows(flows, direction)}`,
  );
  const rules = rulesFor(flows, direction, config, cidrs);
  return networkPolicy(
    meta,
    direction === "ingress"
      ? {
          podSelector,
          policyTypes: ["Ingress"],
          ingress: rules.map(({ peers, ports }) => ({ from: peers, ports })),
        }
      : {
          podSelector,
          policyTypes: ["Egress"],
          egress: rules.map(({ peers, ports }) => ({ to: peers, ports })),
        },
  );
}

interface Rule {
  peers: NetworkPolicyPeer[];
  ports: NetworkPolicyPort[];
}

const isPlainIpBlock = (peer: NetworkPolicyPeer) =>
  peer.ipBlock !== undefined &&
  peer.ipBlock.except === undefined &&
  !peer.podSelector &&
  !peer.namespaceSelector;

/**
 * One rule per flow, except that plain CIDRs are regrouped so each CIDR stands in exactly one rule
 * with all its ports. Data stores often share subnets (dev: Redis, RDS and MQ); the EKS VPC CNI
 * agent mishandles one CIDR listed in several rules with different ports. Allows are a union, so
 * the regrouping allows exactly the same traffic.
 */
function rulesFor(
  flows: readonly DeclaredFlow[],
  direction: Direction,
  config: StackConfig,
  cidrs: ResolvedCidrs,
): Rule[] {
  const endpointPortsOfStack = endpointPorts(config);
  const portsByCidr = new Map<string, PortProtocol[]>();
  const slots: (Rule | "cidr-rules")[] = [];
  for (const flow of flows) {
    const peers = peersOf(direction === "ingress" ? flow.from : flow.to, config, cidrs);
    const ports = portsOf(flow.to, endpointPortsOfStack);
    if (!peers.every(isPlainIpBlock)) {
      slots.push({ peers, ports: toK8sPorts(ports) });
      continue;
    }
    if (portsByCidr.size === 0) slots.push("cidr-rules");
    for (const peer of peers) {
      const known = portsByCidr.get(peer.ipBlock!.cidr) ?? [];
      const added = ports.filter(
        (port) => !known.some((seen) => seen.port === port.port && seen.protocol === port.protocol),
      );
      portsByCidr.set(peer.ipBlock!.cidr, [...known, ...added]);
    }
  }
  const cidrRules = new Map<string, Rule>();
  for (const [cidr, ports] of portsByCidr) {
    const key = ports.map((port) => `${port.port}/${port.protocol}`).join(",");
    const rule = cidrRules.get(key) ?? { peers: [], ports: toK8sPorts(ports) };
    rule.peers.push({ ipBlock: { cidr } });
    cidrRules.set(key, rule);
  }
  return slots.flatMap((slot) => (slot === "cidr-rules" ? [...cidrRules.values()] : [slot]));
}

function dnsEgressPolicy(config: StackConfig, cidrs: ResolvedCidrs): NetworkPolicyManifest {
  const dns: Endpoint = { kind: "dns" };
  return networkPolicy(
    metadata(DNS_EGRESS_NAME, config, { "flash-netpol/direction": "egress" }, "every pod may resolve names"),
    {
      podSelector: {},
      policyTypes: ["Egress"],
      egress: [{ to: peersOf(dns, config, cidrs), ports: toK8sPorts(portsOf(dns, endpointPorts(config))) }],
    },
  );
}

function defaultDenyPolicy(config: StackConfig): NetworkPolicyManifest {
  return networkPolicy(
    metadata(DEFAULT_DENY_NAME, config, {}, "zero trust: every pod denied everything not allowed above"),
    { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
  );
}

/** Every range the rules of `policies` except in one direction (each direction has its own map on EKS). */
export function exceptedRanges(policies: readonly NetworkPolicyManifest[], direction: Direction): string[] {
  const peers = policies.flatMap((manifest) =>
    direction === "ingress"
      ? (manifest.spec.ingress ?? []).flatMap((rule) => rule.from ?? [])
      : (manifest.spec.egress ?? []).flatMap((rule) => rule.to ?? []),
  );
  // Not canonicalCidrs: a range inside another excepted range is still its own deny-all key on EKS.
  return [...new Set(peers.flatMap((peer) => peer.ipBlock?.except ?? []))].sort();
}

/**
 * Emergency allow-all: NetworkPolicy allows are a union, so one policy allowing everything in both
 * directions lifts every isolation at once without deleting anything, and removing it restores the
 * policies (established connections stay open: docs/operations.md).
 *
 * On EKS the VPC CNI agent merges rules of one CIDR across every policy selecting a pod, and turns
 * each `except` range not itself listed as a CIDR into a deny-all entry that beats 0.0.0.0/0 by
 * longest prefix (aws-network-policy-agent fw_rule_processor.go). So the allow-all also lists every
 * range the other policies except, as plain ipBlocks: each becomes an allow-all entry instead.
 */
function breakGlassPolicy(config: StackConfig, others: readonly GeneratedPolicy[]): NetworkPolicyManifest {
  const toBlocks = (ranges: string[]) => ranges.map((cidr) => ({ ipBlock: { cidr } }));
  const manifests = others.map(({ manifest }) => manifest);
  const exceptedIn = exceptedRanges(manifests, "ingress");
  const exceptedOut = exceptedRanges(manifests, "egress");
  const plainIngress = exceptedIn.length === 0 ? [] : [{ from: toBlocks(exceptedIn) }];
  const plain = exceptedOut.length === 0 ? [] : [{ to: toBlocks(exceptedOut) }];
  return networkPolicy(
    metadata(
      BREAK_GLASS_NAME,
      config,
      { [BREAK_GLASS_LABEL]: "true" },
      "EMERGENCY: allows all traffic to and from every pod; set flash-netpol:breakGlass to false to restore isolation",
    ),
    {
      podSelector: {},
      policyTypes: ["Ingress", "Egress"],
      ingress: [{}, ...plainIngress],
      egress: [{}, ...plain],
    },
  );
}

/**
 * The policies for the stack's rollout stage, allows first, the default deny last. A flag set to
 * `off` leaves its policy out entirely: no policy, no isolation for that service and direction.
 */
export function generatePolicies(config: StackConfig, cidrs: ResolvedCidrs): GeneratedPolicy[] {
  const policies: GeneratedPolicy[] = [];
  for (const service of Object.keys(config.services)) {
    for (const direction of DIRECTIONS) {
      if (!isEnforced(config.rollout, service, direction)) continue;
      policies.push({
        role: { kind: "service", service, direction },
        manifest: servicePolicy(service, direction, config, cidrs),
      });
    }
  }
  const breakGlassAt = policies.length;
  if (config.rollout.defaultDeny === "enforce") {
    policies.push({ role: { kind: "dnsEgress" }, manifest: dnsEgressPolicy(config, cidrs) });
    policies.push({ role: { kind: "defaultDeny" }, manifest: defaultDenyPolicy(config) });
  }
  if (config.breakGlass) {
    policies.splice(breakGlassAt, 0, {
      role: { kind: "breakGlass" },
      manifest: breakGlassPolicy(config, policies),
    });
  }
  return policies;
}
