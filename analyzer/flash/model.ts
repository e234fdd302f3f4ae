/**
 * The flash-ticket cluster as the analyzer sees it: one pod per service, the pods that must stay
 * outside every flow (an unlabelled pod in the namespace, a look-alike in another namespace), kube-dns,
 * and one external address per place the table talks about. Every probe that a flash-ticket policy
 * can decide is listed once, with the flows that intend it, so a stage's verdict is a single pass.
 */
import { DNS_PORTS, type ServiceName } from "../../core/flowTable";
import {
  KUBE_DNS_NAMESPACE,
  KUBE_DNS_POD_LABELS,
  NAMESPACE_NAME_LABEL,
  type NetworkPolicyManifest,
} from "../../core/networkPolicies";
import type {
  Cluster,
  ContainerPort,
  Endpoint,
  NamespaceInfo,
  NetworkPolicy,
  PodInfo,
  TrafficPort,
} from "../index";
import { addressOf } from "../../core/kubernetes";
import { compileLabelSelector } from "../../core/labelSelector";
import type { ServiceInfo } from "../eks/model";
import { isHeadless } from "../eks/controller";
import { addressInside, freeAddresses, ipv4InAny, isIpv4Cidr, ipv4InCidr } from "./addresses";
import { flowsBetween, flowsOnPort, intendedFlows, type IntendedFlow } from "./intent";
import { FlashModelError } from "./modelError";
import type { FlashTopology } from "./topology";

/** An endpoint with the name the plan, the JSON and `--explain` use for it. */
export interface NamedEndpoint {
  /** `namespace/pod` for pods; `alb`, `redis`, `redis-2`, `vpc-other`, `internet`... for addresses. */
  readonly name: string;
  readonly endpoint: Endpoint;
}

export interface FlashProbe {
  readonly from: NamedEndpoint;
  readonly to: NamedEndpoint;
  readonly port: number;
  readonly protocol: TrafficPort["protocol"];
  /** The table flows that declare this connection; empty = not intended. */
  readonly intendedBy: readonly IntendedFlow[];
  /** The address the source connects to and the destination sees the connection from. */
  readonly fromAddress: string;
  /** The address the source connects to: the destination's own, or a Service's ClusterIP (viaService). */
  readonly toAddress: string;
  /**
   * A pod reaches another pod's port through the Service that fronts it (as applications and
   * `npm run verify` do): the source's egress sees ClusterIP:port, the destination pod `port`.
   */
  readonly viaService?: { readonly service: string; readonly clusterIP: string; readonly port: number };
}

export interface FlashModel {
  readonly topology: FlashTopology;
  readonly namespaces: readonly NamespaceInfo[];
  readonly pods: readonly PodInfo[];
  readonly endpoints: readonly NamedEndpoint[];
  readonly ports: readonly TrafficPort[];
  readonly probes: readonly FlashProbe[];
  readonly flows: readonly IntendedFlow[];
  /** The node every model pod runs on (one node: the agent allows a pod's own node whatever the policies). */
  readonly nodeIp: string;
}

/** The intent of every probe no flow declares: one shared empty list, never written to. */
const NOT_INTENDED: readonly IntendedFlow[] = Object.freeze([]);

export const NODE_ENDPOINT_NAME = "node";
export const FOREIGN_NAMESPACE = "other-app";
export const METADATA_SERVICE_ADDRESS = "169.254.169.254";
/** The EKS Pod Identity agent on every node: it hands pods IAM credentials (the EKS User Guide, "pod-id-agent"). */
export const POD_IDENTITY_AGENT_ADDRESS = "169.254.170.23";
export const POD_IDENTITY_ENDPOINT_NAME = "pod-identity-agent";
/**
 * A kube-system pod that is not DNS (metrics-server, webhooks, controllers listen on 443): a peer that
 * names kube-system without kube-dns's labels reaches it.
 */
export const KUBE_SYSTEM_OTHER_POD = {
  name: "metrics-server",
  labels: { "k8s-app": "metrics-server" },
} as const;
/** TEST-NET-3: public-looking, never routed, so nothing real is named. */
export const INTERNET_ADDRESS = "203.0.113.10";
/** Ports nobody declares, probed so an over-wide rule (all ports, a wrong port) shows. */
export const EXTRA_PROBE_PORTS: readonly TrafficPort[] = [
  { port: 22, protocol: "TCP" },
  { port: 80, protocol: "TCP" },
  // HTTPS: the API server, webhooks and kube-system's other pods, whatever the stack's own ports are.
  { port: 443, protocol: "TCP" },
  { port: 5432, protocol: "TCP" },
  { port: 8080, protocol: "TCP" },
  // The kubelet API on every node: exec into any pod of the node.
  { port: 10250, protocol: "TCP" },
];

