/**
 * flows-match-flow-table: the deployed NetworkPolicies, evaluated by our analyzer on the flash-ticket
 * model, allow every flow of the flow table (no outage at this rollout stage) and, for every pod and
 * direction they isolate, nothing beyond the table and DNS (no exposure). The model (labels, ports,
 * CIDRs, rollout) comes from the FlashNetworkPolicies component's outputs in the engine's state, and
 * the flows from components/flowTable.ts: the same single source the generator reads.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { checkFlowsAgainstTable } from "../../analyzer/flash";
import { canonicalCidrs } from "../../components/cidrs";
import { COMPONENT_TYPE, NETWORK_POLICY_TYPE } from "../../components/resourceTypes";
import { z } from "zod";
import { recordedStateSchema } from "../../components/recordedState";
import { report, violation, type Violation } from "./common";
import { notedPackFacts, type AlbTargetFact, type PackFacts } from "./packFacts";
import { isProgramsBreakGlass } from "./breakGlassExemption";
import { namespaceOf, type NetworkPolicyView } from "./k8s";
import { stackNamespace } from "./stackConfig";

export const NAME = "flows-match-flow-table";
export const DESCRIPTION =
  "The NetworkPolicies allow every flow of the flash-ticket flow table and, where they isolate a pod, nothing beyond it and DNS.";

function policyKey(resource: PolicyResource): string {
  const policy = resource.props as NetworkPolicyView;
  return `${namespaceOf(policy, resource.provider)}/${policy.metadata?.name ?? resource.name}`;
}

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
  const nodeLocal = facts["dns-egress-kube-dns-only.nodeLocalAddress"];
  if (nodeLocal !== undefined) {
    const configured = recorded.nodeLocalDnsAddress ?? null;
    compare(
      "dns-egress-kube-dns-only.nodeLocalAddress",
      nodeLocal ?? "none",
      configured ?? "none",
      "is configured (flash-netpol:dns.nodeLocalAddress) with",
      configured ?? "nothing (remove the key)",
    );
  }
  return found;
}

export function checkStack(resources: readonly PolicyResource[], facts: PackFacts = {}) {
  const policies = resources.filter((resource) => resource.type === NETWORK_POLICY_TYPE);
  const component = resources.find((resource) => resource.type === COMPONENT_TYPE);
  // Without the component there is no model to prove against: manifests checked from a YAML file, or
  // another project using the pack. The other rules still judge every policy.
  if (component === undefined) return [];
  const byKey = new Map(policies.map((resource) => [policyKey(resource), resource]));
  return [...checkPackFacts(component, facts), ...checkFlows(policies, component, byKey)];
}

function checkFlows(
  policies: readonly PolicyResource[],
  component: PolicyResource,
  byKey: Map<string, PolicyResource>,
): Violation[] {
  // The namespace the component recorded deploying to; the stack config's when it recorded none.
  const recorded = recordedFacts.safeParse(component.props);
  const namespace = (recorded.success ? recorded.data.namespace : undefined) ?? stackNamespace();
  return checkFlowsAgainstTable(
    policies.map((resource) => resource.props),
    component?.props,
  ).map((found) => {
    const culprits = found.policies.map((key) => byKey.get(key)).filter((resource) => resource !== undefined);
    // The program's own emergency allow-all must never block a deployment; break-glass-active
    // already reports it. Any other policy with the label is judged (breakGlassExemption.ts).
    const onlyBreakGlass =
      found.kind === "exposure" &&
      culprits.length > 0 &&
      culprits.every((resource) =>
        isProgramsBreakGlass(resource.props as NetworkPolicyView, resource.provider, namespace),
      );
    // One resource per message (the pack's shape); the analyzer's text names any others involved.
    const subject = found.policies[0] !== undefined ? `NetworkPolicy ${found.policies[0]}` : "Stack";
    return {
      message: violation(subject, found.message.replace(/\.?\s*Fix:.*$/s, ""), fixOf(found.message)),
      urn: culprits[0]?.urn ?? component?.urn,
      forceLevel: onlyBreakGlass ? ("advisory" as const) : undefined,
    };
  });
}

/** The analyzer's messages end with their own fix; keep it, in the pack's message shape. */
function fixOf(message: string): string {
  const fix = /Fix:\s*(.*)$/s.exec(message)?.[1];
  return (
    fix?.replace(/\.$/, "") ??
    "change the NetworkPolicies or the flow table (components/flowTable.ts) so they agree"
  );
}

export const flowsMatchFlowTable: StackValidationPolicy = {
  name: NAME,
  description: DESCRIPTION,
  validateStack: (args, reportViolation) => {
    for (const found of checkStack(args.resources, notedPackFacts()))
      report(reportViolation, DESCRIPTION, found);
  },
};
