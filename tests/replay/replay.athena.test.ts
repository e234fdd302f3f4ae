/**
 * The Athena aggregation itself, not only its text: the query `--athena-sql` prints runs in DuckDB
 * (the SQL keeps to what Athena and DuckDB share) over a table of generated records with the
 * documented DDL's columns, and its CSV result, replayed with --aggregated, must reach the verdicts,
 * counts and times of the raw-record replay of the same records.
 *
 * DuckDB comes from @duckdb/node-api, a pinned devDependency: its native binary ships in a
 * per-platform optional package, so no install script runs.
 */
import * as assert from "node:assert/strict";
import { DuckDBInstance } from "@duckdb/node-api";
import * as path from "node:path";
import { main as runReplay } from "../../cli/replay";
import { buildPlan } from "../../offline/planReport";
import { replay } from "../support/runReplay";
import {
  CUSTOM_FIELDS,
  customFormatLine,
  kubectlPodList,
  scratchDir,
  stackAddresses,
  writeFile,
  type FlowRecord,
} from "../../bench/syntheticTraffic";

const NOW = 1_780_100_000;

describe("replay: the Athena aggregation run in DuckDB replays to the raw verdicts", function () {
  it("--aggregated of the query's CSV equals the raw replay, connection by connection", async function () {
    const { report } = await buildPlan({ stack: "prod" });
    const places = stackAddresses(report.cidrs, 4);
    const [gateway, api, pay, cron] = places.pods;
    const [relay] = places.elsewhereInVpc(1);
    const pods = kubectlPodList([
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
      {
        namespace: "flash-ticket",
        name: "pay",
        labels: { app: "flash-pay" },
        ip: pay,
        ports: [{ containerPort: 8080 }],
      },
      { namespace: "flash-ticket", name: "cron", labels: {}, ip: cron, ports: [] },
    ]);
    // Every shape the rule distinguishes: SYN, SYN-ACK, flags without SYN, no flags (ports only, both
    // the ephemeral and the listening case), UDP, receiving-ENI copies, records outside the window.
    const records: FlowRecord[] = [];
    const shapes: [string, string, number, number, number, number | undefined, ("ingress" | "egress")?][] = [
      [gateway, api, 40000, 4000, 6, 2],
      [api, gateway, 4000, 40000, 6, 18],
      [gateway, api, 40000, 4000, 6, 0],
      [gateway, api, 3100, 4000, 6, undefined],
      [api, gateway, 4000, 3100, 6, undefined],
      [api, relay, 45000, 587, 6, 2],
      [relay, api, 587, 45000, 6, 19],
      [api, relay, 45000, 587, 6, 2, "ingress"],
      [api, relay, 40100, 50000, 6, 2],
      [relay, api, 50000, 40100, 6, 18],
      [api, places.postgres, 52000, 15432, 6, undefined],
      [places.postgres, api, 15432, 52000, 6, undefined],
      [cron, pay, 55000, 8080, 6, 2],
      [pay, "203.0.113.10", 54000, 443, 6, 2],
      [api, places.redis, 41000, 6379, 17, undefined],
      [places.alb, gateway, 51000, 3000, 6, 2, "ingress"],
    ];
    for (let repeat = 0; repeat < 40; repeat++) {
      for (const [src, dst, srcPort, dstPort, protocol, tcpFlags, flowDirection] of shapes) {
        const start = NOW - 3600 * 30 + repeat * 3600; // the first 6 hours fall before the 24h window
        records.push({
          src,
          dst,
          // A new client port per repeat (kept where the rule needs it), as real connections have.
          srcPort: srcPort >= 40000 && srcPort < 50000 ? srcPort + repeat : srcPort,
          dstPort: dstPort >= 40000 && dstPort < 50000 ? dstPort + repeat : dstPort,
          protocol,
          packets: 1 + repeat,
          bytes: 100 * (1 + repeat),
          start,
          end: start + 59,
          tcpFlags,
          flowDirection,
        });
      }
    }
    const inWindow = records.filter((record) => record.start >= NOW - 86400);
    const dir = scratchDir();
    const podsFile = writeFile(dir, "pods.json", JSON.stringify(pods));
    const rawFile = writeFile(
      dir,
      "window.log.gz",
      `${CUSTOM_FIELDS.join(" ")}\n${inWindow.map(customFormatLine).join("\n")}\n`,
    );

    let query = "";
    const sqlExit = await runReplay(["--stack", "prod", "--athena-sql", "--since", "24h"], {
      out: (text) => (query += text),
      err: (text) => assert.fail(text),
      now: () => NOW * 1000,
    });
    assert.equal(sqlExit, 0);
    const connection = await (await DuckDBInstance.create(":memory:")).connect();
    // The documented DDL's columns (docs/fidelity/replay.md), as DuckDB types.
    await connection.run(`CREATE TABLE vpc_flow_logs (version INTEGER, account_id VARCHAR, interface_id VARCHAR,
      srcaddr VARCHAR, dstaddr VARCHAR, srcport INTEGER, dstport INTEGER, protocol BIGINT, packets BIGINT,
      bytes BIGINT, start BIGINT, "end" BIGINT, action VARCHAR, log_status VARCHAR, vpc_id VARCHAR,
      subnet_id VARCHAR, instance_id VARCHAR, tcp_flags INTEGER, type VARCHAR, pkt_srcaddr VARCHAR,
      pkt_dstaddr VARCHAR, flow_direction VARCHAR, "date" DATE)`);
    const literal = (value: string | number | undefined) =>
      value === undefined ? "NULL" : typeof value === "number" ? String(value) : `'${value}'`;
    const rows = records.map((record) => {
      const values = customFormatLine(record).split(" ");
      const field = (name: (typeof CUSTOM_FIELDS)[number]) => values[CUSTOM_FIELDS.indexOf(name)];
      const numberOrNull = (name: (typeof CUSTOM_FIELDS)[number]) =>
        field(name) === "-" ? undefined : Number(field(name));
      return `(5, '123456789010', 'eni-0', ${literal(field("srcaddr"))}, ${literal(field("dstaddr"))}, ${record.srcPort}, ${record.dstPort},
        ${record.protocol}, ${record.packets}, ${record.bytes}, ${record.start}, ${record.end}, 'ACCEPT', 'OK', 'vpc-0', 'subnet-0',
        'i-0', ${literal(numberOrNull("tcp-flags"))}, 'IPv4', ${literal(field("pkt-srcaddr"))}, ${literal(field("pkt-dstaddr"))},
        ${literal(field("flow-direction"))}, DATE '${new Date(record.start * 1000).toISOString().slice(0, 10)}')`;
    });
    await connection.run(`INSERT INTO vpc_flow_logs VALUES ${rows.join(",\n")}`);
    const csv = path.join(dir, "athena-result.csv");
    await connection.run(
      `COPY (${query.replace(/;\s*$/, "")}) TO '${csv}' (HEADER, DELIMITER ',', QUOTE '"', FORCE_QUOTE *)`,
    );

    const replayAt = async (...args: string[]) => {
      const result = await replay("--stack", "prod", "--pods", podsFile, "--format", "json", ...args);
      assert.ok(result.code === 5, `exit ${result.code}: ${result.stderr}`);
      return JSON.parse(result.stdout) as {
        connections: unknown[];
        summary: unknown;
        window: unknown;
        records: { replies: number; duplicates: number };
      };
    };
    const raw = await replayAt("--flow-logs", rawFile);
    const aggregated = await replayAt("--aggregated", csv);
    assert.equal(
      raw.connections.length,
      7,
      "rows: gateway->api, api->relay 587 and 50000, api->postgres, cron->pay, pay->internet, api->redis UDP",
    );
    assert.deepEqual(aggregated.connections, raw.connections);
    assert.deepEqual(aggregated.summary, raw.summary);
    assert.deepEqual(aggregated.window, raw.window);
    assert.equal(aggregated.records.replies, raw.records.replies);
    assert.equal(aggregated.records.duplicates, raw.records.duplicates);
  });
});