/** The places the table names, with the config keys that set them, for a model error's message. */
function describePlaces(topology: FlashTopology): string {
  const { cidrs } = topology;
  const listed = (values: readonly string[]) => (values.length === 0 ? "none" : values.join(", "));
  return (
    `alb [${listed(cidrs.alb)}] (flash-netpol:alb.cidrs, or discovered), redis [${listed(cidrs.redis)}], postgres [${listed(cidrs.postgres)}], ` +
    `mq [${listed(cidrs.mq)}] (the data stores' subnet groups, flash-netpol:dataStores)` +
    (topology.serviceIpv4Cidr === undefined ? "" : `, the service CIDR ${topology.serviceIpv4Cidr}`)
  );
}

const NO_ROOM_FIX =
  "Fix: set flash-netpol:alb.cidrs to the ALB's own subnets (or leave it out to discover them), and keep the data stores in subnets of their own";

function namespaceInfo(name: string): NamespaceInfo {
  // The API server sets this label on every namespace; the DNS peer selects kube-system by it.
  return { name, labels: { [NAMESPACE_NAME_LABEL]: name } };
}

function tcp(port: number): ContainerPort {
  return { port, protocol: "TCP" };
}

function pod(namespace: string, name: string, labels: Record<string, string>, ports: ContainerPort[]) {
  return (ip: string): PodInfo => ({ namespace, name, labels, ip, ports });
}

/** The VPC range pods get addresses from, and the range for "elsewhere in the VPC". */
function chooseVpcRanges(topology: FlashTopology, avoid: readonly string[]): { pods: string; other: string } {
  const vpc = topology.cidrs.vpc.filter(isIpv4Cidr);
  if (vpc.length === 0)
    throw new FlashModelError(
      `the cluster's VPC has no IPv4 CIDR (${topology.cidrs.vpc.join(", ") || "none"}); the flash model places pods at IPv4 addresses, as the VPC CNI does by default`,
    );
  const holdsAvoided = (range: string) =>
    avoid.some((cidr) => isIpv4Cidr(cidr) && ipv4InCidr(cidr.split("/")[0], range));
  // A VPC range with no ALB or data-store subnet is a pod range (EKS custom networking puts pods
  // in a secondary CIDR such as 100.64.0.0/16); otherwise pods share the primary range.
  const pods = vpc.find((range) => !holdsAvoided(range)) ?? vpc[0];
  const other = vpc.find((range) => range !== pods) ?? pods;
  return { pods, other };
}

/**
 * Beside each declared TCP port, the ports a widened rule reaches first: its neighbours (an endPort
 * range starting or ending there) and the same number over UDP and SCTP. Only the guard probes them
 * (`flows-match-flow-table` judges one policy set); the rollout proofs stay on the declared ports.
 */
function neighbourPorts(declared: readonly TrafficPort[]): TrafficPort[] {
  return declared
    .filter((port) => port.protocol === "TCP")
    .flatMap(({ port }) => [
      ...(port > 1 ? [{ port: port - 1, protocol: "TCP" as const }] : []),
      ...(port < 65535 ? [{ port: port + 1, protocol: "TCP" as const }] : []),
      { port, protocol: "UDP" as const },
      { port, protocol: "SCTP" as const },
    ]);
}

function probePorts(topology: FlashTopology, options: FlashModelOptions): TrafficPort[] {
  const declared = [
    ...topology.flows.flatMap((flow) => flow.ports),
    ...Object.values(topology.services).map((service) => ({ port: service.port, protocol: "TCP" as const })),
  ];
  const all = [
    ...declared,
    ...DNS_PORTS,
    ...EXTRA_PROBE_PORTS,
    ...(options.neighbourPorts === true ? neighbourPorts(declared) : []),
    ...(options.alsoProbe ?? []),
  ];
  const unique = new Map(all.map((port) => [`${port.port}/${port.protocol}`, port]));
  return [...unique.values()].sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
}

/** Addresses for every CIDR of a place: `redis`, `redis-2`, ... so a dropped subnet shows. */
function addressesPerCidr(
  name: string,
  cidrs: readonly string[],
  allPlaces: readonly string[],
  taken: Set<string>,
): NamedEndpoint[] {
  // Prefer an address no other place claims, so "redis" is only Redis where the subnets allow it.
  const otherPlaces = allPlaces.filter((cidr) => !cidrs.includes(cidr));
  return cidrs.filter(isIpv4Cidr).map((cidr, index) => {
    const ip = addressInside(cidr, otherPlaces, taken);
    taken.add(ip);
    return { name: index === 0 ? name : `${name}-${index + 1}`, endpoint: { kind: "external", ip } };
  });
}

