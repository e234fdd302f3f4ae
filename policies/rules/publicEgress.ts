/**
 * public-egress: egress to the internet only to the declared external endpoints (today
 * flash-netpol:paymentApi), within their ranges, on their ports, from the services the flow table
 * lets call them: an allow-list, so a /16 on 443 from flash-api or a /3 on 22 is refused, whatever
 * else the block looks like (exfiltration, a command-and-control channel). Besides, an ipBlock wider
 * than the VPC may only carry the allowed ports (HTTPS by default) and must except everything
 * private: RFC1918, the VPC CIDRs and 169.254.0.0/16, where the instance metadata service hands out
 * the node's IAM credentials.
 */
import { z } from "zod";
import { portNumberSchema } from "../../core/kubernetes";
import { networkPolicyRule, violation, type Violation } from "./common";
import { weakensWhen } from "./configStrictness";
import {
  INSTANCE_METADATA_CIDR,
  LINK_LOCAL_CIDRS,
  PRIVATE_CIDRS,
  RFC1918_CIDRS,
  cidrContains,
  isExcepted,
  isValidCidr,
  prefixLength,
  sameFamily,
  strictlyContains,
  cidrTextSchema,
} from "../../core/cidrs";
import {
  describePort,
  describePorts,
  namespaceOf,
  portsOutside,
  rulePath,
  rulesOf,
  type PortView,
} from "./k8s";
import { memoisedOnFrozen } from "./memo";
import { packStackConfig, stackCallersOf } from "./stackConfig";
import { describeWorkloads, pinnedWorkload, workloadSchema } from "./workloads";

export const NAME = "public-egress";
export const DESCRIPTION =
  "Egress to public addresses only to a declared external endpoint's ranges and ports, from its callers; an ipBlock wider than the VPC only on the allowed ports, always excepting RFC1918, the VPC CIDRs and 169.254.0.0/16.";

const externalEndpoint = z.strictObject({
  name: z.string().min(1),
  /** flash-netpol:paymentApi.cidrs (the provider's published ranges). */
  cidrs: weakensWhen(z.array(cidrTextSchema).min(1), "grows"),
  /** flash-netpol:paymentApi.ports (TCP). */
  ports: weakensWhen(z.array(portNumberSchema).min(1), "grows"),
  /** The services the flow table lets call the endpoint; by default those of the stack's flow table. */
  callers: weakensWhen(z.array(workloadSchema).optional(), "grows"),
});
export type ExternalEndpointFact = z.output<typeof externalEndpoint>;

export const CONFIG = z.object({
  vpcCidrs: weakensWhen(z.array(cidrTextSchema).default([]), "changes"),
  allowedPorts: weakensWhen(z.array(portNumberSchema).min(1).default([443]), "grows"),
  /** The only public destinations; none by default, so nothing public is reachable unless declared. */
  externalEndpoints: weakensWhen(z.array(externalEndpoint).default([]), "grows"),
});
export type PublicEgressConfig = z.output<typeof CONFIG>;

/** The endpoint with its callers: as configured, else from the stack's flow table. */
const withCallers = (endpoint: z.output<typeof externalEndpoint>) => ({
  ...endpoint,
  callers: endpoint.callers ?? stackCallersOf(endpoint.name),
});

/** Every endpoint with its callers, once per (config, stack config) rather than per resource (memo.ts). */
const endpointsWithCallers = memoisedOnFrozen((config: PublicEgressConfig, _stackConfig: object) =>
  config.externalEndpoints.map(withCallers),
);

/** Blocks this short are "the internet" whatever else they contain (0.0.0.0/0, 0.0.0.0/1, ::/0 ...). */
const SLASH_ZERO_ISH_MAX_PREFIX = 1;

/** Public-wide: /0-ish, or strictly wider than a VPC CIDR, an RFC1918 range or the metadata range. */
export function isPublicWide(cidr: string, vpcCidrs: readonly string[]): boolean {
  if (prefixLength(cidr) <= SLASH_ZERO_ISH_MAX_PREFIX) return true;
  return [...vpcCidrs, ...RFC1918_CIDRS, INSTANCE_METADATA_CIDR].some(
    (range) => isValidCidr(range) && strictlyContains(cidr, range),
  );
}

/** True when some address of `cidr` is public: no private, link-local or VPC range contains it. */
export function reachesPublic(cidr: string, vpcCidrs: readonly string[]): boolean {
  return ![...PRIVATE_CIDRS, ...LINK_LOCAL_CIDRS, ...vpcCidrs].some(
    (range) => isValidCidr(range) && cidrContains(range, cidr),
  );
}

