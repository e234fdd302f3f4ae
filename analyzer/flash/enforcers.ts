/**
 * The two enforcers a policy set is judged under over the flash model: upstream Kubernetes semantics
 * (our analyzer) and the EKS VPC CNI agent (analyzer/eks). Both answer through one interface, so the
 * proofs, the matrix and the plan run unchanged under either.
 */
import type { NetworkPolicyManifest } from "../../core/networkPolicies";
import {
  PolicyAnalyzer,
  type Direction,
  type DirectionVerdict,
  type NetworkPolicy,
  type ProbeExplanation,
} from "../index";
import type { Endpoint } from "../../core/kubernetes";
import {
  EksEnforcer,
  describeClusterSlot,
  sideAllows,
  type EksCluster,
  type EksClusterState,
  type EksProbe,
  type EnforcingMode,
  type SideDecision,
} from "../eks";
import { clusterWith, type FlashModel, type FlashProbe } from "./model";

export const ENFORCERS = ["upstream", "eks-vpc-cni"] as const;
export type EnforcerName = (typeof ENFORCERS)[number];

export interface EnforcerOptions {
  readonly enforcer?: EnforcerName;
  /** The EKS agent's mode; ignored upstream. */
  readonly mode?: EnforcingMode;
  /** Cluster policies, ApplicationNetworkPolicies and the agent version; ignored upstream. */
  readonly eks?: EksClusterState;
}

type AnyPolicy = NetworkPolicy | NetworkPolicyManifest;

/**
 * One side of a probe, as `explain` would describe it: `denied`, `admitted` (an isolating policy's
 * rule admits it: explain's "allowed" with a non-empty allowedBy), or `open` (allowed otherwise: not
 * a pod, not isolated, the agent's node or catch-all allowance).
 */
export type SideOutcome = "denied" | "open" | "admitted";

/** One policy set under one enforcer. */
export interface Judge {
  /** Policies (as their keys) that decide the endpoint's side; equal keys mean equal verdicts. */
  decidingPolicies(endpoint: Endpoint, direction: Direction): readonly string[];
  isAllowed(probe: FlashProbe): boolean;
  explain(probe: FlashProbe): ProbeExplanation;
  /**
   * One side alone: the source's egress or the destination's ingress. A probe is allowed exactly
   * when neither side is denied, and a side depends only on that side's deciding policies, so the
   * rollout proof judges each side under the few flags that decide it (rolloutFamilies.ts).
   */
  side(probe: FlashProbe, direction: Direction): SideOutcome;
}

export function eksProbe(probe: FlashProbe): EksProbe {
  return {
    from: probe.from.endpoint,
    to: probe.to.endpoint,
    port: probe.port,
    protocol: probe.protocol,
    ...(probe.viaService === undefined ? {} : { viaService: probe.viaService }),
  };
}

export function eksClusterWith(model: FlashModel, policies: readonly AnyPolicy[]): EksCluster {
  return {
    ...clusterWith(model, policies),
    services: model.topology.clusterServices ?? [],
    nodeIps: Object.fromEntries(model.pods.map((pod) => [`${pod.namespace}/${pod.name}`, model.nodeIp])),
  };
}

function upstreamJudge(model: FlashModel, policies: readonly AnyPolicy[]): Judge {
  const analyzer = new PolicyAnalyzer(clusterWith(model, policies));
  const toProbe = (probe: FlashProbe) => ({
    from: probe.from.endpoint,
    to: probe.to.endpoint,
    port: probe.port,
    protocol: probe.protocol,
  });
  return {
    decidingPolicies: (endpoint, direction) =>
      endpoint.kind === "pod"
        ? analyzer.isolatingPolicies(endpoint.pod, direction).map((policy) => policy.key)
        : [],
    isAllowed: (probe) => analyzer.isAllowed(toProbe(probe)),
    explain: (probe) => analyzer.explain(toProbe(probe)),
    side: (probe, direction) => {
      if (!analyzer.directionAllows(toProbe(probe), direction)) return "denied";
      // Allowed while isolated means a rule of an isolating policy admitted it (explainDirection).
      const subject = direction === "egress" ? probe.from.endpoint : probe.to.endpoint;
      return subject.kind === "pod" && analyzer.isolatingPolicies(subject.pod, direction).length > 0
        ? "admitted"
        : "open";
    },
  };
}

