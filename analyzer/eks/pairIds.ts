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
