/**
 * public-ingress: an ingress ipBlock reaching outside the VPC lets the internet (or another
 * network) in. Only the ALB's targets may be reached that way, the services the flow table lets
 * `alb` reach, each on its own port; anything else (0.0.0.0/0 on port 22 to the API, say) is a
 * violation. The targets are pack config (`albTargets`), and flows-match-flow-table compares them
 * with the flow table the component recorded, so they cannot drift from the table.
 *
 * An ingress rule with no peers at all admits the internet too; no-allow-all-peers refuses that.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { z } from "zod";
import { weakensWhen } from "./configStrictness";
import { compileLabelSelector } from "../../analyzer/labelSelector";
import { cidrContains, isValidCidr } from "../../components/cidrs";
import {
  configSchemaOf,
  networkPolicyValidation,
  parseRuleConfig,
  violation,
  type Violation,
} from "./common";
import { namespaceOf, rulePath, rulesOf, type NetworkPolicyView, type PortView } from "./k8s";
import { notingPackFact } from "./packFacts";

export const NAME = "public-ingress";
export const DESCRIPTION =
  "Ingress from an ipBlock outside the VPC CIDRs only to a service the flow table lets the ALB reach, on that service's port.";

const cidrText = z.string().regex(/^[0-9a-fA-F.:]+\/[0-9]{1,3}$/);
const albTarget = z.strictObject({
  namespace: z.string().min(1),
  podLabels: z.record(z.string(), z.string()),
  port: z.number().int().min(1).max(65535),
});

export const CONFIG = z.object({
  /** The VPC's CIDRs (primary and secondary): an ingress ipBlock inside one of them is not public. */
  vpcCidrs: weakensWhen(z.array(cidrText), "changes").default([]),
  /** The services the flow table lets `alb` reach; none by default, so nothing is public unless stated. */
  albTargets: weakensWhen(z.array(albTarget), "grows").default([]),
});
export type AlbTarget = z.output<typeof albTarget>;

/** True when some address of `cidr` lies outside every VPC CIDR (except entries are not credited). */
export function reachesOutside(cidr: string, vpcCidrs: readonly string[]): boolean {
  return !vpcCidrs.some((vpc) => isValidCidr(vpc) && cidrContains(vpc, cidr));
}

/** The target whose pods, and only those, the policy selects: every target label pinned in matchLabels. */
function targetSelectedBy(
  policy: NetworkPolicyView,
  namespace: string,
  targets: readonly AlbTarget[],
): AlbTarget | undefined {
  const selector = policy.spec?.podSelector ?? {};
  const matchLabels = selector.matchLabels ?? {};
  return targets.find(
    (target) =>
      target.namespace === namespace &&
      Object.entries(target.podLabels).every(([key, value]) => matchLabels[key] === value) &&
      compileLabelSelector({
        matchLabels,
        matchExpressions: (selector.matchExpressions ?? []).map((requirement) => ({
          key: requirement.key ?? "",
          operator: (requirement.operator ?? "In") as "In" | "NotIn" | "Exists" | "DoesNotExist",
          values: requirement.values,
        })),
      })(target.podLabels),
  );
}

function onlyPort(ports: readonly PortView[], port: number): boolean {
  return (
    ports.length > 0 &&
    ports.every(
      (entry) => entry.port === port && entry.endPort === undefined && (entry.protocol ?? "TCP") === "TCP",
    )
  );
}

function describePorts(ports: readonly PortView[]): string {
  if (ports.length === 0) return "every port";
  return ports
    .map(
      (entry) =>
        `${String(entry.port ?? "every port")}${entry.endPort !== undefined ? `-${entry.endPort}` : ""}/${entry.protocol ?? "TCP"}`,
    )
    .join(", ");
}

export const publicIngress: ResourceValidationPolicy = {
  name: NAME,
  description: DESCRIPTION,
  configSchema: configSchemaOf(CONFIG),
  validateResource: notingPackFact(
    (args) => {
      const config = parseRuleConfig(CONFIG, args.getConfig(), NAME);
      return { "public-ingress.vpcCidrs": config.vpcCidrs, "public-ingress.albTargets": config.albTargets };
    },
    networkPolicyValidation(({ policy, resource, provider, args }) => {
      const config = parseRuleConfig(CONFIG, args.getConfig(), NAME);
      const namespace = namespaceOf(policy, provider);
      const target = targetSelectedBy(policy, namespace, config.albTargets);
      const found: Violation[] = [];
      for (const located of rulesOf(policy)) {
        if (located.direction !== "ingress") continue;
        const ports = located.rule.ports ?? [];
        (located.peers ?? []).forEach((peer, index) => {
          const cidr = peer.ipBlock?.cidr;
          // Not a CIDR at all: public-egress and the API server's validation say so; here it cannot be judged.
          if (cidr === undefined || !isValidCidr(cidr) || !reachesOutside(cidr, config.vpcCidrs)) return;
          if (target !== undefined && onlyPort(ports, target.port)) return;
          const where = `${rulePath(located)}.from[${index}].ipBlock`;
          const problem =
            `${rulePath(located)} (ingress rule ${located.index}) admits ${cidr} (${where}), outside the VPC CIDRs ` +
            `[${config.vpcCidrs.join(", ")}], on ${describePorts(ports)}`;
          const fix =
            target === undefined
              ? `narrow ${where}.cidr to the VPC (the ALB's subnets), or remove the rule: only a service the flow table lets alb reach ` +
                `(public-ingress.albTargets) may be reached from outside the VPC`
              : `restrict ${rulePath(located)}.ports to ${target.port}/TCP, the port the ALB reaches ${JSON.stringify(target.podLabels)} on`;
          found.push({ message: violation(resource, problem, fix) });
        });
      }
      return found;
    }, DESCRIPTION),
  ),
};
