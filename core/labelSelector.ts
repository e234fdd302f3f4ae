import type { LabelSelector, LabelSelectorRequirement, Labels } from "./kubernetes";

export type LabelMatcher = (labels: Labels) => boolean;

const hasOwn = (labels: Labels, key: string): boolean => Object.prototype.hasOwnProperty.call(labels, key);

function compileRequirement(requirement: LabelSelectorRequirement): LabelMatcher {
  const { key } = requirement;
  const values = new Set(requirement.values ?? []);
  switch (requirement.operator) {
    case "In":
      return (labels) => hasOwn(labels, key) && values.has(labels[key]);
    case "NotIn":
      // A pod without the key satisfies NotIn: the selector only excludes listed values.
      return (labels) => !hasOwn(labels, key) || !values.has(labels[key]);
    case "Exists":
      return (labels) => hasOwn(labels, key);
    case "DoesNotExist":
      return (labels) => !hasOwn(labels, key);
  }
}

/**
 * Compiles a metav1.LabelSelector: every matchLabels pair and every matchExpression must hold.
 * An empty selector therefore matches everything.
 */
export function compileLabelSelector(selector: LabelSelector): LabelMatcher {
  const requirements: LabelMatcher[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    requirements.push((labels) => hasOwn(labels, key) && labels[key] === value);
  }
  for (const expression of selector.matchExpressions ?? []) {
    requirements.push(compileRequirement(expression));
  }
  if (requirements.length === 0) return () => true;
  return (labels) => requirements.every((requirement) => requirement(labels));
}

/** A canonical text form, so equal selectors written differently can share cached results. */
export function selectorCacheKey(selector: LabelSelector): string {
  const matchLabels = Object.entries(selector.matchLabels ?? {}).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  const expressions = (selector.matchExpressions ?? [])
    .map((e) => [e.key, e.operator, [...(e.values ?? [])].sort()] as const)
    .map((e) => JSON.stringify(e))
    .sort();
  return JSON.stringify([matchLabels, expressions]);
}
