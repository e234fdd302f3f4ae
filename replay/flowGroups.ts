/**
 * The first pass of a replay: every reader (flow-log records, agent verdict lines, the Athena
 * CSV) adds flow groups here, summed per everything the verdicts look at, as the Athena query sums
 * them server-side. Nothing here needs the stack's plan, so a replay with no evidence stops (exit 6)
 * before the plan is built, and the plan's per-address work runs once per group, not per record.
 */
import type { FlowGroup, RecordCounts } from "./connections";
import type { Direction } from "../core/kubernetes";
import type { InitiatorHint } from "./orientation";

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
  /** Called once, at the first evidence: the caller starts building the plan while reading goes on. */
  onFirstEvidence: (() => void) | undefined;

  /** Stretches the window; every record with a time counts, judged or not. */
  observeTime(start: number, end: number): void {
    if (start < this.windowStart) this.windowStart = start;
    if (end > this.windowEnd) this.windowEnd = end;
  }

  add(group: FlowGroup): void {
    this.addRecords(
      group.src,
      group.dst,
      group.srcPort,
      group.dstPort,
      group.protocol,
      group.hint,
      group.flowDirection,
      group.srcMayBeEni === true,
      group.dstMayBeEni === true,
      group.records,
      group.flagged,
      group.packets,
      group.bytes,
      group.firstSeen,
      group.lastSeen,
      group.agentDenies ?? 0,
    );
  }

  /** `add` without a group object per record: a million records would otherwise each allocate one. */
  addRecords(
    src: string,
    dst: string,
    srcPort: number,
    dstPort: number,
    protocol: number,
    hint: InitiatorHint,
    flowDirection: Direction | undefined,
    srcMayBeEni: boolean,
    dstMayBeEni: boolean,
    records: number,
    flagged: number,
    packets: number,
    bytes: number,
    firstSeen: number,
    lastSeen: number,
    agentDenies: number,
  ): void {
    if (this.evidence === 0 && records > 0 && this.onFirstEvidence !== undefined) this.onFirstEvidence();
    this.evidence += records;
    if (firstSeen < this.windowStart) this.windowStart = firstSeen;
    if (lastSeen > this.windowEnd) this.windowEnd = lastSeen;
    const key = `${src}|${dst}|${srcPort}|${dstPort}|${protocol}|${hint}|${flowDirection ?? "-"}|${srcMayBeEni ? 1 : 0}${dstMayBeEni ? 1 : 0}`;
    const existing = this.groups.get(key);
    if (existing === undefined) {
      this.groups.set(key, {
        src,
        dst,
        srcPort,
        dstPort,
        protocol,
        hint,
        flowDirection,
        srcMayBeEni,
        dstMayBeEni,
        records,
        flagged,
        packets,
        bytes,
        firstSeen,
        lastSeen,
        agentDenies,
      });
      return;
    }
    existing.records += records;
    existing.flagged += flagged;
    existing.packets += packets;
    existing.bytes += bytes;
    existing.agentDenies = (existing.agentDenies ?? 0) + agentDenies;
    if (firstSeen < existing.firstSeen) existing.firstSeen = firstSeen;
    if (lastSeen > existing.lastSeen) existing.lastSeen = lastSeen;
  }
}
