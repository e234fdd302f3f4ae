/**
 * Where the pack config states a fact the component recorded, and the two disagree, the pack's
 * rules judge by a wrong fact: flows-match-flow-table reports one violation per fact (packFacts.ts
 * says how the rules note their facts). Each fact is compared only when the component recorded it,
 * so a stack recorded by an older program is judged on what it shares with this one.
 */
import type { PolicyResource } from "@pulumi/policy";
import { z } from "zod";
import { canonicalCidrs, isCidrText } from "../../core/cidrs";
import { DATA_STORE_NAMES } from "../../core/flowTable";
import { recordedStateSchema } from "../../core/recordedState";
import { violation, type Violation } from "./common";
import type { AlbTargetFact, DestinationFact, PackFacts, WorkloadFact } from "./packFacts";

const listed = (values: readonly string[]) => `[${values.join(", ")}]`;

/** The recorded facts the pack config repeats; each compared only when the component recorded it. */
const recordedFacts = recordedStateSchema
  .pick({
    namespace: true,
    services: true,
    flowTable: true,
    cidrs: true,
    serviceIpv4Cidr: true,
    nodeLocalDnsAddress: true,
    clusterCidrs: true,
    dataStorePorts: true,
    paymentApiPorts: true,
  })
  .partial();
type RecordedFacts = z.output<typeof recordedFacts>;

/** The services the recorded flow table lets `alb` reach, with their recorded labels and port. */
function albTargetsOf(recorded: RecordedFacts): AlbTargetFact[] | undefined {
  const { namespace, services, flowTable } = recorded;
  if (namespace === undefined || services === undefined || flowTable === undefined) return undefined;
  return flowTable
    .filter((flow) => flow.from === "alb" && Object.prototype.hasOwnProperty.call(services, flow.to))
    .map((flow) => {
      const service = services[flow.to as keyof typeof services];
      return { namespace, podLabels: service.podLabels, port: service.port };
    });
}

const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function canonicalWorkloads(workloads: readonly WorkloadFact[]): string[] {
  const keys = workloads.map((workload) =>
    JSON.stringify([workload.namespace, Object.entries(workload.podLabels).sort(([a], [b]) => byKey(a, b))]),
  );
  return [...new Set(keys)].sort();
}

/** One text per set of destinations, independent of order and duplicates, so equal facts compare equal. */
function describeDestinations(destinations: readonly DestinationFact[]): string {
  const canonical = destinations.map((destination) =>
    JSON.stringify([
      destination.name,
      canonicalCidrs(destination.cidrs.filter(isCidrText)),
      [...new Set(destination.ports)].sort((a, b) => a - b),
      canonicalWorkloads(destination.callers),
    ]),
  );
  return listed([...new Set(canonical)].sort());
}

/** The services the recorded flow table lets reach `endpoint`, as workloads. */
function callersOf(recorded: RecordedFacts, endpoint: string): WorkloadFact[] | undefined {
  const { namespace, services, flowTable } = recorded;
  if (namespace === undefined || services === undefined || flowTable === undefined) return undefined;
  return flowTable
    .filter((flow) => flow.to === endpoint && Object.prototype.hasOwnProperty.call(services, flow.from))
    .map((flow) => ({ namespace, podLabels: services[flow.from]!.podLabels }));
}

/** The data stores as data-store-egress states them: recorded subnets, ports and callers. */
function storesOf(recorded: RecordedFacts): DestinationFact[] | undefined {
  const { cidrs, dataStorePorts } = recorded;
  if (cidrs === undefined || dataStorePorts === undefined) return undefined;
  const stores: DestinationFact[] = [];
  for (const name of DATA_STORE_NAMES) {
    const callers = callersOf(recorded, name);
    if (callers === undefined) return undefined;
    stores.push({ name, cidrs: cidrs[name], ports: dataStorePorts[name] ?? [], callers });
  }
  return stores;
}

/** The payment API as public-egress states it: the configured ranges and ports, its callers. */
function externalEndpointsOf(recorded: RecordedFacts): DestinationFact[] | undefined {
  const callers = callersOf(recorded, "payment-api");
  if (recorded.cidrs === undefined || recorded.paymentApiPorts === undefined || callers === undefined)
    return undefined;
  return [{ name: "payment-api", cidrs: recorded.cidrs.payment, ports: recorded.paymentApiPorts, callers }];
}

