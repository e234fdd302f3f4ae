/**
 * ports-explicit: a rule without ports allows every port, and a port without protocol silently
 * means TCP (so a UDP service is cut off without anyone noticing). Both must be written out. A
 * named port (`port: metrics`) resolves, pod by pod, to whichever container port carries that name
 * in the peer's (egress) or the policy's own (ingress) pods: a Deployment edit can move it to any
 * number, and neither the pack nor `check` sees container ports. The program writes numbers only.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { networkPolicyValidation, violation, type Violation } from "./common";
import { rulePath, rulesOf } from "./k8s";
import { protocolOf } from "../../core/kubernetes";

export const NAME = "ports-explicit";
export const DESCRIPTION =
  "Every NetworkPolicy rule lists its ports, and every port its number and protocol (no named ports).";

export const portsExplicit: ResourceValidationPolicy = {
  name: NAME,
  description: DESCRIPTION,
  validateResource: networkPolicyValidation(({ policy, resource }) => {
    const found: Violation[] = [];
    for (const located of rulesOf(policy)) {
      const ports = located.rule.ports ?? [];
      if (ports.length === 0) {
        found.push({
          message: violation(
            resource,
            `${rulePath(located)} has no ports, so it allows every port`,
            `list the ports the flow needs in ${rulePath(located)}.ports, each with its protocol`,
          ),
        });
        continue;
      }
      ports.forEach((port, index) => {
        if (port.protocol === undefined) {
          found.push({
            message: violation(
              resource,
              `${rulePath(located)}.ports[${index}] (port ${String(port.port ?? "any")}) has no protocol`,
              `set protocol: TCP, UDP or SCTP on ${rulePath(located)}.ports[${index}]`,
            ),
          });
        }
        if (typeof port.port === "string") {
          found.push({
            message: violation(
              resource,
              `${rulePath(located)}.ports[${index}] is the named port "${port.port}", which opens whatever container port carries that name, now or after a Deployment edit`,
              `write the port number the flow needs in ${rulePath(located)}.ports[${index}].port`,
            ),
          });
        }
        if (port.port === undefined) {
          found.push({
            message: violation(
              resource,
              `${rulePath(located)}.ports[${index}] names a protocol but no port, so it allows every ${protocolOf(port)} port`,
              `set port on ${rulePath(located)}.ports[${index}]`,
            ),
          });
        }
      });
    }
    return found;
  }, DESCRIPTION),
};