export const publicEgress = networkPolicyRule({
  name: NAME,
  description: DESCRIPTION,
  config: CONFIG,
  facts: (config) => ({
    "public-egress.vpcCidrs": config.vpcCidrs,
    "public-egress.externalEndpoints": endpointsWithCallers(config, packStackConfig()),
  }),
  check: ({ policy, resource, provider, config, stackConfig }) => {
    const namespace = namespaceOf(policy, provider);
    const found: Violation[] = [];
    for (const located of rulesOf(policy)) {
      if (located.direction !== "egress") continue;
      (located.peers ?? []).forEach((peer, index) => {
        const block = peer.ipBlock;
        if (block?.cidr === undefined) return;
        const where = `${rulePath(located)}.to[${index}].ipBlock`;
        if (!isValidCidr(block.cidr)) {
          found.push({
            message: violation(
              resource,
              `${where}.cidr "${block.cidr}" is not a CIDR`,
              "write a CIDR such as 0.0.0.0/0",
            ),
          });
          return;
        }
        const ports = located.rule.ports ?? [];
        if (reachesPublic(block.cidr, config.vpcCidrs)) {
          found.push(
            ...endpointProblems(block.cidr, ports, where, located.index, config, stackConfig, {
              policy,
              namespace,
              resource,
            }),
          );
        }
        if (!isPublicWide(block.cidr, config.vpcCidrs)) return;
        const allowed = (port: PortView) =>
          typeof port.port === "number" &&
          port.endPort === undefined &&
          config.allowedPorts.includes(port.port);
        const disallowed = ports.filter((port) => !allowed(port));
        if (ports.length === 0 || disallowed.length > 0) {
          const what = ports.length === 0 ? "every port" : disallowed.map(describePort).join(", ");
          found.push({
            message: violation(
              resource,
              `${where} ${block.cidr} reaches the public internet on ${what}`,
              `restrict ${rulePath(located)}.ports to ${config.allowedPorts.join(", ")} (public-egress.allowedPorts), or narrow the cidr to the provider's ranges`,
            ),
          });
        }
        const except = block.except ?? [];
        const mustExcept = [...RFC1918_CIDRS, ...config.vpcCidrs, INSTANCE_METADATA_CIDR].filter(
          (range) => isValidCidr(range) && sameFamily(range, block.cidr!) && cidrContains(block.cidr!, range),
        );
        const missing = [...new Set(mustExcept)].filter((range) => !isExcepted(range, except));
        if (missing.length > 0) {
          const why = missing.includes(INSTANCE_METADATA_CIDR)
            ? " (169.254.0.0/16 is the instance metadata service: node IAM credentials)"
            : "";
          found.push({
            message: violation(
              resource,
              `${where} ${block.cidr} does not except ${missing.join(", ")}${why}`,
              `add ${missing.join(", ")} to ${where}.except`,
            ),
          });
        }
      });
    }
    return found;
  },
});

/**
 * A public block must lie within a declared endpoint's ranges, in a policy selecting one of its
 * callers, on its ports; one violation saying which of the three fails.
 */
function endpointProblems(
  cidr: string,
  ports: readonly PortView[],
  where: string,
  ruleIndex: number,
  config: PublicEgressConfig,
  stackConfig: Readonly<Record<string, string>>,
  subject: { policy: Parameters<typeof namespaceOf>[0]; namespace: string; resource: string },
): Violation[] {
  const refuse = (problem: string, fix: string): Violation[] => [
    { message: violation(subject.resource, `${where} ${cidr} ${problem}`, fix) },
  ];
  const declared = config.externalEndpoints.map(
    (endpoint) => `${endpoint.name} [${endpoint.cidrs.join(", ")}]`,
  );
  const within = endpointsWithCallers(config, stackConfig).filter((endpoint) =>
    endpoint.cidrs.some((range) => isValidCidr(range) && cidrContains(range, cidr)),
  );
  if (within.length === 0) {
    return refuse(
      `is public address space outside every declared external endpoint (${declared.join("; ") || "none declared"}): an exfiltration path`,
      `narrow ${where} to the endpoint's ranges (public-egress.externalEndpoints, from flash-netpol:paymentApi.cidrs), or remove it`,
    );
  }
  const selector = subject.policy.spec?.podSelector;
  const callable = within.filter(
    (endpoint) => pinnedWorkload(selector, subject.namespace, endpoint.callers) !== undefined,
  );
  if (callable.length === 0) {
    return refuse(
      `is ${within.map((endpoint) => endpoint.name).join("/")}, which the flow table does not let the pods of ${JSON.stringify(selector ?? {})} call (callers: ${describeWorkloads(within.flatMap((endpoint) => endpoint.callers))})`,
      `remove the rule, or add the flow to the flow table (flash-netpol:flows)`,
    );
  }
  const allowed = callable.flatMap((endpoint) =>
    endpoint.ports.map((number) => ({ port: number, protocol: "TCP" })),
  );
  const outside = portsOutside(ports, allowed);
  if (ports.length > 0 && outside.length === 0) return [];
  return refuse(
    `is ${callable.map((endpoint) => endpoint.name).join("/")} but the rule allows ${describePorts(ports.length === 0 ? [] : outside)}`,
    `restrict spec.egress[${ruleIndex}].ports to ${allowed.map((entry) => `${entry.port}/TCP`).join(", ")}`,
  );
}
