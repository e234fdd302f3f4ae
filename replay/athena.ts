/**
 * Beyond one machine: the Athena query that aggregates a window of flow logs server-side, and the
 * reader of its CSV result. The query groups by source, destination, the significant ports (the
 * server's; see orientation.ts), protocol, initiator (from tcp-flags) and flow-direction, with
 * counts, so its result replays through the same aggregation as raw records and reaches the same
 * verdicts. It keeps to SQL that Athena (Trino) and DuckDB share: CASE, COALESCE, NULLIF, mod, floor,
 * CAST, literal bounds (no engine-specific time or bit functions).
 */
import type { FlowGroupCollector } from "./flowGroups";
import { ReplayInputError } from "./inputError";
import { forEachLine } from "./lineReader";
import { EPHEMERAL_PORT_FLOOR, TCP_FLAG_ACK, TCP_FLAG_SYN, type InitiatorHint } from "./orientation";

export const DEFAULT_ATHENA_TABLE = "vpc_flow_logs";

/**
 * The table layouts AWS documents for flow logs (DDL in docs/replay.md): `date` (one `date` DATE
 * partition per day, added with ALTER TABLE ... ADD PARTITION), `projection` (partition projection on
 * a `day` string formatted yyyy/MM/dd), `hive` (Hive-compatible S3 prefixes: year, month, day, hour
 * strings). The window's first day bounds the partition columns, so Athena reads only those days.
 */
export const ATHENA_PARTITION_LAYOUTS = ["date", "projection", "hive"] as const;
export type AthenaPartitionLayout = (typeof ATHENA_PARTITION_LAYOUTS)[number];

function partitionPredicate(layout: AthenaPartitionLayout, startSeconds: number): string {
  const iso = new Date(startSeconds * 1000).toISOString();
  const [year, month, day] = [iso.slice(0, 4), iso.slice(5, 7), iso.slice(8, 10)];
  if (layout === "date") return `"date" >= DATE '${year}-${month}-${day}'`;
  if (layout === "projection") return `day >= '${year}/${month}/${day}'`;
  // Zero-padded strings order as the dates do; each column compared alone, so the engine prunes on it.
  return `(year > '${year}' OR (year = '${year}' AND (month > '${month}' OR (month = '${month}' AND day >= '${day}'))))`;
}

export const AGGREGATED_COLUMNS = [
  "src",
  "dst",
  "srcport",
  "dstport",
  "protocol",
  "initiator",
  "flow_direction",
  // 1 where the address came from srcaddr/dstaddr (no pkt-* value): it may be an ENI's standing for pods.
  "src_may_be_eni",
  "dst_may_be_eni",
  "records",
  "flagged",
  "packets",
  "bytes",
  "first_seen",
  "last_seen",
] as const;

/** "24h", "90m", "7d", "3600s" -> seconds; undefined when it is none of those. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+)([smhd])$/.exec(text.trim());
  if (match === null || Number(match[1]) === 0) return undefined;
  return Number(match[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[match[2] as "s" | "m" | "h" | "d"];
}

function bit(column: string, value: number): string {
  return `mod(CAST(floor(${column} / ${value}) AS INTEGER), 2) = 1`;
}

export function athenaSql(options: {
  table: string;
  sinceSeconds: number;
  nowSeconds: number;
  partitions?: AthenaPartitionLayout;
}): string {
  const start = Math.floor(options.nowSeconds - options.sinceSeconds);
  const flagged = "protocol = 6 AND tcp_flags IS NOT NULL";
  return `-- flash-netpol replay: flow logs since ${new Date(start * 1000).toISOString()}, aggregated per
-- (source, destination, significant ports, protocol, initiator, flow-direction); table layout: ${options.partitions ?? "date"}.
-- Save the result as CSV and run: npm run replay -- --stack STACK --pods PODS.json --aggregated RESULT.csv
WITH flows AS (
  SELECT
    COALESCE(NULLIF(pkt_srcaddr, '-'), srcaddr) AS src,
    COALESCE(NULLIF(pkt_dstaddr, '-'), dstaddr) AS dst,
    CASE WHEN NULLIF(pkt_srcaddr, '-') IS NULL THEN 1 ELSE 0 END AS src_may_be_eni,
    CASE WHEN NULLIF(pkt_dstaddr, '-') IS NULL THEN 1 ELSE 0 END AS dst_may_be_eni,
    srcport,
    dstport,
    protocol,
    packets,
    bytes,
    start,
    "end" AS finish,
    COALESCE(NULLIF(flow_direction, ''), '-') AS flow_direction,
    CASE WHEN ${flagged} THEN 1 ELSE 0 END AS flagged,
    CASE
      WHEN ${flagged} AND ${bit("tcp_flags", TCP_FLAG_SYN)} AND ${bit("tcp_flags", TCP_FLAG_ACK)} THEN 'dst'
      WHEN ${flagged} AND ${bit("tcp_flags", TCP_FLAG_SYN)} THEN 'src'
      ELSE 'ports'
    END AS initiator
  FROM ${options.table}
  WHERE ${partitionPredicate(options.partitions ?? "date", start)}
    AND start >= ${start}
    AND log_status = 'OK'
    AND action = 'ACCEPT'
),
significant AS (
  SELECT
    src,
    dst,
    CASE
      WHEN initiator = 'src' THEN 0
      WHEN initiator = 'ports' AND srcport >= ${EPHEMERAL_PORT_FLOOR} AND dstport < ${EPHEMERAL_PORT_FLOOR} THEN 0
      ELSE srcport
    END AS srcport,
    CASE
      WHEN initiator = 'dst' THEN 0
      WHEN initiator = 'ports' AND dstport >= ${EPHEMERAL_PORT_FLOOR} AND srcport < ${EPHEMERAL_PORT_FLOOR} THEN 0
      ELSE dstport
    END AS dstport,
    protocol,
    initiator,
    flow_direction,
    src_may_be_eni,
    dst_may_be_eni,
    flagged,
    packets,
    bytes,
    start,
    finish
  FROM flows
)
SELECT
  src,
  dst,
  srcport,
  dstport,
  protocol,
  initiator,
  flow_direction,
  src_may_be_eni,
  dst_may_be_eni,
  COUNT(*) AS records,
  SUM(flagged) AS flagged,
  SUM(packets) AS packets,
  SUM(bytes) AS bytes,
  MIN(start) AS first_seen,
  MAX(finish) AS last_seen
FROM significant
GROUP BY src, dst, srcport, dstport, protocol, initiator, flow_direction, src_may_be_eni, dst_may_be_eni
ORDER BY src, dst, dstport, srcport, protocol, initiator, flow_direction, src_may_be_eni, dst_may_be_eni
`;
}

/** One CSV line: Athena quotes every value ("a","b"), DuckDB only where needed. */
function splitCsv(line: string): string[] | undefined {
  const fields: string[] = [];
  let index = 0;
  while (index <= line.length) {
    if (line[index] === '"') {
      let value = "";
      index++;
      for (;;) {
        const close = line.indexOf('"', index);
        if (close === -1) return undefined;
        value += line.slice(index, close);
        if (line[close + 1] === '"') {
          value += '"';
          index = close + 2;
          continue;
        }
        index = close + 1;
        break;
      }
      fields.push(value);
      if (index < line.length && line[index] !== ",") return undefined;
      index++;
    } else {
      const comma = line.indexOf(",", index);
      const end = comma === -1 ? line.length : comma;
      fields.push(line.slice(index, end));
      index = end + 1;
    }
  }
  return fields;
}

