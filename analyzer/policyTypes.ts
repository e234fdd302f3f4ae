import type { NetworkPolicySpec, PolicyType } from "../core/kubernetes";

/**
 * The API server's defaulting (k8s pkg/apis/networking/v1/defaults.go): when policyTypes is
 * absent or empty, Ingress always applies and Egress applies only if the spec has at least one
 * egress rule. `egress: []` is therefore *not* enough to isolate egress — that is what the Go code
 * does (`len(spec.Egress) != 0`), and the upstream truth tables follow the Go code.
 */
export function effectivePolicyTypes(spec: NetworkPolicySpec): readonly PolicyType[] {
  if (spec.policyTypes !== undefined && spec.policyTypes.length > 0) return spec.policyTypes;
  return spec.egress !== undefined && spec.egress.length > 0 ? ["Ingress", "Egress"] : ["Ingress"];
}
