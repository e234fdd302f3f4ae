/**
 * eks-vpc-cni-lints (advisory): shapes the Amazon VPC CNI network policy agent enforces differently
 * from upstream Kubernetes although the API accepts them (aws-network-policy-agent
 * pkg/fwruleprocessor/fw_rule_processor.go; docs/fidelity/eks-agent.md). The agent merges every policy
 * selecting a pod into one longest-prefix map per direction:
 *  - one CIDR in several rules with different ports is merged into the union of the ports, which is
 *    what upstream means too: not a hazard on current agents, so not reported;
 *  - an `except` range that no rule lists as a CIDR becomes a deny-all key, and the longer prefix
 *    beats every other rule covering it: another rule (of this or any policy selecting the same
 *    pods) that lists a containing CIDR without the except loses those addresses;
 *  - a key holds at most 24 port entries, counted per pod across all its policies;
 *  - egress is matched before kube-proxy's DNAT, so an ipBlock over the ClusterIP range admits
 *    every Service in it on EKS, while upstream implementations match after DNAT.
 * A resource rule sees one policy: the cross-policy cases are reported by the stack rule
 * eks-vpc-cni-pod-maps and proven by the plan's EKS enforcer model (`npm run plan`, enforcerDifferences).
 */
import { z } from "zod";
import { networkPolicyRule, violation, type Violation } from "./common";
import { weakensWhen } from "./configStrictness";
import {
  cidrContains,
  isExcepted,
  isValidCidr,
  overlaps,
  strictlyContains,
  cidrTextSchema,
} from "../../core/cidrs";
import type { Direction } from "../../core/kubernetes";
import { rulePath, rulesOf } from "./k8s";

export const NAME = "eks-vpc-cni-lints";
export const DESCRIPTION =
  "VPC CNI lints: an except range another rule covers without excepting it (a deny-all key on EKS), over 24 port entries for one CIDR, egress ipBlock to the ClusterIP service range.";

export const CONFIG = z.object({
  /** The cluster's ClusterIP service range; EKS picks 10.100.0.0/16 or 172.20.0.0/16. */
  serviceCidrs: weakensWhen(z.array(cidrTextSchema).default(["10.100.0.0/16", "172.20.0.0/16"]), "changes"),
  maxPortsPerCidr: weakensWhen(z.number().int().min(1).default(24), "grows"),
});
export type EksVpcCniLintsConfig = z.output<typeof CONFIG>;

export const eksVpcCniLints = networkPolicyRule({
  name: NAME,
  description: DESCRIPTION,
  enforcementLevel: "advisory",
  config: CONFIG,
  facts: (config) => ({ "eks-vpc-cni-lints.serviceCidrs": config.serviceCidrs }),
  check: ({ policy, resource, config }) => {
    const found: Violation[] = [];
    // Per direction and CIDR: which rules name it and how many port entries they give it.
    const byCidr = new Map<string, { direction: Direction; rules: string[]; entries: number }>();
    // Every ipBlock (a rule without peers is 0.0.0.0/0 to the controller), for the except hazard.
    const blocks: { direction: Direction; cidr: string; except: string[]; where: string }[] = [];
    for (const located of rulesOf(policy)) {
      const ports = located.rule.ports ?? [];
      if (!located.hasPeersKey || (located.peers ?? []).length === 0) {
        blocks.push({
          direction: located.direction,
          cidr: "0.0.0.0/0",
          except: [],
          where: rulePath(located),
        });
      }
      (located.peers ?? []).forEach((peer, index) => {
        const cidr = peer.ipBlock?.cidr;
        if (cidr === undefined || !isValidCidr(cidr)) return;
        const peerKey = located.direction === "ingress" ? "from" : "to";
        const except = (peer.ipBlock?.except ?? []).filter(isValidCidr);
        blocks.push({
          direction: located.direction,
          cidr,
          except,
          where: `${rulePath(located)}.${peerKey}[${index}].ipBlock`,
        });
        const key = `${located.direction} ${cidr}`;
        const entry = byCidr.get(key) ?? { direction: located.direction, rules: [], entries: 0 };
        entry.rules.push(rulePath(located));
        entry.entries += ports.length;
        byCidr.set(key, entry);
        if (located.direction !== "egress") return;
        for (const serviceCidr of config.serviceCidrs) {
          if (!isValidCidr(serviceCidr) || !overlaps(cidr, serviceCidr)) continue;
          if (cidrContains(cidr, serviceCidr) && isExcepted(serviceCidr, except)) continue;
          found.push({
            message: violation(
              resource,
              `${rulePath(located)}.to[${index}].ipBlock ${cidr} overlaps the ClusterIP service range ${serviceCidr}; ` +
                "the VPC CNI agent matches egress before kube-proxy's DNAT, so on EKS this admits every Service in that range whatever pods back it, " +
                "while upstream implementations match after DNAT and it admits none of them",
              "select the backing pods with podSelector/namespaceSelector (the EKS controller then adds their Services' ClusterIPs itself)",
            ),
          });
        }
      });
    }
    for (const block of blocks) {
      for (const excepted of block.except) {
        const listed = blocks.some((other) => other.direction === block.direction && other.cidr === excepted);
        if (listed) continue;
        for (const other of blocks) {
          if (other === block || other.direction !== block.direction) continue;
          if (!strictlyContains(other.cidr, excepted) || isExcepted(excepted, other.except)) continue;
          found.push({
            message: violation(
              resource,
              `${block.where} excepts ${excepted}, which ${other.where} (${other.cidr}) covers without excepting it; ` +
                `the VPC CNI agent merges both into one map where ${excepted} becomes a deny-all key, so the addresses ` +
                `${other.where} allows there are dropped on EKS although upstream Kubernetes allows them`,
              `also list ${excepted} as a plain ipBlock in the rule that should reach it (a listed CIDR is never a deny-all key)`,
            ),
          });
        }
      }
    }
    for (const [key, entry] of byCidr) {
      const cidr = key.slice(entry.direction.length + 1);
      if (entry.entries > config.maxPortsPerCidr) {
        found.push({
          message: violation(
            resource,
            `${entry.direction} CIDR ${cidr} has ${entry.entries} port/protocol entries in ${entry.rules.join(", ")}, over the VPC CNI agent's ` +
              `${config.maxPortsPerCidr} per CIDR key; the limit counts every policy selecting the pod together, and the agent drops the rest`,
            `use endPort ranges or split the CIDR so each pod's map has at most ${config.maxPortsPerCidr} port entries per CIDR`,
          ),
        });
      }
    }
    return found;
  },
});