/**
 * The service whose labels the look-alike pod in another namespace wears: one that other pods of
 * the namespace may reach (flash-api today), since a peer selector that forgets its namespace lets
 * in exactly such a pod. Falls back to any service with an inbound flow, then to the first service.
 */
export function lookalikeServiceOf(topology: FlashTopology): ServiceName {
  const services = Object.keys(topology.services);
  const reachedBy = (fromService: boolean) =>
    topology.flows.find(
      (flow) => flow.to.kind === "service" && (flow.from.kind === "service") === fromService,
    )?.to;
  const target = reachedBy(true) ?? reachedBy(false);
  return target?.kind === "service" ? target.service : services[0];
}

export interface FlashModelOptions {
  /** Also probe the neighbours of every declared port (see neighbourPorts): the guard's model. */
  readonly neighbourPorts?: boolean;
  /** More ports to probe: the guard adds every port the checked policies mention (mentionedPorts.ts). */
  readonly alsoProbe?: readonly TrafficPort[];
}

export function buildFlashModel(topology: FlashTopology, options: FlashModelOptions = {}): FlashModel {
  const { cidrs, namespace } = topology;
  const places = [...cidrs.alb, ...cidrs.redis, ...cidrs.postgres, ...cidrs.mq];
  const avoid = topology.serviceIpv4Cidr === undefined ? places : [...places, topology.serviceIpv4Cidr];
  const ranges = chooseVpcRanges(topology, avoid);

  const lookalike = topology.services[lookalikeServiceOf(topology)];
  const podFactories = [
    ...Object.entries(topology.services).map(([service, { podLabels, port }]) =>
      pod(namespace, service, { ...podLabels }, [tcp(port)]),
    ),
    // Selected by no service policy: only the namespace-wide policies may govern it.
    pod(namespace, "unlabelled", {}, [tcp(8080)]),
    // Wears the labels of a reachable service (flash-api) and kube-dns in another namespace: a
    // selector that forgets its namespace would let it in, or let flash-ticket pods resolve names through it.
    pod(FOREIGN_NAMESPACE, "lookalike", { ...lookalike.podLabels, ...KUBE_DNS_POD_LABELS }, [
      tcp(lookalike.port),
    ]),
    pod(KUBE_DNS_NAMESPACE, "kube-dns", { ...KUBE_DNS_POD_LABELS }, [
      { name: "dns", port: 53, protocol: "UDP" },
      { name: "dns-tcp", port: 53, protocol: "TCP" },
    ]),
    pod(KUBE_DNS_NAMESPACE, KUBE_SYSTEM_OTHER_POD.name, { ...KUBE_SYSTEM_OTHER_POD.labels }, [tcp(443)]),
  ];
  const podAddresses = freeAddresses(ranges.pods, avoid, podFactories.length);
  if (podAddresses.length < podFactories.length)
    throw new FlashModelError(
      `the VPC range ${ranges.pods} has no room for pods outside the subnets the flow table names: ${describePlaces(topology)}. ` +
        `Those subnets cover the VPC, so they cannot be only the ALB's and the data stores'. ${NO_ROOM_FIX}`,
    );
  const pods = podFactories.map((make, index) => make(podAddresses[index]));
  const taken = new Set(podAddresses);

  const [vpcOther, nodeIp] = freeAddresses(ranges.other, avoid, 2, taken);
  if (vpcOther === undefined || nodeIp === undefined)
    throw new FlashModelError(
      `the VPC range ${ranges.other} has no address left for a node outside the subnets the flow table names: ${describePlaces(topology)}. ${NO_ROOM_FIX}`,
    );
  taken.add(vpcOther);
  taken.add(nodeIp);

  const externals: NamedEndpoint[] = [
    ...addressesPerCidr("alb", cidrs.alb, places, taken),
    ...addressesPerCidr("redis", cidrs.redis, places, taken),
    ...addressesPerCidr("postgres", cidrs.postgres, places, taken),
    ...addressesPerCidr("mq", cidrs.mq, places, taken),
    { name: "vpc-other", endpoint: { kind: "external", ip: vpcOther } },
    { name: NODE_ENDPOINT_NAME, endpoint: { kind: "external", ip: nodeIp } },
    ...(topology.nodeLocalDnsAddress === undefined
      ? []
      : [
          {
            name: "node-local-dns",
            endpoint: { kind: "external", ip: topology.nodeLocalDnsAddress },
          } as const,
        ]),
    { name: "metadata-service", endpoint: { kind: "external", ip: METADATA_SERVICE_ADDRESS } },
    { name: POD_IDENTITY_ENDPOINT_NAME, endpoint: { kind: "external", ip: POD_IDENTITY_AGENT_ADDRESS } },
    { name: "internet", endpoint: { kind: "external", ip: INTERNET_ADDRESS } },
  ];
  // Narrow payment ranges may not hold the generic internet address; give the provider its own.
  if (!ipv4InAny(INTERNET_ADDRESS, cidrs.payment.filter(isIpv4Cidr)) && cidrs.payment.some(isIpv4Cidr)) {
    const paymentCidr = cidrs.payment.filter(isIpv4Cidr)[0];
    externals.push({
      name: "payment-api",
      endpoint: { kind: "external", ip: addressInside(paymentCidr, [], taken) },
    });
  }

  const endpoints: NamedEndpoint[] = [
    ...pods.map((info): NamedEndpoint => ({
      name: `${info.namespace}/${info.name}`,
      endpoint: { kind: "pod", pod: info },
    })),
    ...externals,
  ];
  const ports = probePorts(topology, options);
  const flows = intendedFlows(topology);
  const inNamespace = (named: NamedEndpoint) =>
    named.endpoint.kind === "pod" && named.endpoint.pod.namespace === namespace;
  // A pod's port is reached through the Service fronting it whoever the client is: once per pod and port.
  const viaServiceOf = new Map<NamedEndpoint, (FlashProbe["viaService"] | undefined)[]>();
  for (const to of endpoints) {
    const { endpoint } = to;
    if (endpoint.kind !== "pod") continue;
    viaServiceOf.set(
      to,
      ports.map(({ port, protocol }) =>
        serviceFronting(topology.clusterServices ?? [], endpoint.pod, port, protocol),
      ),
    );
  }
  const probes: FlashProbe[] = [];
  for (const from of endpoints) {
    const fromAddress = addressOf(from.endpoint);
    for (const to of endpoints) {
      if (from === to) continue;
      // Outside-to-outside has no pod to police; pairs without a flash-ticket pod are governed by
      // nobody's policies here, so a verdict on them would say nothing about this stack.
      if (from.endpoint.kind === "external" && to.endpoint.kind === "external") continue;
      if (!inNamespace(from) && !inNamespace(to)) continue;
      const pairFlows = flowsBetween(flows, from.endpoint, to.endpoint);
      const toAddress = addressOf(to.endpoint);
      const viaServices = from.endpoint.kind === "pod" ? viaServiceOf.get(to) : undefined;
      ports.forEach(({ port, protocol }, portIndex) => {
        const viaService = viaServices?.[portIndex];
        const intendedBy = pairFlows.length === 0 ? NOT_INTENDED : flowsOnPort(pairFlows, port, protocol);
        probes.push(
          viaService === undefined
            ? { from, to, port, protocol, intendedBy, fromAddress, toAddress }
            : {
                from,
                to,
                port,
                protocol,
                intendedBy,
                fromAddress,
                toAddress: viaService.clusterIP,
                viaService,
              },
        );
      });
    }
  }
  return {
    topology,
    namespaces: [namespace, FOREIGN_NAMESPACE, KUBE_DNS_NAMESPACE].map(namespaceInfo),
    pods,
    endpoints,
    ports,
    probes,
    flows,
    nodeIp,
  };
}

