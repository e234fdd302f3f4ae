/**
 * The flash-ticket flow table: who may talk to whom. The table itself is data, declared once in
 * stack config (`flash-netpol:flows`, by default the project-level value in Pulumi.yaml); this
 * module says what an entry means and checks entries against the declared services.
 *
 * The NetworkPolicy generator, the connectivity analyzer, the policy pack and the offline plan all
 * read the parsed table; none of them re-encodes a flow by hand. Ports are not written in an entry:
 * they belong to the destination and come from stack config (see `resolveFlows`), so a port change
 * in config moves every consumer at once.
 */
import { z } from "zod";
import type { Direction } from "./kubernetes";

/** A key of `flash-netpol:services`: any number of them, named in stack config. */
export type ServiceName = string;

export const DATA_STORE_NAMES = ["redis", "postgres", "mq"] as const;
export type DataStoreName = (typeof DATA_STORE_NAMES)[number];

/** Endpoint names that are not services; no service may be named like one. */
export const RESERVED_ENDPOINT_NAMES: readonly string[] = [...DATA_STORE_NAMES, "alb", "dns", "payment-api"];

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

/** A Kubernetes Service name (DNS-1035 label): services are reached as `<name>.<namespace>.svc`. */
export const serviceNameSchema = z
  .string()
  .regex(
    /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/,
    "a service name: a DNS-1035 label (lowercase letters, digits and '-', starting with a letter, at most 63 characters)",
  );

/** One entry of `flash-netpol:flows` as written in config. */
export const flowEntrySchema = z.strictObject({
  from: z.string({ error: "an endpoint name" }).min(1, "an endpoint name"),
  to: z.string({ error: "an endpoint name" }).min(1, "an endpoint name"),
  purpose: z
    .string({ error: "why the platform needs this flow (shown in the plan and in violations)" })
    .min(1, "why the platform needs this flow (shown in the plan and in violations)"),
});
export type FlowEntry = z.output<typeof flowEntrySchema>;

export const flowEntriesSchema = z
  .array(flowEntrySchema, { error: "a list of flows, each {from, to, purpose}" })
  .min(1, "at least one flow");

/** The endpoint a name stands for, given the declared services; undefined for an unknown name. */
export function endpointNamed(name: string, services: readonly ServiceName[]): Endpoint | undefined {
  if (services.includes(name)) return { kind: "service", service: name };
  if ((DATA_STORE_NAMES as readonly string[]).includes(name))
    return { kind: "dataStore", store: name as DataStoreName };
  if (name === "alb") return { kind: "alb" };
  if (name === "dns") return { kind: "dns" };
  if (name === "payment-api") return { kind: "paymentApi" };
  return undefined;
}

/** A problem with the table, located at config key paths such as ["flows", 3, "to"]. */
export interface FlowTableProblem {
  readonly key: "flows" | "services";
  /** Every place the same problem occurs (one unknown name in several entries), first first. */
  readonly paths: readonly (readonly (string | number)[])[];
  readonly found: unknown;
  readonly expected: string;
  readonly fix: string;
}

/** Edit distance, for "did you mean" on a misspelt service name. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length];
}

function closest(name: string, candidates: readonly string[]): string | undefined {
  return candidates.find((candidate) => distance(name, candidate) <= 2);
}

const FLOWS_WHERE =
  "flash-netpol:flows (Pulumi.yaml for every stack, or the stack file to replace the table for that stack)";

/**
 * The entries as flows, checked against the declared services: every endpoint known, `alb` never a
 * destination, a service on at least one side, no (from, to) pair twice, no service named like a
 * reserved endpoint, and every service in some flow.
 */
