/**
 * Where the EKS VPC CNI agent and upstream Kubernetes semantics disagree over one policy set, probe
 * by probe, each with the agent behaviour that causes it (docs/fidelity/eks-agent.md cites each).
 */
import type { NetworkPolicyManifest } from "../../core/networkPolicies";
import { PolicyAnalyzer, type NetworkPolicy } from "../index";
import {
  EksEnforcer,
  describeClusterSlot,
  sideAllows,
  type EksClusterState,
  type EnforcingMode,
  type SideDecision,
} from "../eks";
import type { ConnectivityReport } from "./connectivity";
import { eksClusterWith, eksProbe } from "./enforcers";
import { clusterWith, type FlashModel, type FlashProbe } from "./model";

export interface EnforcerDifference {
  readonly probe: FlashProbe;
  readonly upstream: boolean;
  readonly eksVpcCni: boolean;
  /** The agent or controller behaviour behind the difference, in one sentence. */
  readonly reason: string;
}

function sideReason(
  decision: SideDecision,
  direction: "egress" | "ingress",
  probe: FlashProbe,
): string | undefined {
  if (decision.kind === "default-deny") {
    return `strict mode: no policy selects the ${direction === "egress" ? "source" : "destination"} pod, so the agent denies it everything`;
  }
  if (decision.kind === "cluster-tier") {
    return `${describeClusterSlot(decision.slot)} decides it in the ${decision.tier} tier, which upstream NetworkPolicy semantics do not have`;
  }
  if (decision.kind !== "lookup") return undefined;
  const { entry } = decision;
  const where = `${direction} map of ${direction === "egress" ? probe.from.name : probe.to.name}`;
  if (decision.allowed) {
    if (entry?.kind === "node-ip") {
      return `node IP allowance: the agent always allows the pod's own node ${entry.cidr} (${where})`;
    }
    if (entry !== undefined && entry.inheritedFrom.length > 0) {
      return `port inheritance: key ${entry.cidr} in the ${where} inherits the ports of ${entry.inheritedFrom.join(", ")}`;
    }
    return `the ${where} admits ${decision.address}:${decision.port} by key ${entry?.cidr ?? "?"} (rules merged across policies)`;
  }
  if (entry === undefined) {
    if (probe.viaService !== undefined && direction === "egress") {
      return (
        `Service ClusterIP not resolved: the controller added no entry for ${probe.viaService.service} ` +
        `(${probe.viaService.clusterIP}:${probe.viaService.port}) to the ${where} ` +
        `(headless, a selector the policy's podSelector does not match, or no port whose targetPort is the policy's port)`
      );
    }
    return `no key of the ${where} contains ${decision.address}`;
  }
  if (entry.kind === "except-deny") {
    const by = [...new Set(entry.rules.map((rule) => rule.policy))].join(", ");
    return (
      `except range ${entry.cidr} (excepted by ${by}) is a deny-all key in the ${where}; another policy's rule ` +
      `allows ${decision.address} but does not list ${entry.cidr} as a CIDR, and the longer prefix wins`
    );
  }
  if (entry.dropped.length > 0) {
    return `24-entry cap: key ${entry.cidr} in the ${where} had ${entry.l4.length + entry.dropped.length} port entries; ${entry.dropped.length} dropped`;
  }
  if (probe.viaService !== undefined && direction === "egress") {
    return `Service port not mapped: key ${entry.cidr} (${probe.viaService.service}) in the ${where} lacks port ${decision.port}`;
  }
  return (
    `port not inherited: key ${entry.cidr} in the ${where} lacks ${decision.port}/${probe.protocol}; it does not inherit the ` +
    `ports of a containing CIDR that excepts it (aws-network-policy-agent issue #180)`
  );
}

/** Every probe whose verdicts differ, with the reason; `upstream` and `eks` judge the same policies. */
export function enforcerDifferences(
  model: FlashModel,
  policies: readonly (NetworkPolicy | NetworkPolicyManifest)[],
  upstream: ConnectivityReport,
  eks: ConnectivityReport,
  mode: EnforcingMode = "standard",
  clusterState: EksClusterState = {},
): EnforcerDifference[] {
  const enforcer = new EksEnforcer(eksClusterWith(model, policies), { mode, ...clusterState });
  const analyzer = new PolicyAnalyzer(clusterWith(model, policies));
  const differences: EnforcerDifference[] = [];
  upstream.verdicts.forEach((verdict, index) => {
    const other = eks.verdicts[index];
    const same = (a: FlashProbe, b: FlashProbe) =>
      a.from.name === b.from.name &&
      a.to.name === b.to.name &&
      a.port === b.port &&
      a.protocol === b.protocol;
    if (other === undefined || !same(other.probe, verdict.probe)) {
      throw new Error("the two reports judge different probes");
    }
    if (other.allowed === verdict.allowed) return;
    const decided = enforcer.decide(eksProbe(verdict.probe));
    const explained = analyzer.explain({
      from: verdict.probe.from.endpoint,
      to: verdict.probe.to.endpoint,
      port: verdict.probe.port,
      protocol: verdict.probe.protocol,
    });
    const sides: ["egress" | "ingress", SideDecision, boolean][] = [
      ["egress", decided.egress, explained.egress.kind !== "denied"],
      ["ingress", decided.ingress, explained.ingress.kind !== "denied"],
    ];
    // The sides that made the difference: EKS and upstream disagree on that side.
    const reasons = sides
      .filter(([, side, upstreamAllows]) => {
        const eksAllows = sideAllows(side);
        return eksAllows !== upstreamAllows;
      })
      .map(([direction, side]) => sideReason(side, direction, verdict.probe))
      .filter((reason): reason is string => reason !== undefined);
    differences.push({
      probe: verdict.probe,
      upstream: verdict.allowed,
      eksVpcCni: other.allowed,
      reason: reasons.length > 0 ? reasons.join("; ") : "the agent's maps decide differently",
    });
  });
  return differences;
}
