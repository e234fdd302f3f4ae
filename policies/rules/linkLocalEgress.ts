/**
 * link-local-egress: link-local space is where EC2 hands out credentials. IMDS (169.254.169.254,
 * fd00:ec2::254) serves the node's IAM role credentials, the EKS Pod Identity agent
 * (169.254.170.23, fd00:ec2::23) every pod's IAM credentials; a pod that reaches them can act as the
 * node or as any pod on it. So no egress ipBlock may reach any of LINK_LOCAL_CIDRS, as the block
 * itself or inside a wider block that does not except the whole range, with one allowed exception:
 * exactly the configured NodeLocal DNSCache address as a /32 on port 53 (UDP and/or TCP).
 */
import { z } from "zod";
import { DNS_PORTS } from "../../core/flowTable";
import {
  LINK_LOCAL_CIDRS,
  cidrContains,
  isExcepted,
  isValidCidr,
  overlaps,
  sameFamily,
  ipv4AddressTextSchema,
} from "../../core/cidrs";
import { networkPolicyRule, violation, type Violation } from "./common";
import { weakensWhen } from "./configStrictness";
import { describePorts, egressBlocksOf, portsOutside, rulesOf } from "./k8s";

export const NAME = "link-local-egress";
export const DESCRIPTION =
  "No egress to link-local space (IMDS, the EKS Pod Identity agent, 169.254.0.0/16, fe80::/10) but the NodeLocal DNSCache /32 on port 53.";

export const CONFIG = z.object({
  /** The NodeLocal DNSCache address (flash-netpol:dns.nodeLocalAddress); the one link-local destination allowed. */
  nodeLocalAddress: weakensWhen(ipv4AddressTextSchema.optional(), "changes"),
});
export type LinkLocalEgressConfig = z.output<typeof CONFIG>;

const WHY =
  "link-local space serves the node's IAM credentials (IMDS 169.254.169.254, fd00:ec2::254) and every pod's (EKS Pod Identity agent 169.254.170.23, fd00:ec2::23)";

export const linkLocalEgress = networkPolicyRule({
  name: NAME,
  description: DESCRIPTION,
  config: CONFIG,
  facts: (config) => ({ "link-local-egress.nodeLocalAddress": config.nodeLocalAddress ?? null }),
  check: ({ policy, resource, config }) => {
    const nodeLocal = config.nodeLocalAddress === undefined ? undefined : `${config.nodeLocalAddress}/32`;
    const found: Violation[] = [];
    for (const located of rulesOf(policy)) {
      if (located.direction !== "egress") continue;
      const ports = located.rule.ports ?? [];
      for (const { cidr, except, where } of egressBlocksOf(located)) {
        if (!isValidCidr(cidr)) continue;
        const reached = LINK_LOCAL_CIDRS.filter((range) => sameFamily(range, cidr) && overlaps(range, cidr));
        const inside = reached.some((range) => cidrContains(range, cidr));
        if (inside) {
          const isNodeLocalDns =
            nodeLocal !== undefined &&
            cidr === nodeLocal &&
            ports.length > 0 &&
            portsOutside(ports, DNS_PORTS).length === 0;
          if (isNodeLocalDns) continue;
          found.push({
            message: violation(
              resource,
              `${where} ${cidr} on ${describePorts(ports)} is link-local: ${WHY}`,
              nodeLocal === undefined
                ? `remove ${where}; no link-local destination is allowed (link-local-egress.nodeLocalAddress is not set)`
                : `remove ${where}; the only link-local destination allowed is the NodeLocal DNSCache ${nodeLocal} on port 53 UDP/TCP`,
            ),
          });
          continue;
        }
        const missing = reached.filter((range) => !isExcepted(range, except));
        if (missing.length === 0) continue;
        found.push({
          message: violation(
            resource,
            `${where} ${cidr} includes link-local ${missing.join(", ")} without excepting it: ${WHY}`,
            `add ${missing.join(", ")} to ${where}.except, or narrow the cidr`,
          ),
        });
      }
    }
    return found;
  },
});
