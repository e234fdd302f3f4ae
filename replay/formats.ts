/**
 * The replay's outputs, all from one result object: text for the operator, JSON as a contract
 * (keys are only ever added), markdown for a pull-request comment with a mermaid diagram of what the
 * candidate would newly block.
 */
import type { RolloutConfig } from "../core/config";
import type { RecordCounts } from "./connections";
import { isNewlyBlocked, type ConnectionVerdict, type VerdictSummary } from "./verdicts";

export interface ReplayResult {
  readonly stack: string;
  readonly currentRollout: RolloutConfig;
  readonly candidateRollout: RolloutConfig;
  readonly candidateDescription: string;
  readonly window: { readonly start: number; readonly end: number };
  readonly records: RecordCounts;
  readonly connections: readonly ConnectionVerdict[];
  readonly unattributed: readonly string[];
  readonly summary: VerdictSummary;
}

function isoOrNull(seconds: number): string | null {
  return Number.isFinite(seconds) ? new Date(seconds * 1000).toISOString() : null;
}

export function replayJson(result: ReplayResult): unknown {
  return {
    stack: result.stack,
    candidate: { rollout: result.candidateRollout, description: result.candidateDescription },
    current: { rollout: result.currentRollout },
    window: { start: isoOrNull(result.window.start), end: isoOrNull(result.window.end) },
    records: result.records,
    connections: result.connections.map((row) => ({
      from: row.from,
      to: row.to,
      port: row.port,
      protocol: row.protocol,
      connections: row.connections,
      packets: row.packets,
      bytes: row.bytes,
      firstSeen: isoOrNull(row.firstSeen),
      lastSeen: isoOrNull(row.lastSeen),
      current: row.current,
      candidate: row.candidate,
      intended: row.intended,
      agentDenies: row.agentDenies,
    })),
    summary: result.summary,
    unattributedAddresses: result.unattributed,
  };
}

interface Section {
  readonly title: string;
  readonly rows: readonly ConnectionVerdict[];
}

function sections(result: ReplayResult): Section[] {
  const newly = result.connections.filter(isNewlyBlocked);
  return [
    {
      title: "Newly blocked and intended by the flow table (a bug in our policies: do not apply)",
      rows: newly.filter((row) => row.intended),
    },
    {
      title: "Newly blocked and not in the flow table (review: a missing flow, or traffic to stop)",
      rows: newly.filter((row) => !row.intended),
    },
    { title: "Still allowed", rows: result.connections.filter((row) => row.candidate === "allowed") },
    { title: "Already blocked", rows: result.connections.filter((row) => row.current === "blocked") },
  ];
}

function describeRow(row: ConnectionVerdict): string {
  const agent = row.agentDenies > 0 ? `, ${row.agentDenies} agent DENY line(s)` : "";
  return `${row.from} -> ${row.to} ${row.port}/${row.protocol}: ${row.connections} connection(s), ${row.packets} packets, ${row.bytes} bytes${agent}${row.intended ? " [in the table]" : ""}`;
}

function describeWindow(result: ReplayResult): string {
  return `${isoOrNull(result.window.start) ?? "?"} .. ${isoOrNull(result.window.end) ?? "?"}`;
}

function describeRecords(records: RecordCounts): string {
  return `${records.read} read, ${records.skipped} NODATA/SKIPDATA, ${records.unknownProtocol} of a protocol NetworkPolicy does not judge, ${records.noPorts} with "-" ports, ${records.unattributable} naming a node or ENI address that stands for pods, ${records.replies} replies folded into their connection, ${records.rejected} rejected by security groups/NACLs, ${records.duplicates} receiving-ENI copies, ${records.outOfScope} outside the namespace's policies`;
}

export function renderReplayText(result: ReplayResult): string {
  const lines = [
    `Replay of stack ${result.stack} against the candidate: ${result.candidateDescription}`,
    `Window: ${describeWindow(result)}`,
    `Records: ${describeRecords(result.records)}`,
    "",
  ];
  for (const section of sections(result)) {
    lines.push(`${section.title}: ${section.rows.length}`);
    for (const row of section.rows) lines.push(`  ${describeRow(row)}`);
    lines.push("");
  }
  lines.push(
    `Unattributed addresses (inside the VPC, no pod in the snapshot, data store, ALB or DNS; their verdicts assume an unlabelled outsider): ${result.unattributed.length}`,
  );
  for (const address of result.unattributed) lines.push(`  ${address}`);
  return `${lines.join("\n")}\n`;
}

function mermaidId(name: string, ids: Map<string, string>): string {
  let id = ids.get(name);
  if (id === undefined) {
    id = `n${ids.size}`;
    ids.set(name, id);
  }
  return id;
}

export function renderReplayMarkdown(result: ReplayResult): string {
  const { summary } = result;
  const verdict =
    summary.newlyBlockedIntended > 0
      ? `**Do not apply**: it would block ${summary.newlyBlockedIntended} connection(s) the flow table intends.`
      : summary.newlyBlockedUnintended > 0
        ? `**Review before applying**: it would block ${summary.newlyBlockedUnintended} observed connection(s) outside the flow table.`
        : "It blocks nothing the current stage allows.";
  const lines = [
    `### flash-netpol replay: \`${result.stack}\`, ${result.candidateDescription}`,
    "",
    verdict,
    "",
    `Window ${describeWindow(result)}; records: ${describeRecords(result.records)}.`,
    "",
  ];
  const newly = result.connections.filter(isNewlyBlocked);
  if (newly.length > 0) {
    const ids = new Map<string, string>();
    lines.push("```mermaid", "flowchart LR");
    for (const row of newly) {
      const from = mermaidId(row.from, ids);
      const to = mermaidId(row.to, ids);
      const style = row.intended ? "-- in the table -->" : "-.->";
      lines.push(
        `  ${from}["${row.from}"] ${style}|"${row.port}/${row.protocol} x${row.connections}"| ${to}["${row.to}"]`,
      );
    }
    lines.push("```", "");
  }
  for (const section of sections(result)) {
    lines.push(`<details><summary>${section.title}: ${section.rows.length}</summary>`, "");
    if (section.rows.length > 0) {
      lines.push(
        "| from | to | port | connections | packets | bytes | in the table |",
        "|---|---|---|---|---|---|---|",
      );
      for (const row of section.rows)
        lines.push(
          `| ${row.from} | ${row.to} | ${row.port}/${row.protocol} | ${row.connections} | ${row.packets} | ${row.bytes} | ${row.intended ? "yes" : "no"} |`,
        );
      lines.push("");
    }
    lines.push("</details>", "");
  }
  if (result.unattributed.length > 0)
    lines.push(
      `Unattributed addresses inside the VPC: ${result.unattributed.map((ip) => `\`${ip}\``).join(", ")}`,
      "",
    );
  return lines.join("\n");
}
