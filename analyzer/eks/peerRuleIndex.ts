/**
 * The rule lists of the grouped EKS matrix (groupedMatrix.ts) in a form its inner loop reads without
 * making objects: per position, the peer group a pod rule lists (-1: not a pod rule) and its shape id.
 */
import type { PodInfo } from "../../core/kubernetes";
import type { ClusterRule } from "./clusterPolicyResolver";
import { podRule, type EndpointItem } from "./endpointItems";
import type { ShapeIds } from "./interning";
import type { EndpointRule } from "./model";

export type AnyRule = EndpointRule | ClusterRule;

export interface IndexedRules {
  readonly group: Int32Array;
  readonly shape: Int32Array;
  /** The rule at a position (made on demand for a selector peer's pod). */
  readonly ruleAt: (position: number) => AnyRule;
}

export class PeerRuleIndex {
  private readonly indexed = new WeakMap<object, IndexedRules>();

  constructor(
    private readonly groupOf: ReadonlyMap<PodInfo, number>,
    private readonly shapes: ShapeIds,
  ) {}

  /**
   * One policy's list for one direction, indexed once however many subjects the policy selects.
   * Selector peers are read unexpanded: rule objects are made only for the few lookups a cache misses.
   */
  ofItems(items: readonly EndpointItem[]): IndexedRules {
    let index = this.indexed.get(items);
    if (index !== undefined) return index;
    let length = 0;
    for (const item of items) length += item.kind === "rule" ? 1 : item.pods.length;
    const group = new Int32Array(length);
    const shape = new Int32Array(length);
    // Where each position came from: the item, and the pod's place in a selector peer's list.
    const fromItem = new Int32Array(length);
    const fromPod = new Int32Array(length);
    let at = 0;
    items.forEach((item, itemIndex) => {
      if (item.kind === "rule") {
        group[at] = -1;
        shape[at] = this.shapes.of(item.rule);
        fromItem[at] = itemIndex;
        fromPod[at++] = -1;
        return;
      }
      item.pods.forEach((pod, podIndex) => {
        const ports = item.portsFor(pod);
        if (ports === undefined) return;
        group[at] = this.groupOf.get(pod)!;
        shape[at] = this.shapes.ofPorts(ports);
        fromItem[at] = itemIndex;
        fromPod[at++] = podIndex;
      });
    });
    index = {
      group: group.subarray(0, at),
      shape: shape.subarray(0, at),
      ruleAt: (position) => {
        const item = items[fromItem[position]];
        if (item.kind === "rule") return item.rule;
        const pod = item.pods[fromPod[position]];
        return podRule(item, pod, item.portsFor(pod)!);
      },
    };
    this.indexed.set(items, index);
    return index;
  }
  /** A cluster policy's resolved rules for one direction (already expanded: they are few). */
  ofRules(rules: readonly ClusterRule[]): IndexedRules {
    let index = this.indexed.get(rules);
    if (index !== undefined) return index;
    index = {
      group: Int32Array.from(rules, (rule) => (rule.pod === undefined ? -1 : this.groupOf.get(rule.pod)!)),
      shape: Int32Array.from(rules, (rule) => this.shapes.of(rule)),
      ruleAt: (i) => rules[i],
    };
    this.indexed.set(rules, index);
    return index;
  }
}
