/**
 * What the flow table intends, as predicates over model endpoints.
 *
 * Intent is defined by address semantics, not by endpoint names: a flow's destination "redis" is
 * every address in the Redis subnets, whatever the model calls the endpoint sitting there. In dev
 * Redis, RDS and MQ share subnets, so the postgres endpoint on 6379 from flash-gateway IS the Redis
 * subnet and is intended; a name-based check would call the policy wrong for allowing it.
 */
import { compileLabelSelector } from "../../core/labelSelector";
import { ALWAYS_EXCEPTED_CIDRS } from "../../core/cidrs";
import { addressOf } from "../../core/kubernetes";
import { DNS_PORTS, describeEndpoint, type Endpoint, type PortProtocol } from "../../core/flowTable";
import { KUBE_DNS_NAMESPACE, KUBE_DNS_POD_LABELS } from "../../core/networkPolicies";
import type { Endpoint as AnalyzerEndpoint, Labels, Protocol } from "../index";
import { ipv4InAny } from "./addresses";
import type { FlashTopology } from "./topology";

/** A flow of the table (or the namespace-wide DNS allow) as predicates over concrete endpoints. */
export interface IntendedFlow {
  /** "flash-gateway -> redis", as the plan and violation messages name it. */
  readonly name: string;
  readonly purpose: string;
  readonly ports: readonly PortProtocol[];
  readonly sourceMatches: (endpoint: AnalyzerEndpoint) => boolean;
  readonly destinationMatches: (endpoint: AnalyzerEndpoint) => boolean;
}

export const NAMESPACE_DNS_FLOW_NAME = "every pod -> dns";

function hasLabels(labels: Labels, required: Readonly<Record<string, string>>): boolean {
  return compileLabelSelector({ matchLabels: required })(labels);
}

function addressIn(cidrs: readonly string[]): (endpoint: AnalyzerEndpoint) => boolean {
  return (endpoint) => ipv4InAny(addressOf(endpoint), cidrs);
}

/** The set of endpoints a flow-table endpoint stands for. */
export function endpointMatcher(
  endpoint: Endpoint,
  topology: FlashTopology,
): (candidate: AnalyzerEndpoint) => boolean {
  switch (endpoint.kind) {
    case "service": {
      const { podLabels } = topology.services[endpoint.service];
      return (candidate) =>
        candidate.kind === "pod" &&
        candidate.pod.namespace === topology.namespace &&
        hasLabels(candidate.pod.labels, podLabels);
    }
    case "alb":
      return addressIn(topology.cidrs.alb);
    case "dataStore":
      return addressIn(topology.cidrs[endpoint.store]);
    case "dns": {
      const nodeLocal = topology.nodeLocalDnsAddress;
      return (candidate) =>
        (candidate.kind === "pod" &&
          candidate.pod.namespace === KUBE_DNS_NAMESPACE &&
          hasLabels(candidate.pod.labels, KUBE_DNS_POD_LABELS)) ||
        (nodeLocal !== undefined && addressOf(candidate) === nodeLocal);
    }
    case "paymentApi": {
      // The provider is on the public internet: its ranges never include the VPC, RFC1918 or the
      // metadata service, whatever the configured CIDRs say (0.0.0.0/0 means "the internet").
      const notPublic = [...ALWAYS_EXCEPTED_CIDRS, ...topology.cidrs.vpc];
      const inPayment = addressIn(topology.cidrs.payment);
      return (candidate) => inPayment(candidate) && !ipv4InAny(addressOf(candidate), notPublic);
    }
  }
}

/**
 * The table's flows plus DNS for every pod of the namespace.
 *
 * Choice: the namespace-wide `allow-dns-egress` policy is part of the target (full enforcement
 * deploys it with the default deny), so resolving names is intended for every pod in the namespace,
 * the unlabelled one included, not only for the services whose rows name dns. Without this row the
 * target would show the unlabelled pod's DNS as exposure, which is the design, not a leak.
 */
export function intendedFlows(topology: FlashTopology): IntendedFlow[] {
  const declared = topology.flows.map((flow): IntendedFlow => ({
    name: `${describeEndpoint(flow.from)} -> ${describeEndpoint(flow.to)}`,
    purpose: flow.purpose,
    ports: flow.ports,
    sourceMatches: endpointMatcher(flow.from, topology),
    destinationMatches: endpointMatcher(flow.to, topology),
  }));
  const namespaceDns: IntendedFlow = {
    name: NAMESPACE_DNS_FLOW_NAME,
    purpose: "name resolution for every pod of the namespace (allow-dns-egress)",
    ports: DNS_PORTS,
    sourceMatches: (candidate) => candidate.kind === "pod" && candidate.pod.namespace === topology.namespace,
    destinationMatches: endpointMatcher({ kind: "dns" }, topology),
  };
  return [...declared, namespaceDns];
}

/** The flows that declare this connection; empty when the table does not intend it. */
export function flowsIntending(
  flows: readonly IntendedFlow[],
  from: AnalyzerEndpoint,
  to: AnalyzerEndpoint,
  port: number,
  protocol: Protocol,
): IntendedFlow[] {
  return flowsOnPort(flowsBetween(flows, from, to), port, protocol);
}

/** The flows whose source and destination match these endpoints, on any port. */
export function flowsBetween(
  flows: readonly IntendedFlow[],
  from: AnalyzerEndpoint,
  to: AnalyzerEndpoint,
): IntendedFlow[] {
  return flows.filter((flow) => flow.sourceMatches(from) && flow.destinationMatches(to));
}

/** Of the flows between two endpoints (flowsBetween), those that declare this port. */
export function flowsOnPort(
  pairFlows: readonly IntendedFlow[],
  port: number,
  protocol: Protocol,
): IntendedFlow[] {
  return pairFlows.filter((flow) =>
    flow.ports.some((declared) => declared.port === port && declared.protocol === protocol),
  );
}
