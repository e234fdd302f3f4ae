/**
 * In strict mode the EKS agent denies everything to and from a pod no policy selects
 * (aws-network-policy-agent pkg/rpc/rpc_handler.go, controllers/policyendpoints_controller.go).
 * Which intended flows of the flash model would that cut at a stack's stage?
 */
import type { StackConfig } from "../../core/config";
import { generatePolicies, type ResolvedCidrs } from "../../core/networkPolicies";
import { describeProbe, evaluateConnectivity } from "./connectivity";
import { flashModelFor } from "./proofs";

/** One line per intended probe strict mode blocks and standard mode allows; empty when strict is safe. */
export function strictModeCuts(config: StackConfig, cidrs: ResolvedCidrs): string[] {
  const model = flashModelFor(config, cidrs);
  const manifests = generatePolicies(config, cidrs).map((policy) => policy.manifest);
  const standard = evaluateConnectivity(model, manifests, { enforcer: "eks-vpc-cni", mode: "standard" });
  const strict = evaluateConnectivity(model, manifests, { enforcer: "eks-vpc-cni", mode: "strict" });
  const openInStandard = new Set(standard.verdicts.filter((v) => v.allowed).map((v) => v.probe));
  return strict.outages
    .filter((outage) => openInStandard.has(outage.probe))
    .map(
      (outage) =>
        `${describeProbe(outage.probe)} (flow ${outage.probe.intendedBy.map((flow) => flow.name).join(" / ")})`,
    );
}
