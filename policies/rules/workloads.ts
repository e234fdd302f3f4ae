/**
 * Workloads as pack config names them ({namespace, podLabels}: a service of the flow table), and
 * the one question several rules ask: does this policy's podSelector select exactly such a workload?
 * "Exactly" is an allow-list test: every label of the workload pinned by matchLabels (so the selector
 * can select nothing but that workload's pods) and no requirement that would exclude them.
 */
import { z } from "zod";
import { compileLabelSelector } from "../../core/labelSelector";
import type { SelectorOperator } from "../../core/kubernetes";
import type { Selector } from "./k8s";

export const workloadSchema = z.strictObject({
  namespace: z.string().min(1),
  // An empty label set would stand for every pod; stated to the JSON Schema too, which has no refine.
  podLabels: z
    .record(z.string(), z.string())
    .refine((labels) => Object.keys(labels).length > 0, "at least one label")
    .meta({ minProperties: 1 }),
});
export type Workload = z.output<typeof workloadSchema>;

const OPERATORS: readonly string[] = ["In", "NotIn", "Exists", "DoesNotExist"] satisfies SelectorOperator[];

/** The selector as the analyzer compiles it; an operator the API server would reject matches nothing. */
export function selectorMatches(selector: Selector, labels: Readonly<Record<string, string>>): boolean {
  const expressions = selector.matchExpressions ?? [];
  if (expressions.some((requirement) => !OPERATORS.includes(requirement.operator ?? ""))) return false;
  return compileLabelSelector({
    matchLabels: selector.matchLabels ?? {},
    matchExpressions: expressions.map((requirement) => ({
      key: requirement.key ?? "",
      operator: requirement.operator as SelectorOperator,
      values: requirement.values,
    })),
  })(labels);
}

/** The workload whose pods, and only those, `selector` selects in `namespace`; undefined when none. */
export function pinnedWorkload<W extends Workload>(
  selector: Selector | undefined,
  namespace: string,
  workloads: readonly W[],
): W | undefined {
  if (selector === undefined) return undefined;
  const matchLabels = selector.matchLabels ?? {};
  return workloads.find(
    (workload) =>
      workload.namespace === namespace &&
      Object.entries(workload.podLabels).every(([key, value]) => matchLabels[key] === value) &&
      selectorMatches(selector, workload.podLabels),
  );
}

export function describeWorkloads(workloads: readonly Workload[]): string {
  if (workloads.length === 0) return "none";
  return workloads
    .map((workload) => `${workload.namespace}/${JSON.stringify(workload.podLabels)}`)
    .join(", ");
}
