/**
 * Parquet flow logs and the Athena table layouts, with files written by a real Parquet writer
 * (DuckDB, a pinned devDependency), never by the inverse of our reader:
 *  - the replay reads Parquet flow logs with Gzip pages (what S3 delivers, AWS "Flow log files") and
 *    with Snappy pages, to the verdicts the same records get as text;
 *  - the query `--athena-sql --athena-partitions date|projection|hive` prints runs against a table of
 *    each documented layout, and the partition predicate prunes: the day before the window holds a
 *    file that is not Parquet, which any read of that partition would fail on.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { main as runReplay } from "../../cli/replay";
import { buildPlan } from "../../offline/planReport";
import {
  CUSTOM_FIELDS,
  customFormatLine,
  kubectlPodList,
  scratchDir,
  stackAddresses,
  writeFile,
  type FlowRecord,
} from "../../bench/syntheticTraffic";
import { replay } from "../support/runReplay";

const NOW = 1_780_100_000; // 2026-05-30T00:53:20Z
const DAY = 86_400;

/** The flow log's fields as Parquet columns (hyphens as underscores, as Athena names them). */
const COLUMNS = `version INTEGER, account_id VARCHAR, interface_id VARCHAR, srcaddr VARCHAR, dstaddr VARCHAR,
  srcport INTEGER, dstport INTEGER, protocol INTEGER, packets BIGINT, bytes BIGINT, start BIGINT, "end" BIGINT,
  action VARCHAR, log_status VARCHAR, vpc_id VARCHAR, subnet_id VARCHAR, instance_id VARCHAR, tcp_flags INTEGER,
  type VARCHAR, pkt_srcaddr VARCHAR, pkt_dstaddr VARCHAR, flow_direction VARCHAR`;

async function recordsTable(connection: DuckDBConnection, name: string, records: readonly FlowRecord[]) {
  await connection.run(`CREATE OR REPLACE TABLE ${name} (${COLUMNS})`);
  const literal = (text: string) => (text === "-" ? "NULL" : /^\d+$/.test(text) ? text : `'${text}'`);
  const rows = records.map((record) => `(${customFormatLine(record).split(" ").map(literal).join(", ")})`);
  await connection.run(`INSERT INTO ${name} VALUES ${rows.join(",\n")}`);
}

