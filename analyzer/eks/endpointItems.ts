/**
 * A PolicyEndpoint's entry list as the controller resolves it (controller.ts), with each selector
 * peer kept as one item listing its pods: the per-pod list is its expansion, and the grouped EKS
 * matrix (groupedMatrix.ts) reads the items without making one rule object per pod.
 */
import type { PodInfo } from "../../core/kubernetes";
import type { EndpointRule, L4Entry } from "./model";

/**
 * One selector peer's pods in one namespace, in cluster order: each becomes a /32 rule with the
 * rule's ports as resolved for it, unless none resolve. Kept unexpanded so the grouped matrix
 * (groupedMatrix.ts) reads a peer once instead of one rule object per pod.
 */
export interface PodPeerRules {
  readonly kind: "pods";
  readonly policy: string;
  readonly ruleIndex: number;
  readonly pods: readonly PodInfo[];
  /** The ports of this pod's rule; undefined: the controller leaves the pod out. */
  readonly portsFor: (pod: PodInfo) => readonly L4Entry[] | undefined;
}

/** A PolicyEndpoint entry list as resolved: single rules, and selector peers not yet expanded. */
export type EndpointItem = { readonly kind: "rule"; readonly rule: EndpointRule } | PodPeerRules;

/** The rule a selector peer writes for one of its pods. */
export function podRule(item: PodPeerRules, pod: PodInfo, ports: readonly L4Entry[]): EndpointRule {
  return { policy: item.policy, ruleIndex: item.ruleIndex, cidr: pod.ip, except: [], ports, pod };
}

export function hasAnyRule(items: readonly EndpointItem[]): boolean {
  return items.some(
    (item) => item.kind === "rule" || item.pods.some((pod) => item.portsFor(pod) !== undefined),
  );
}

export function expandItems(items: readonly EndpointItem[]): EndpointRule[] {
  const rules: EndpointRule[] = [];
  for (const item of items) {
    if (item.kind === "rule") {
      rules.push(item.rule);
      continue;
    }
    for (const pod of item.pods) {
      const ports = item.portsFor(pod);
      if (ports !== undefined) rules.push(podRule(item, pod, ports));
    }
  }
  return rules;
}

export function single(rule: EndpointRule): EndpointItem {
  return { kind: "rule", rule };
}