function describeAlbTargets(targets: readonly AlbTargetFact[]): string {
  const canonical = targets.map((target) =>
    JSON.stringify([
      target.namespace,
      Object.entries(target.podLabels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      target.port,
    ]),
  );
  return listed([...new Set(canonical)].sort());
}

/**
 * Where the pack config states a fact the component recorded (discovered VPC CIDRs and service CIDR,
 * the configured NodeLocal address) and the two disagree, the pack's other rules judge by a wrong
 * fact: one violation per fact, naming both values and the file to fix.
 */
export function checkPackFacts(component: PolicyResource, facts: PackFacts): Violation[] {
  const parsed = recordedFacts.safeParse(component.props);
  // Unreadable state is reported by the flow check as an unavailable model; no fact to compare then.
  if (!parsed.success) return [];
  const recorded = parsed.data;
  // urn:pulumi:<stack>::<project>::...; each stack has its pack config file of the same name.
  const file = `policies/config/${component.urn.split("::")[0]!.split(":").at(-1)}.json`;
  const found: Violation[] = [];
  const compare = (
    key: keyof PackFacts,
    configured: string,
    discovered: string,
    how: string,
    fix: string,
  ) => {
    if (configured === discovered) return;
    found.push({
      message: violation(
        "Stack",
        `${key} in ${file} is ${configured}, but the program ${how} ${discovered}, so the pack judges the policies by a wrong fact`,
        `set ${key} in ${file} to ${fix}`,
      ),
      urn: component.urn,
    });
  };
  for (const key of ["public-egress.vpcCidrs", "public-ingress.vpcCidrs"] as const) {
    const vpc = facts[key];
    if (vpc === undefined || recorded.cidrs?.vpc === undefined) continue;
    const discovered = listed(canonicalCidrs(recorded.cidrs.vpc));
    compare(key, listed(canonicalCidrs(vpc)), discovered, "discovered", discovered);
  }
  const albTargets = facts["public-ingress.albTargets"];
  const fromTable = albTargetsOf(recorded);
  if (albTargets !== undefined && fromTable !== undefined) {
    const expected = describeAlbTargets(fromTable);
    compare(
      "public-ingress.albTargets",
      describeAlbTargets(albTargets),
      expected,
      "lets the ALB reach (flow table, flash-netpol:services)",
      JSON.stringify(fromTable),
    );
  }
  const service = facts["eks-vpc-cni-lints.serviceCidrs"];
  if (service !== undefined && recorded.serviceIpv4Cidr) {
    const discovered = listed([recorded.serviceIpv4Cidr]);
    compare(
      "eks-vpc-cni-lints.serviceCidrs",
      listed(canonicalCidrs(service)),
      discovered,
      "discovered the cluster's service CIDR",
      discovered,
    );
  }
  for (const key of [
    "dns-egress-kube-dns-only.nodeLocalAddress",
    "link-local-egress.nodeLocalAddress",
  ] as const) {
    const nodeLocal = facts[key];
    if (nodeLocal === undefined) continue;
    const configured = recorded.nodeLocalDnsAddress ?? null;
    compare(
      key,
      nodeLocal ?? "none",
      configured ?? "none",
      "is configured (flash-netpol:dns.nodeLocalAddress) with",
      configured ?? "nothing (remove the key)",
    );
  }
  const cidrFacts: [keyof PackFacts, string[] | undefined, string][] = [
    [
      "public-ingress.albCidrs",
      recorded.cidrs?.alb,
      "discovered the ALB's subnets (or flash-netpol:alb.cidrs) as",
    ],
    ["data-store-egress.vpcCidrs", recorded.cidrs?.vpc, "discovered"],
    ["cluster-infrastructure.nodeCidrs", recorded.clusterCidrs?.node, "discovered the node group subnets as"],
    [
      "cluster-infrastructure.controlPlaneCidrs",
      recorded.clusterCidrs?.controlPlane,
      "discovered the cluster's subnets as",
    ],
    [
      "cluster-infrastructure.podCidrs",
      recorded.clusterCidrs?.pod,
      "reads the pod subnets (flash-netpol:cluster.podSubnetIds) as",
    ],
  ];
  for (const [key, discovered, how] of cidrFacts) {
    const configured = facts[key] as readonly string[] | undefined;
    if (configured === undefined || discovered === undefined) continue;
    const expected = listed(canonicalCidrs(discovered));
    compare(key, listed(canonicalCidrs(configured.filter(isCidrText))), expected, how, expected);
  }
  const workloads = facts["known-peers-only.workloads"];
  if (workloads !== undefined && recorded.namespace !== undefined && recorded.services !== undefined) {
    const namespace = recorded.namespace;
    const fromServices = Object.values(recorded.services).map(({ podLabels }) => ({ namespace, podLabels }));
    compare(
      "known-peers-only.workloads",
      listed(canonicalWorkloads(workloads)),
      listed(canonicalWorkloads(fromServices)),
      "declares the services (flash-netpol:services, flash-netpol:namespace) as",
      JSON.stringify(fromServices),
    );
  }
  const destinations: [keyof PackFacts, DestinationFact[] | undefined, string][] = [
    [
      "data-store-egress.stores",
      storesOf(recorded),
      "discovered the data stores (subnets, ports, flow table callers) as",
    ],
    [
      "public-egress.externalEndpoints",
      externalEndpointsOf(recorded),
      "is configured (flash-netpol:paymentApi, flow table callers) with",
    ],
  ];
  for (const [key, expected, how] of destinations) {
    const configured = facts[key] as readonly DestinationFact[] | undefined;
    if (configured === undefined || expected === undefined) continue;
    compare(
      key,
      describeDestinations(configured),
      describeDestinations(expected),
      how,
      JSON.stringify(expected),
    );
  }
  return found;
}