function eksSideVerdict(
  decision: SideDecision,
  direction: Direction,
  selecting: readonly string[],
): DirectionVerdict {
  switch (decision.kind) {
    case "not-a-pod":
      return { kind: "not-a-pod" };
    case "default-allow":
      return { kind: "not-isolated" };
    case "default-deny":
      return { kind: "denied", isolatedBy: ["strict mode (no policy selects the pod)"] };
    case "lookup": {
      const { entry } = decision;
      if (!decision.allowed) return { kind: "denied", isolatedBy: selecting };
      if (entry?.kind === "node-ip") {
        return {
          kind: "enforcer-allowed",
          reason: `the agent always allows the pod's own node ${decision.address}`,
        };
      }
      if (entry?.kind === "catch-all") return { kind: "not-isolated" };
      return {
        kind: "allowed",
        isolatedBy: selecting,
        allowedBy: (entry?.rules ?? []).map((rule) => ({ ...rule, direction })),
      };
    }
    case "cluster-tier": {
      const { slot } = decision;
      const decidedBy = `${describeClusterSlot(slot)}, ${decision.tier} tier`;
      if (!decision.allowed) return { kind: "denied", isolatedBy: [decidedBy] };
      if (slot.rule === undefined) return { kind: "enforcer-allowed", reason: decidedBy };
      return {
        kind: "allowed",
        isolatedBy: [decidedBy],
        allowedBy: [
          { policy: `ClusterNetworkPolicy ${slot.rule.policy}`, direction, ruleIndex: slot.rule.ruleIndex },
        ],
      };
    }
  }
}

function eksJudge(
  model: FlashModel,
  policies: readonly AnyPolicy[],
  mode: EnforcingMode,
  state: EksClusterState,
): Judge {
  const enforcer = new EksEnforcer(eksClusterWith(model, policies), { mode, ...state });
  const selecting = (endpoint: Endpoint): string[] =>
    endpoint.kind === "pod"
      ? enforcer.policyEndpoints.filter((endpoints) => endpoints.selects(endpoint.pod)).map((e) => e.policy)
      : [];
  return {
    // Every selecting policy shapes both maps on EKS (and, in strict mode, none selecting denies).
    decidingPolicies: (endpoint) => selecting(endpoint),
    isAllowed: (probe) => enforcer.isAllowed(eksProbe(probe)),
    explain: (probe) => {
      const verdict = enforcer.decide(eksProbe(probe));
      return {
        allowed: verdict.allowed,
        egress: eksSideVerdict(verdict.egress, "egress", selecting(probe.from.endpoint)),
        ingress: eksSideVerdict(verdict.ingress, "ingress", selecting(probe.to.endpoint)),
      };
    },
    side: (probe, direction) => {
      const decision = enforcer.decide(eksProbe(probe))[direction];
      if (!sideAllows(decision)) return "denied";
      // The selecting policies only name the isolation; whether a rule admits does not depend on them.
      const verdict = eksSideVerdict(decision, direction, []);
      return verdict.kind === "allowed" && verdict.allowedBy.length > 0 ? "admitted" : "open";
    },
  };
}

export function judgeFor(
  model: FlashModel,
  policies: readonly AnyPolicy[],
  options: EnforcerOptions = {},
): Judge {
  return (options.enforcer ?? "upstream") === "upstream"
    ? upstreamJudge(model, policies)
    : eksJudge(model, policies, options.mode ?? "standard", options.eks ?? {});
}
