/**
 * Over-wide rules that the other side happens to block today. A connection is only open when the
 * source's egress and the destination's ingress both admit it, so `evaluateConnectivity` reports as
 * exposures only connections both sides admit. But zero trust is per pod and direction: an ingress
 * rule of flash-api that admits flash-gateway on port 22, or an egress rule of flash-api towards the
 * gateway, opens the connection the moment the other side's policy is off (a rollout stage, a
 * break-glass, a later edit). Each isolating side must therefore admit nothing beyond the table on
 * its own; these are the rules that do.
 */
import { PolicyAnalyzer, type Direction, type NetworkPolicy, type RuleReference } from "../index";
import type { NetworkPolicyManifest } from "../../core/networkPolicies";
import { analyzerProbe } from "./connectivity";
import { clusterWith, type FlashModel, type FlashProbe } from "./model";

export interface OneSidedExposure {
  readonly probe: FlashProbe;
  /** The side whose isolating policies admit the probe although no flow declares it. */
  readonly direction: Direction;
  readonly admittedBy: readonly RuleReference[];
}

/**
 * Every probe no flow declares that one isolated side admits while the other side blocks it (a
 * probe both sides admit is already an exposure of `evaluateConnectivity`).
 */
export function oneSidedExposures(
  model: FlashModel,
  policies: readonly (NetworkPolicy | NetworkPolicyManifest)[],
): OneSidedExposure[] {
  const analyzer = new PolicyAnalyzer(clusterWith(model, policies));
  const isIsolated = (probe: FlashProbe, direction: Direction): boolean => {
    const endpoint = direction === "egress" ? probe.from.endpoint : probe.to.endpoint;
    return endpoint.kind === "pod" && analyzer.isolatingPolicies(endpoint.pod, direction).length > 0;
  };
  const found: OneSidedExposure[] = [];
  for (const probe of model.probes) {
    if (probe.intendedBy.length > 0) continue;
    const connection = analyzerProbe(probe);
    // Wanted: one side denies (so the connection is blocked) while the other is isolated and one of
    // its rules admits it. Each side's verdict is cheap; the explanation is built only for those.
    const egressOpen = analyzer.directionAllows(connection, "egress");
    const ingressOpen = analyzer.directionAllows(connection, "ingress");
    if (egressOpen === ingressOpen) continue;
    if (!isIsolated(probe, egressOpen ? "egress" : "ingress")) continue;
    const explanation = analyzer.explain(connection);
    for (const [direction, verdict] of [
      ["egress", explanation.egress],
      ["ingress", explanation.ingress],
    ] as const) {
      if (verdict.kind === "allowed" && verdict.allowedBy.length > 0)
        found.push({ probe, direction, admittedBy: verdict.allowedBy });
    }
  }
  return found;
}
