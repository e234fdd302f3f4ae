/**
 * The flash-ticket flow table: who may talk to whom. Declared once, as data.
 *
 * The NetworkPolicy generator, the connectivity analyzer, the policy pack and the offline plan all
 * read this table; none of them re-encodes a flow by hand. Ports are not written here: they belong
 * to the endpoints and come from stack config (see `resolveFlows`), so a port change in config moves
 * every consumer at once.
 */

export const SERVICE_NAMES = ["flash-gateway", "flash-api", "flash-pay"] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export const DATA_STORE_NAMES = ["redis", "postgres", "mq"] as const;
export type DataStoreName = (typeof DATA_STORE_NAMES)[number];

export const DIRECTIONS = ["ingress", "egress"] as const;
export type Direction = (typeof DIRECTIONS)[number];

export type Protocol = "TCP" | "UDP" | "SCTP";

/** One side of a flow. Everything that is not a service pod lives outside the namespace. */
export type Endpoint =
  | { kind: "service"; service: ServiceName }
  /** The internet-facing ALB: its ENIs (target type ip) or the worker nodes (target type instance). */
  | { kind: "alb" }
  /** A managed data store, reached at the addresses of its subnets. */
  | { kind: "dataStore"; store: DataStoreName }
  /** Cluster DNS: kube-dns in kube-system, or the NodeLocal DNSCache address when configured. */
  | { kind: "dns" }
  /** The external payment provider on the public internet. */
  | { kind: "paymentApi" };

export interface DeclaredFlow {
  readonly from: Endpoint;
  readonly to: Endpoint;
  /** Why the platform needs this flow: shown in the plan and in violation messages. */
  readonly purpose: string;
}

const service = (name: ServiceName): Endpoint => ({ kind: "service", service: name });
const dataStore = (store: DataStoreName): Endpoint => ({ kind: "dataStore", store });
const alb: Endpoint = { kind: "alb" };
const dns: Endpoint = { kind: "dns" };
const paymentApi: Endpoint = { kind: "paymentApi" };

export const FLOW_TABLE: readonly DeclaredFlow[] = [
  { from: alb, to: service("flash-gateway"), purpose: "public traffic and ALB health checks" },
  { from: service("flash-gateway"), to: service("flash-api"), purpose: "gateway forwards API calls" },
  { from: service("flash-gateway"), to: dataStore("redis"), purpose: "sessions and rate limits" },
  { from: service("flash-gateway"), to: dns, purpose: "name resolution" },
  { from: service("flash-api"), to: dataStore("postgres"), purpose: "orders and tickets" },
  { from: service("flash-api"), to: dataStore("redis"), purpose: "ticket stock cache" },
  { from: service("flash-api"), to: dataStore("mq"), purpose: "publishes payment jobs (AMQPS)" },
  { from: service("flash-api"), to: dns, purpose: "name resolution" },
  { from: service("flash-pay"), to: dataStore("mq"), purpose: "consumes payment jobs (AMQPS)" },
  { from: service("flash-pay"), to: paymentApi, purpose: "charges cards at the payment provider" },
  { from: service("flash-pay"), to: dns, purpose: "name resolution" },
];

/** The concrete ports of every endpoint kind, as stack config sets them. */
export interface EndpointPorts {
  readonly servicePorts: Readonly<Record<ServiceName, number>>;
  /** Several for a store with more than one listener (ElastiCache Serverless: endpoint and reader). */
  readonly dataStorePorts: Readonly<Record<DataStoreName, readonly number[]>>;
  readonly paymentApiPorts: readonly number[];
}

export interface PortProtocol {
  readonly port: number;
  readonly protocol: Protocol;
}

/** A declared flow with the ports it needs. */
export interface ResolvedFlow extends DeclaredFlow {
  readonly ports: readonly PortProtocol[];
}

export const DNS_PORTS: readonly PortProtocol[] = [
  { port: 53, protocol: "UDP" },
  { port: 53, protocol: "TCP" },
];

/** The ports a connection *to* this endpoint uses. */
export function portsOf(endpoint: Endpoint, ports: EndpointPorts): readonly PortProtocol[] {
  switch (endpoint.kind) {
    case "service":
      return [{ port: ports.servicePorts[endpoint.service], protocol: "TCP" }];
    case "dataStore":
      return ports.dataStorePorts[endpoint.store].map((port) => ({ port, protocol: "TCP" as const }));
    case "dns":
      return DNS_PORTS;
    case "paymentApi":
      return ports.paymentApiPorts.map((port) => ({ port, protocol: "TCP" as const }));
    case "alb":
      throw new Error("the ALB is never a destination in the flow table");
  }
}

export function resolveFlows(
  ports: EndpointPorts,
  table: readonly DeclaredFlow[] = FLOW_TABLE,
): ResolvedFlow[] {
  return table.map((flow) => ({ ...flow, ports: portsOf(flow.to, ports) }));
}

export function isService(
  endpoint: Endpoint,
  name?: ServiceName,
): endpoint is { kind: "service"; service: ServiceName } {
  return endpoint.kind === "service" && (name === undefined || endpoint.service === name);
}

/** Flows that reach the service's pods (its ingress) or leave them (its egress). */
export function flowsOf(
  name: ServiceName,
  direction: Direction,
  table: readonly DeclaredFlow[] = FLOW_TABLE,
): DeclaredFlow[] {
  return table.filter((flow) => isService(direction === "ingress" ? flow.to : flow.from, name));
}

/** Services nobody may reach: the pay worker. Derived, so the pack and the analyzer never hard-code it. */
export function isolatedServices(table: readonly DeclaredFlow[] = FLOW_TABLE): ServiceName[] {
  return SERVICE_NAMES.filter((name) => flowsOf(name, "ingress", table).length === 0);
}

export function describeEndpoint(endpoint: Endpoint): string {
  switch (endpoint.kind) {
    case "service":
      return endpoint.service;
    case "dataStore":
      return endpoint.store;
    case "alb":
      return "alb";
    case "dns":
      return "dns";
    case "paymentApi":
      return "payment-api";
  }
}