const WHOLE = /^\d+$/;

export async function replayAggregatedCsv(file: string, collector: FlowGroupCollector): Promise<void> {
  let columns: Map<string, number> | undefined;
  await forEachLine(file, (line, lineNumber) => {
    if (line.trim() === "") return;
    const fail = (field: string | undefined, problem: string): never => {
      throw new ReplayInputError(file, lineNumber, field, problem);
    };
    const fields = splitCsv(line);
    if (fields === undefined) fail(undefined, "not a CSV line (unbalanced quotes)");
    const values = fields as string[];
    if (columns === undefined) {
      const missing = AGGREGATED_COLUMNS.filter((column) => !values.includes(column));
      if (missing.length > 0)
        fail(
          missing[0],
          `the header lacks ${missing.join(", ")}; expected the result of \`npm run replay -- --athena-sql\` (columns ${AGGREGATED_COLUMNS.join(", ")})`,
        );
      columns = new Map(values.map((name, index) => [name, index]));
      return;
    }
    if (values.length !== columns.size)
      fail(undefined, `${values.length} values, expected ${columns.size} as the header names`);
    const text = (column: (typeof AGGREGATED_COLUMNS)[number]): string =>
      values[(columns as Map<string, number>).get(column) as number];
    const whole = (column: (typeof AGGREGATED_COLUMNS)[number], max = Number.MAX_SAFE_INTEGER): number => {
      const value = text(column);
      if (!WHOLE.test(value) || Number(value) > max) fail(column, `"${value}"; expected a whole number`);
      return Number(value);
    };
    const initiator = text("initiator");
    if (initiator !== "src" && initiator !== "dst" && initiator !== "ports")
      fail("initiator", `"${initiator}"; expected src, dst or ports`);
    const direction = text("flow_direction");
    if (!["ingress", "egress", "-", ""].includes(direction))
      fail("flow_direction", `"${direction}"; expected ingress, egress or -`);
    for (const column of ["src", "dst"] as const)
      if (text(column) === "") fail(column, "empty; expected an address");
    const srcMayBeEni = whole("src_may_be_eni", 1) === 1;
    const dstMayBeEni = whole("dst_may_be_eni", 1) === 1;
    const records = whole("records");
    collector.counts.read += records;
    collector.add({
      src: text("src"),
      dst: text("dst"),
      srcPort: whole("srcport", 65535),
      dstPort: whole("dstport", 65535),
      protocol: whole("protocol", 255),
      hint: initiator as InitiatorHint,
      flowDirection: direction === "ingress" || direction === "egress" ? direction : undefined,
      records,
      flagged: whole("flagged"),
      packets: whole("packets"),
      bytes: whole("bytes"),
      firstSeen: whole("first_seen"),
      lastSeen: whole("last_seen"),
      srcMayBeEni,
      dstMayBeEni,
    });
  });
}
