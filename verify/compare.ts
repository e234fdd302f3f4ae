/**
 * Expected versus observed: one row per probe, the text matrix, the JSON and the exit code.
 *
 * A probe that could not run is neither a match nor a mismatch: it proves nothing about the
 * policies, so it never passes silently (exit 2) but is never reported as a policy failure either.
 */
import type { PlannedProbe, Verdict } from "./probe";
import { verdictOf, type ObservedVerdict, type Observation } from "./probeOutput";

export interface ComparedProbe {
  readonly probe: PlannedProbe;
  readonly observation: Observation;
  readonly observed: ObservedVerdict;
  readonly match: boolean;
}

/** The `--format json` row: exactly these keys. */
export interface ComparisonJsonRow {
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol: string;
  readonly expected: Verdict;
  readonly observed: ObservedVerdict;
  readonly match: boolean;
}

export const EXIT_ALL_MATCH = 0;
export const EXIT_MISMATCH = 1;
export const EXIT_CLUSTER_ERROR = 2;

export function compareOutcomes(
  outcomes: readonly { probe: PlannedProbe; observation: Observation }[],
): ComparedProbe[] {
  return outcomes.map(({ probe, observation }) => {
    const observed = verdictOf(observation);
    return { probe, observation, observed, match: observed === probe.expected };
  });
}

export function isMismatch(row: ComparedProbe): boolean {
  return row.observed !== "could not probe" && !row.match;
}

/** 1 on any mismatch (the cluster disagrees with the plan); else 2 if anything could not be probed. */
export function exitCodeOf(rows: readonly ComparedProbe[]): number {
  if (rows.some(isMismatch)) return EXIT_MISMATCH;
  if (rows.some((row) => row.observed === "could not probe")) return EXIT_CLUSTER_ERROR;
  return EXIT_ALL_MATCH;
}

export function comparisonJson(rows: readonly ComparedProbe[]): ComparisonJsonRow[] {
  return rows.map(({ probe, observed, match }) => ({
    from: probe.from,
    to: probe.to,
    port: probe.port,
    protocol: probe.protocol,
    expected: probe.expected,
    observed,
    match,
  }));
}

function table(header: readonly string[], body: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...body.map((row) => row[column].length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column]))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((width) => "-".repeat(width))), ...body.map(line)].join("\n");
}

function markOf(row: ComparedProbe): string {
  if (row.observed === "could not probe") return "??";
  return row.match ? "ok" : "MISMATCH";
}

export function renderComparison(
  rows: readonly ComparedProbe[],
  heading: { stack: string; context: string; stage: string },
): string {
  const body = rows.map((row) => [
    markOf(row),
    row.probe.from,
    `${row.probe.to}:${row.probe.port}/${row.probe.protocol}`,
    row.probe.expected,
    row.observed,
    row.observation.detail,
  ]);
  const mismatches = rows.filter(isMismatch);
  const unprobed = rows.filter((row) => row.observed === "could not probe");
  const lines = [
    `Live verification of stack ${heading.stack} in context ${heading.context}`,
    `Expectations: the offline matrix at the current stage (${heading.stage})`,
    "",
    table(["", "from", "to", "expected", "observed", "detail"], body),
    "",
    `${rows.length - mismatches.length - unprobed.length} match, ${mismatches.length} mismatch, ${unprobed.length} could not probe`,
  ];
  for (const row of mismatches) {
    lines.push(
      row.probe.expected === "blocked"
        ? `MISMATCH ${row.probe.from} -> ${row.probe.to}:${row.probe.port} was expected blocked but got through (${row.probe.reason}). Is the CNI enforcing NetworkPolicy (VPC CNI enableNetworkPolicy)?`
        : `MISMATCH ${row.probe.from} -> ${row.probe.to}:${row.probe.port} was expected allowed but did not get through (${row.probe.reason}).`,
    );
  }
  return `${lines.join("\n")}\n`;
}
