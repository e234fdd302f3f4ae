/**
 * public-egress: an ipBlock wider than the VPC reaches the internet, so it may only carry the
 * allowed ports (HTTPS by default) and must except everything private: RFC1918, the VPC CIDRs and
 * 169.254.0.0/16, where the instance metadata service hands out the node's IAM credentials.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { z } from "zod";
import { weakensWhen } from "./configStrictness";
import {
  configSchemaOf,
  networkPolicyValidation,
  parseRuleConfig,
  violation,
  type Violation,
} from "./common";
import {
  INSTANCE_METADATA_CIDR,
  RFC1918_CIDRS,
  cidrContains,
  isExcepted,
  isValidCidr,
  prefixLength,
  sameFamily,
  strictlyContains,
} from "../../components/cidrs";
import { rulePath, rulesOf, type PortView } from "./k8s";
import { notingPackFact } from "./packFacts";

export const NAME = "public-egress";
export const DESCRIPTION =
  "Egress to an ipBlock wider than the VPC only on the allowed ports, always excepting RFC1918, the VPC CIDRs and 169.254.0.0/16.";

export const CONFIG = z.object({
  vpcCidrs: weakensWhen(z.array(z.string().regex(/^[0-9a-fA-F.:]+\/[0-9]{1,3}$/)), "changes").default([]),
  allowedPorts: weakensWhen(z.array(z.number().int().min(1).max(65535)).min(1), "grows").default([443]),
});

/** Blocks this short are "the internet" whatever else they contain (0.0.0.0/0, 0.0.0.0/1, ::/0 ...). */
const SLASH_ZERO_ISH_MAX_PREFIX = 1;

/** Public-wide: /0-ish, or strictly wider than a VPC CIDR, an RFC1918 range or the metadata range. */
export function isPublicWide(cidr: string, vpcCidrs: readonly string[]): boolean {
  if (prefixLength(cidr) <= SLASH_ZERO_ISH_MAX_PREFIX) return true;
  return [...vpcCidrs, ...RFC1918_CIDRS, INSTANCE_METADATA_CIDR].some(
    (range) => isValidCidr(range) && strictlyContains(cidr, range),
  );
}

function describePort(port: PortView): string {
  const range =
    port.endPort !== undefined ? `${String(port.port)}-${port.endPort}` : String(port.port ?? "every port");
  return `${range}/${port.protocol ?? "TCP"}`;
}

export const publicEgress: ResourceValidationPolicy = {
  name: NAME,
  description: DESCRIPTION,
  configSchema: configSchemaOf(CONFIG),
  validateResource: notingPackFact(
    (args) => ({
      "public-egress.vpcCidrs": parseRuleConfig(CONFIG, args.getConfig(), NAME).vpcCidrs,
    }),
    networkPolicyValidation(({ policy, resource, args }) => {
      const config = parseRuleConfig(CONFIG, args.getConfig(), NAME);
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
          if (!isPublicWide(block.cidr, config.vpcCidrs)) return;
          const ports = located.rule.ports ?? [];
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
            (range) =>
              isValidCidr(range) && sameFamily(range, block.cidr!) && cidrContains(block.cidr!, range),
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
    }, DESCRIPTION),
  ),
};