/**
 * The Service through which a client reaches `pod` on `port`: not headless, its selector selects the
 * pod, and one of its ports targets `port` (by number, or by the name of the pod's container port).
 */
function serviceFronting(
  services: readonly ServiceInfo[],
  pod: PodInfo,
  port: number,
  protocol: TrafficPort["protocol"],
): FlashProbe["viaService"] {
  for (const service of services) {
    if (service.namespace !== pod.namespace || isHeadless(service) || service.selector === undefined)
      continue;
    if (Object.keys(service.selector).length === 0) continue;
    if (!compileLabelSelector({ matchLabels: service.selector })(pod.labels)) continue;
    const named = pod.ports.find(
      (declared) => declared.port === port && declared.protocol === protocol,
    )?.name;
    const servicePort = service.ports.find(
      (candidate) =>
        candidate.protocol === protocol &&
        (candidate.targetPort === port || (named !== undefined && candidate.targetPort === named)),
    );
    if (servicePort !== undefined) {
      return {
        service: `${service.namespace}/${service.name}`,
        clusterIP: service.clusterIP!,
        port: servicePort.port,
      };
    }
  }
  return undefined;
}

export function clusterWith(
  model: FlashModel,
  policies: readonly (NetworkPolicy | NetworkPolicyManifest)[],
): Cluster {
  return { namespaces: model.namespaces, pods: model.pods, policies };
}

export function endpointNamed(model: FlashModel, name: string): NamedEndpoint | undefined {
  return model.endpoints.find((endpoint) => endpoint.name === name);
}
