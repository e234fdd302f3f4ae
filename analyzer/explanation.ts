import type { Direction } from "../core/kubernetes";

export interface RuleReference {
  /** "namespace/name" of the policy. */
  readonly policy: string;
  readonly direction: Direction;
  /** Index into the policy's `ingress` or `egress` list. */
  readonly ruleIndex: number;
}

/** The verdict for one side of a connection (the source's egress or the destination's ingress). */
export type DirectionVerdict =
  | { readonly kind: "not-a-pod" }
  | { readonly kind: "not-isolated" }
  | {
      readonly kind: "allowed";
      readonly isolatedBy: readonly string[];
      readonly allowedBy: readonly RuleReference[];
    }
  | { readonly kind: "denied"; readonly isolatedBy: readonly string[] }
  /** Allowed by the enforcer itself whatever the policies say (EKS: the pod's own node IP). */
  | { readonly kind: "enforcer-allowed"; readonly reason: string };

export interface ProbeExplanation {
  readonly allowed: boolean;
  readonly egress: DirectionVerdict;
  readonly ingress: DirectionVerdict;
}

/** One human-readable line per direction, for `plan --explain` style output. */
export function describeVerdict(direction: Direction, verdict: DirectionVerdict): string {
  switch (verdict.kind) {
    case "not-a-pod":
      return `${direction}: allowed (endpoint is not a pod, no policy applies)`;
    case "not-isolated":
      return `${direction}: allowed (no policy isolates the pod for ${direction})`;
    case "allowed":
      return `${direction}: allowed by ${verdict.allowedBy
        .map((rule) => `${rule.policy} ${rule.direction}[${rule.ruleIndex}]`)
        .join(", ")}`;
    case "denied":
      return `${direction}: denied (isolated by ${verdict.isolatedBy.join(", ")}; no rule matched)`;
    case "enforcer-allowed":
      return `${direction}: allowed (${verdict.reason})`;
  }
}

export function describeExplanation(explanation: ProbeExplanation): string[] {
  return [
    `${explanation.allowed ? "ALLOWED" : "DENIED"}`,
    describeVerdict("egress", explanation.egress),
    describeVerdict("ingress", explanation.ingress),
  ];
}
