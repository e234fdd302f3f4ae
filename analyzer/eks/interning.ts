/**
 * Interning for the grouped EKS matrix (groupedMatrix.ts): rule shapes and pairs of ids become small
 * numbers, so a peer's rules in a map compare as one number.
 */
import type { ClusterRule } from "./clusterPolicyResolver";
import type { EndpointRule, L4Entry } from "./model";

/**
 * Ids for pairs of small non-negative integers, 1, 2, 3... in order of first sight: an open-addressing
 * table in typed arrays. The grouped EKS matrix interns millions of (sequence, shape) pairs; a Map
 * keyed by `a * 2^20 + b` boxes every key above 2^30 as a heap number, and the garbage dominated.
 */
export class PairIds {
  private firsts = new Int32Array(1 << 16);
  private seconds = new Int32Array(1 << 16);
  /** 0: empty slot. */
  private ids = new Int32Array(1 << 16);
  private count = 0;

  get size(): number {
    return this.count;
  }

  idOf(first: number, second: number): number {
    let mask = this.ids.length - 1;
    let slot = hash(first, second) & mask;
    while (this.ids[slot] !== 0) {
      if (this.firsts[slot] === first && this.seconds[slot] === second) return this.ids[slot];
      slot = (slot + 1) & mask;
    }
    if ((this.count + 1) * 2 > this.ids.length) {
      this.grow();
      mask = this.ids.length - 1;
      slot = hash(first, second) & mask;
      while (this.ids[slot] !== 0) slot = (slot + 1) & mask;
    }
    this.firsts[slot] = first;
    this.seconds[slot] = second;
    this.ids[slot] = ++this.count;
    return this.count;
  }

  private grow(): void {
    const { firsts, seconds, ids } = this;
    const capacity = ids.length * 2;
    if (capacity > 2 ** 30) throw new Error("more pairs than the grouped EKS matrix can intern");
    this.firsts = new Int32Array(capacity);
    this.seconds = new Int32Array(capacity);
    this.ids = new Int32Array(capacity);
    const mask = capacity - 1;
    for (let old = 0; old < ids.length; old++) {
      if (ids[old] === 0) continue;
      let slot = hash(firsts[old], seconds[old]) & mask;
      while (this.ids[slot] !== 0) slot = (slot + 1) & mask;
      this.firsts[slot] = firsts[old];
      this.seconds[slot] = seconds[old];
      this.ids[slot] = ids[old];
    }
  }
}

function hash(first: number, second: number): number {
  return (Math.imul(first, 0x9e3779b1) ^ Math.imul(second + 0x7f4a7c15, 0x85ebca77)) >>> 0;
}

/**
 * What of a pod rule can change an answer: its ports (and, for a cluster rule, tier, priority and
 * action). Interned so a peer's rules compare as a short text.
 */
export class ShapeIds {
  /** Rules share port lists (a rule's ports, or one pod's resolution of them): one text per list. */
  private readonly byPorts = new WeakMap<readonly L4Entry[], number>();
  private readonly byText = new Map<string, number>();

  of(rule: EndpointRule | ClusterRule): number {
    const ports = this.ofPorts(rule.ports);
    return "action" in rule
      ? this.intern(`cluster ${rule.tier} ${rule.priority} ${rule.action} ${ports}`)
      : ports;
  }

  ofPorts(ports: readonly L4Entry[]): number {
    let id = this.byPorts.get(ports);
    if (id === undefined) {
      id = this.intern(
        ports.map((entry) => `${entry.protocol}@${entry.port ?? ""}@${entry.endPort ?? ""}`).join(" "),
      );
      this.byPorts.set(ports, id);
    }
    return id;
  }

  private intern(text: string): number {
    let id = this.byText.get(text);
    if (id === undefined) {
      id = this.byText.size + 1;
      this.byText.set(text, id);
    }
    return id;
  }
}