export function declareFlows(
  entries: readonly FlowEntry[],
  services: readonly ServiceName[],
): { flows: DeclaredFlow[]; problems: FlowTableProblem[] } {
  const problems: FlowTableProblem[] = [];
  for (const service of services) {
    if (RESERVED_ENDPOINT_NAMES.includes(service)) {
      problems.push({
        key: "services",
        paths: [[service]],
        found: service,
        expected: `a service name other than the reserved endpoint names (${RESERVED_ENDPOINT_NAMES.join(", ")}), which the flow table uses for what lives outside the namespace`,
        fix: `rename the service (e.g. ${service}-worker) in flash-netpol:services, flash-netpol:rollout.services and the flows`,
      });
    }
  }
  const known = services.filter((service) => !RESERVED_ENDPOINT_NAMES.includes(service));
  const expectedEndpoint =
    `a service of flash-netpol:services (${known.join(", ") || "none declared"}) ` +
    `or one of ${RESERVED_ENDPOINT_NAMES.join(", ")}`;
  const flows: DeclaredFlow[] = [];
  const firstIndex = new Map<string, number>();
  // One problem per unknown name, listing every entry that uses it: a misspelt service reads once.
  const unknownNames = new Map<string, (string | number)[][]>();
  entries.forEach((entry, index) => {
    const from = endpointNamed(entry.from, known);
    const to = endpointNamed(entry.to, known);
    for (const side of ["from", "to"] as const) {
      if ((side === "from" ? from : to) !== undefined) continue;
      unknownNames.set(entry[side], [...(unknownNames.get(entry[side]) ?? []), [index, side]]);
    }
    if (from === undefined || to === undefined) return;
    if (to.kind === "alb") {
      problems.push({
        key: "flows",
        paths: [[index, "to"]],
        found: entry.to,
        expected:
          "a destination other than alb (the ALB only connects into the cluster; a flow's ports are its destination's)",
        fix: `write the flow the ALB starts as {from: alb, to: <service>}, or remove entry ${index} from ${FLOWS_WHERE}`,
      });
      return;
    }
    if (from.kind !== "service" && to.kind !== "service") {
      problems.push({
        key: "flows",
        paths: [[index]],
        found: entry,
        expected: `a service of flash-netpol:services on at least one side (${entry.from} -> ${entry.to} has no pod of the namespace, so no NetworkPolicy can allow it)`,
        fix: `remove entry ${index} from ${FLOWS_WHERE}`,
      });
      return;
    }
    const pair = `${entry.from} -> ${entry.to}`;
    const first = firstIndex.get(pair);
    if (first !== undefined) {
      problems.push({
        key: "flows",
        paths: [[index]],
        found: entry,
        expected: `each (from, to) pair once; ${pair} is already entry ${first}`,
        fix: `remove entry ${index} from ${FLOWS_WHERE}, or merge its purpose into entry ${first}`,
      });
      return;
    }
    firstIndex.set(pair, index);
    flows.push({ from, to, purpose: entry.purpose });
  });
  for (const [name, paths] of unknownNames) {
    const suggestion = closest(name, known);
    problems.push({
      key: "flows",
      paths,
      found: name,
      expected: expectedEndpoint,
      fix:
        suggestion !== undefined
          ? `did you mean ${suggestion}? Use the name declared under flash-netpol:services (or rename the service there)`
          : `correct the name, or declare ${name} under flash-netpol:services (with its rollout flags under flash-netpol:rollout.services.${name} in every stack)`,
    });
  }
  for (const service of known) {
    const mentioned = entries.some((entry) => entry.from === service || entry.to === service);
    if (!mentioned) {
      problems.push({
        key: "services",
        paths: [[service]],
        found: service,
        expected: `a service that some entry of flash-netpol:flows mentions (without one its policies would deny it everything)`,
        fix: `add its flows to ${FLOWS_WHERE}, e.g. {from: ${service}, to: dns, purpose: name resolution}, or remove the service`,
      });
    }
  }
  return { flows, problems };
}

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

/** DNS: kube-dns and NodeLocal DNSCache serve it on UDP and, for truncated answers, TCP. */
export const DNS_PORT = 53;
export const DNS_PORTS: readonly PortProtocol[] = [
  { port: DNS_PORT, protocol: "UDP" },
  { port: DNS_PORT, protocol: "TCP" },
];

/** The ports a connection *to* this endpoint uses. */
export function portsOf(endpoint: Endpoint, ports: EndpointPorts): readonly PortProtocol[] {
  switch (endpoint.kind) {
    case "service": {
      const port = ports.servicePorts[endpoint.service];
      if (port === undefined) throw new Error(`service ${endpoint.service} has no port in stack config`);
      return [{ port, protocol: "TCP" }];
    }
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

export function resolveFlows(ports: EndpointPorts, table: readonly DeclaredFlow[]): ResolvedFlow[] {
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
  table: readonly DeclaredFlow[],
): DeclaredFlow[] {
  return table.filter((flow) => isService(direction === "ingress" ? flow.to : flow.from, name));
}

/** Services nobody may reach (the pay worker today). Derived, so nothing else hard-codes them. */
export function isolatedServices(
  services: readonly ServiceName[],
  table: readonly DeclaredFlow[],
): ServiceName[] {
  return services.filter((name) => flowsOf(name, "ingress", table).length === 0);
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
