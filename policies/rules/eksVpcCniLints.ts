/**
 * eks-vpc-cni-lints (advisory): shapes the Amazon VPC CNI network policy agent handles badly even
 * though the Kubernetes API accepts them. The agent compiles policies into per-CIDR eBPF map
 * entries with a bounded port list, and ipBlocks see post-DNAT pod addresses, not ClusterIPs.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { z } from "zod";
import {
  configSchemaOf,
  networkPolicyValidation,
  parseRuleConfig,
  violation,
  type Violation,
} from "./common";
import { notingPackFact } from "./packFacts";
import { isExcepted, isValidCidr, overlaps, cidrContains } from "../../components/cidrs";
import { protocolOf, rulePath, rulesOf, type Direction } from "./k8s";

export const NAME = "eks-vpc-cni-lints";
export const DESCRIPTION =
  "VPC CNI lints: one CIDR in two rules with different ports, over 24 port entries for one CIDR, egress ipBlock to the ClusterIP service range.";

export const CONFIG = z.object({
  /** The cluster's ClusterIP service range; EKS picks 10.100.0.0/16 or 172.20.0.0/16. */
  serviceCidrs: z
    .array(z.string().regex(/^[0-9a-fA-F.:]+\/[0-9]{1,3}$/))
    .default(["10.100.0.0/16", "172.20.0.0/16"]),
  maxPortsPerCidr: z.number().int().min(1).default(24),
});
export type EksVpcCniLintsConfig = z.output<typeof CONFIG>;

export const eksVpcCniLints: ResourceValidationPolicy = {
  name: NAME,
  description: DESCRIPTION,
  enforcementLevel: "advisory",
  configSchema: configSchemaOf(CONFIG),
  validateResource: notingPackFact(
    (args) => ({
      "eks-vpc-cni-lints.serviceCidrs": parseRuleConfig(CONFIG, args.getConfig(), NAME).serviceCidrs,
    }),
    networkPolicyValidation(({ policy, resource, args }) => {
      const config = parseRuleConfig(CONFIG, args.getConfig(), NAME);
      const found: Violation[] = [];
      // Per direction and CIDR: which rules name it, with which port set, and how many port entries in all.
      const byCidr = new Map<
        string,
        { direction: Direction; rules: string[]; portSets: Set<string>; entries: number }
      >();
      for (const located of rulesOf(policy)) {
        const ports = located.rule.ports ?? [];
        const portSet = ports
          .map(
            (port) =>
              `${String(port.port ?? "*")}${port.endPort === undefined ? "" : `-${port.endPort}`}/${protocolOf(port)}`,
          )
          .sort()
          .join(",");
        (located.peers ?? []).forEach((peer, index) => {
          const cidr = peer.ipBlock?.cidr;
          if (cidr === undefined || !isValidCidr(cidr)) return;
          const key = `${located.direction} ${cidr}`;
          const entry = byCidr.get(key) ?? {
            direction: located.direction,
            rules: [],
            portSets: new Set(),
            entries: 0,
          };
          entry.rules.push(rulePath(located));
          entry.portSets.add(portSet);
          entry.entries += ports.length;
          byCidr.set(key, entry);
          if (located.direction !== "egress") return;
          const except = peer.ipBlock?.except ?? [];
          for (const serviceCidr of config.serviceCidrs) {
            if (!isValidCidr(serviceCidr) || !overlaps(cidr, serviceCidr)) continue;
            if (cidrContains(cidr, serviceCidr) && isExcepted(serviceCidr, except)) continue;
            found.push({
              message: violation(
                resource,
                `${rulePath(located)}.to[${index}].ipBlock ${cidr} overlaps the ClusterIP service range ${serviceCidr}; ` +
                  "the VPC CNI agent matches ipBlocks against pod addresses after DNAT, so this allows nothing (or not what it seems)",
                "select the backing pods with podSelector/namespaceSelector instead of a ClusterIP ipBlock",
              ),
            });
          }
        });
      }
      for (const [key, entry] of byCidr) {
        const cidr = key.slice(entry.direction.length + 1);
        if (entry.portSets.size > 1) {
          found.push({
            message: violation(
              resource,
              `${entry.direction} CIDR ${cidr} appears in ${entry.rules.join(", ")} with different ports; the VPC CNI agent merges per CIDR and may apply one port list to both`,
              `put ${cidr} in a single rule with all its ports`,
            ),
          });
        }
        if (entry.entries > config.maxPortsPerCidr) {
          found.push({
            message: violation(
              resource,
              `${entry.direction} CIDR ${cidr} has ${entry.entries} port/protocol entries, over the VPC CNI agent's ${config.maxPortsPerCidr} per CIDR`,
              `use endPort ranges or split the CIDR so each has at most ${config.maxPortsPerCidr} port entries`,
            ),
          });
        }
      }
      return found;
    }, DESCRIPTION),
  ),
};