describe("replay: Parquet flow logs and the Athena layouts, written by DuckDB", function () {
  const dir = scratchDir();
  let connection: DuckDBConnection;
  let pods: string;
  let inWindow: FlowRecord[];
  let beforeWindow: FlowRecord[];
  /** An address inside the VPC that no pod has: a node's, as far as the default format can tell. */
  let nodeAddress: string;

  before(async () => {
    connection = await (await DuckDBInstance.create(":memory:")).connect();
    const { report } = await buildPlan({ stack: "prod" });
    const places = stackAddresses(report.cidrs, 2);
    const [gateway, api] = places.pods;
    const [relay, node] = places.elsewhereInVpc(2);
    nodeAddress = node;
    pods = writeFile(
      dir,
      "pods.json",
      JSON.stringify(
        kubectlPodList([
          {
            namespace: "flash-ticket",
            name: "gw",
            labels: { app: "flash-gateway" },
            ip: gateway,
            ports: [{ containerPort: 3000 }],
          },
          {
            namespace: "flash-ticket",
            name: "api",
            labels: { app: "flash-api" },
            ip: api,
            ports: [{ containerPort: 4000 }],
          },
        ]),
      ),
    );
    const at = (start: number) => ({ start, end: start + 59, packets: 10, bytes: 1000 });
    inWindow = [
      { src: gateway, dst: api, srcPort: 40000, dstPort: 4000, protocol: 6, tcpFlags: 2, ...at(NOW - 3600) },
      { src: api, dst: gateway, srcPort: 4000, dstPort: 40000, protocol: 6, tcpFlags: 18, ...at(NOW - 3600) },
      {
        src: api,
        dst: relay,
        srcPort: 45000,
        dstPort: 587,
        protocol: 6,
        tcpFlags: 2,
        eniSrc: node,
        ...at(NOW - 600),
      },
    ];
    beforeWindow = [
      { src: api, dst: relay, srcPort: 45001, dstPort: 25, protocol: 6, tcpFlags: 2, ...at(NOW - 3 * DAY) },
    ];
    await recordsTable(connection, "window_records", inWindow);
  });

  for (const compression of ["gzip", "snappy"] as const) {
    it(`reads a Parquet flow log with ${compression} pages to the verdicts of the same records as text`, async () => {
      const parquet = path.join(dir, `flows-${compression}.parquet`);
      await connection.run(
        `COPY window_records TO '${parquet}' (FORMAT parquet, COMPRESSION ${compression})`,
      );
      const text = writeFile(
        dir,
        "flows.log",
        `${CUSTOM_FIELDS.join(" ")}\n${inWindow.map(customFormatLine).join("\n")}\n`,
      );
      const fromParquet = await replay(
        "--stack",
        "prod",
        "--pods",
        pods,
        "--format",
        "json",
        "--flow-logs",
        parquet,
      );
      const fromText = await replay(
        "--stack",
        "prod",
        "--pods",
        pods,
        "--format",
        "json",
        "--flow-logs",
        text,
      );
      assert.equal(fromParquet.code, 5, fromParquet.stderr);
      const json = JSON.parse(fromParquet.stdout) as {
        records: { read: number };
        connections: { to: string; port: number; candidate: string }[];
      };
      assert.equal(json.records.read, inWindow.length);
      assert.ok(json.connections.some((row) => row.port === 587 && row.candidate === "blocked"));
      assert.deepEqual(JSON.parse(fromParquet.stdout), JSON.parse(fromText.stdout));
    });
  }

  it("a table whose rows lack pkt_srcaddr/pkt_dstaddr: the aggregated replay refuses node addresses (exit 4)", async () => {
    await recordsTable(connection, "vpc_flow_logs_v2", inWindow);
    await connection.run(`ALTER TABLE vpc_flow_logs_v2 ADD COLUMN "date" DATE DEFAULT DATE '2026-05-29'`);
    // As the default format fills them: the sending ENI's primary address, no packet address.
    await connection.run(
      `UPDATE vpc_flow_logs_v2 SET srcaddr = '${nodeAddress}', pkt_srcaddr = NULL, pkt_dstaddr = NULL WHERE dstport = 587`,
    );
    let query = "";
    await runReplay(["--stack", "prod", "--athena-sql", "--since", "24h", "--table", "vpc_flow_logs_v2"], {
      out: (text) => (query += text),
      err: (text) => assert.fail(text),
      now: () => NOW * 1000,
    });
    const csv = path.join(dir, "result-v2.csv");
    await connection.run(
      `COPY (${query.replace(/;\s*$/, "")}) TO '${csv}' (HEADER, DELIMITER ',', QUOTE '"', FORCE_QUOTE *)`,
    );
    const result = await replay("--stack", "prod", "--pods", pods, "--format", "json", "--aggregated", csv);
    assert.equal(result.code, 4, result.stderr);
    assert.match(result.stderr, /pkt-srcaddr\/pkt-dstaddr/);
  });

  const day = (seconds: number) => new Date(seconds * 1000).toISOString().slice(0, 10).split("-");
  // Partition directories as DuckDB's hive reader names them; values URL-encoded (a projected day has slashes).
  const LAYOUTS = {
    date: { dir: ([y, m, d]: string[]) => `date=${y}-${m}-${d}`, types: `{'date': DATE}` },
    projection: {
      dir: ([y, m, d]: string[]) =>
        `accid=123456789010/region=ap-northeast-2/day=${encodeURIComponent(`${y}/${m}/${d}`)}`,
      types: `{'accid': VARCHAR, 'region': VARCHAR, 'day': VARCHAR}`,
    },
    hive: {
      dir: ([y, m, d]: string[]) =>
        `aws-account-id=123456789010/aws-service=vpcflowlogs/aws-region=ap-northeast-2/year=${y}/month=${m}/day=${d}/hour=00`,
      types: `{'year': VARCHAR, 'month': VARCHAR, 'day': VARCHAR, 'hour': VARCHAR}`,
    },
  } as const;

  for (const [layout, spec] of Object.entries(LAYOUTS)) {
    it(`--athena-partitions ${layout}: the query runs on that layout and reads only the window's partitions`, async () => {
      const root = path.join(dir, `table-${layout}`);
      const write = async (records: readonly FlowRecord[], name: string) => {
        const partition = path.join(root, spec.dir(day(records[0].start)));
        fs.mkdirSync(partition, { recursive: true });
        await recordsTable(connection, "part", records);
        await connection.run(
          `COPY part TO '${path.join(partition, name)}' (FORMAT parquet, COMPRESSION gzip)`,
        );
        return partition;
      };
      await write(inWindow, "in-window.parquet");
      const old = await write(beforeWindow, "old.parquet");
      fs.writeFileSync(path.join(old, "unreadable.parquet"), "not Parquet: reading this partition fails\n");
      const depth = spec.dir(["y", "m", "d"]).split("/").length;
      await connection.run(
        `CREATE OR REPLACE VIEW vpc_flow_logs AS SELECT * FROM read_parquet('${root}/${"*/".repeat(depth)}*.parquet', hive_partitioning = true, hive_types = ${spec.types})`,
      );
      await assert.rejects(
        connection.run("SELECT count(*) FROM vpc_flow_logs"),
        /not Parquet|Invalid|magic/i,
      );

      let query = "";
      const code = await runReplay(
        ["--stack", "prod", "--athena-sql", "--since", "24h", "--athena-partitions", layout],
        {
          out: (text) => (query += text),
          err: (text) => assert.fail(text),
          now: () => NOW * 1000,
        },
      );
      assert.equal(code, 0);
      const csv = path.join(dir, `result-${layout}.csv`);
      await connection.run(
        `COPY (${query.replace(/;\s*$/, "")}) TO '${csv}' (HEADER, DELIMITER ',', QUOTE '"', FORCE_QUOTE *)`,
      );
      const result = await replay("--stack", "prod", "--pods", pods, "--format", "json", "--aggregated", csv);
      assert.equal(result.code, 5, result.stderr);
      const json = JSON.parse(result.stdout) as {
        records: { read: number };
        connections: { port: number }[];
      };
      assert.equal(json.records.read, inWindow.length, "the window's records, none of the day before");
      assert.equal(
        json.connections.some((row) => row.port === 25),
        false,
      );
    });
  }
});
