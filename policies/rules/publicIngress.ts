/**
 * public-ingress: an ingress ipBlock admits whatever holds those addresses: outside the VPC the
 * internet, inside it every node, pod (custom networking) and load balancer. The only addresses a
 * pod of the flow table is reached from by address are the ALB's (its subnets, or
 * flash-netpol:alb.cidrs): so every ingress ipBlock must lie within `albCidrs`, in a policy
 * selecting one of the ALB's targets (the services the flow table lets `alb` reach), on that
 * target's port only. Gateway ingress from 0.0.0.0/0 on 3000, the ALB subnets on 22, ingress from
 * the pod CIDR or the VPC: each refused. The targets are pack config (`albTargets`), and flows-match-flow-table compares them
 * with the flow table the component recorded, so they cannot drift from the table.
 *
 * An ingress rule with no peers at all admits the internet too; no-allow-all-peers refuses that.
 */
import { z } from "zod";
import { portNumberSchema, protocolOf } from "../../core/kubernetes";
import { cidrContains, isValidCidr, cidrTextSchema } from "../../core/cidrs";
import { networkPolicyRule, violation, type Violation } from "./common";
import { weakensWhen } from "./configStrictness";
import { describePorts, namespaceOf, rulePath, rulesOf, type PortView } from "./k8s";
import { pinnedWorkload } from "./workloads";

export const NAME = "public-ingress";
export const DESCRIPTION =
  "Ingress from an ipBlock only from the ALB's CIDRs, only to a service the flow table lets the ALB reach, on that service's port.";

const albTarget = z.strictObject({
  namespace: z.string().min(1),
  podLabels: z.record(z.string(), z.string()),
  port: portNumberSchema,
});

export const CONFIG = z.object({
  /** The VPC's CIDRs (primary and secondary): an ingress ipBlock inside one of them is not public. */
  vpcCidrs: weakensWhen(z.array(cidrTextSchema).default([]), "changes"),
  /** The services the flow table lets `alb` reach; none by default, so nothing is public unless stated. */
  albTargets: weakensWhen(z.array(albTarget).default([]), "grows"),
  /** The ALB's addresses: its discovered subnets, or flash-netpol:alb.cidrs; none by default. */
  albCidrs: weakensWhen(z.array(cidrTextSchema).default([]), "changes"),
});
export type PublicIngressConfig = z.output<typeof CONFIG>;
export type AlbTarget = z.output<typeof albTarget>;

/** True when some address of `cidr` lies outside every VPC CIDR (except entries are not credited). */
export function reachesOutside(cidr: string, vpcCidrs: readonly string[]): boolean {
  return !vpcCidrs.some((vpc) => isValidCidr(vpc) && cidrContains(vpc, cidr));
}

function onlyPort(ports: readonly PortView[], port: number): boolean {
  return (
    ports.length > 0 &&
    ports.every((entry) => entry.port === port && entry.endPort === undefined && protocolOf(entry) === "TCP")
  );
}

export const publicIngress = networkPolicyRule({
  name: NAME,
  description: DESCRIPTION,
  config: CONFIG,
  facts: (config) => ({
    "public-ingress.vpcCidrs": config.vpcCidrs,
    "public-ingress.albTargets": config.albTargets,
    "public-ingress.albCidrs": config.albCidrs,
  }),
  check: ({ policy, resource, provider, config }) => {
    const namespace = namespaceOf(policy, provider);
    const target = pinnedWorkload(policy.spec?.podSelector, namespace, config.albTargets);
    const found: Violation[] = [];
    for (const located of rulesOf(policy)) {
      if (located.direction !== "ingress") continue;
      const ports = located.rule.ports ?? [];
      (located.peers ?? []).forEach((peer, index) => {
        const cidr = peer.ipBlock?.cidr;
        // Not a CIDR at all: the API server's validation says so; here it cannot be judged.
        if (cidr === undefined || !isValidCidr(cidr)) return;
        const fromAlb = config.albCidrs.some((alb) => isValidCidr(alb) && cidrContains(alb, cidr));
        if (fromAlb && target !== undefined && onlyPort(ports, target.port)) return;
        const where = `${rulePath(located)}.from[${index}].ipBlock`;
        const outside = reachesOutside(cidr, config.vpcCidrs);
        const source = outside
          ? `outside the VPC CIDRs [${config.vpcCidrs.join(", ")}]`
          : fromAlb
            ? `the ALB's addresses`
            : `not the ALB's addresses [${config.albCidrs.join(", ")}] (inside the VPC: nodes, pods, load balancers)`;
        const problem = `${rulePath(located)} (ingress rule ${located.index}) admits ${cidr} (${where}), ${source}, on ${describePorts(ports)}`;
        const fix = !fromAlb
          ? `narrow ${where}.cidr to the ALB's subnets [${config.albCidrs.join(", ")}] (public-ingress.albCidrs), or remove the rule: only a service the flow table lets alb reach ` +
            `(public-ingress.albTargets) may be reached by address`
          : target === undefined
            ? `remove the rule: the policy selects no service the flow table lets alb reach (public-ingress.albTargets)`
            : `restrict ${rulePath(located)}.ports to ${target.port}/TCP, the port the ALB reaches ${JSON.stringify(target.podLabels)} on`;
        found.push({ message: violation(resource, problem, fix) });
      });
    }
    return found;
  },
});
