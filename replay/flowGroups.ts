/**
 * The first pass of a replay: every reader (flow-log records, agent verdict lines, the Athena
 * CSV) adds flow groups here, summed per everything the verdicts look at, as the Athena query sums
 * them server-side. Nothing here needs the stack's plan, so a replay with no evidence stops (exit 6)
 * before the plan is built, and the plan's per-address work runs once per group, not per record.
 */
import type { FlowGroup, RecordCounts } from "./connections";

export function emptyCounts(): RecordCounts {
  return {
    read: 0,
    skipped: 0,
    unknownProtocol: 0,
    noPorts: 0,
    replies: 0,
    rejected: 0,
    duplicates: 0,
    outOfScope: 0,
    unattributable: 0,
  };
}

type MutableGroup = { -readonly [key in keyof FlowGroup]: FlowGroup[key] };

export class FlowGroupCollector {
  readonly counts = emptyCounts();
  readonly groups = new Map<string, MutableGroup>();
  windowStart = Number.POSITIVE_INFINITY;
  windowEnd = Number.NEGATIVE_INFINITY;
  /** Records that carried accepted traffic of a judged protocol: without one the replay proves nothing. */
  evidence = 0;

  /** Stretches the window; every record with a time counts, judged or not. */
  observeTime(start: number, end: number): void {
    if (start < this.windowStart) this.windowStart = start;
    if (end > this.windowEnd) this.windowEnd = end;
  }

  add(group: FlowGroup): void {
    this.evidence += group.records;
    if (Number.isFinite(group.firstSeen)) this.observeTime(group.firstSeen, group.lastSeen);
    const key = `${group.src}|${group.dst}|${group.srcPort}|${group.dstPort}|${group.protocol}|${group.hint}|${group.flowDirection ?? "-"}|${group.srcMayBeEni === true ? 1 : 0}${group.dstMayBeEni === true ? 1 : 0}`;
    const existing = this.groups.get(key);
    if (existing === undefined) {
      this.groups.set(key, { ...group });
      return;
    }
    existing.records += group.records;
    existing.flagged += group.flagged;
    existing.packets += group.packets;
    existing.bytes += group.bytes;
    existing.agentDenies = (existing.agentDenies ?? 0) + (group.agentDenies ?? 0);
    if (group.firstSeen < existing.firstSeen) existing.firstSeen = group.firstSeen;
    if (group.lastSeen > existing.lastSeen) existing.lastSeen = group.lastSeen;
  }
}
