/**
 * Bad replay input exits 2 with a message naming the file, the line and the field, for every reader:
 * pods, both flow-log formats, gzip, agent logs, the Athena CSV and the command's own flags.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { replay } from "../support/runReplay";
import {
  CUSTOM_FIELDS,
  defaultFormatLine,
  kubectlPodList,
  scratchDir,
  writeFile,
} from "../../bench/syntheticTraffic";

const GOOD = defaultFormatLine({
  src: "100.64.0.10",
  dst: "10.30.80.10",
  srcPort: 40000,
  dstPort: 15432,
  protocol: 6,
  packets: 1,
  bytes: 60,
  start: 1_780_000_000,
  end: 1_780_000_059,
});

describe("replay: bad input names file, line and field (exit 2)", function () {
  const dir = scratchDir();
  const pods = writeFile(
    dir,
    "pods.json",
    JSON.stringify(
      kubectlPodList([
        { namespace: "flash-ticket", name: "a", labels: { app: "flash-api" }, ip: "100.64.0.10", ports: [] },
      ]),
      null,
      2,
    ),
  );

  async function expectBadInput(args: string[], ...fragments: (string | RegExp)[]): Promise<void> {
    const result = await replay("--stack", "prod", ...args);
    assert.equal(result.code, 2, `exit code; stderr: ${result.stderr}`);
    for (const fragment of fragments) {
      if (typeof fragment === "string")
        assert.ok(result.stderr.includes(fragment), `"${fragment}" in: ${result.stderr}`);
      else assert.match(result.stderr, fragment);
    }
  }

  const flowLog = (name: string, lines: string[]) => writeFile(dir, name, `${lines.join("\n")}\n`);

  it("a default-format record with a port that is not a number", async () => {
    const file = flowLog("bad-port.log", [GOOD, GOOD, GOOD.replace(" 15432 ", " https ")]);
    await expectBadInput(["--pods", pods, "--flow-logs", file], `${file}:3: field dstport`, '"https"');
  });

  it("a record with too few fields", async () => {
    const file = flowLog("short.log", [GOOD, GOOD.split(" ").slice(0, 12).join(" ")]);
    await expectBadInput(["--pods", pods, "--flow-logs", file], `${file}:2:`, "12 fields, expected 14");
  });

  it("an address that is not one", async () => {
    const file = flowLog("bad-address.log", [GOOD.replace("100.64.0.10", "100.64.0.300")]);
    await expectBadInput(["--pods", pods, "--flow-logs", file], `${file}:1: field srcaddr`, "100.64.0.300");
  });

  it("an unknown log-status and an unknown action", async () => {
    const status = flowLog("bad-status.log", [GOOD.replace(/ OK$/, " MAYBE")]);
    await expectBadInput(["--pods", pods, "--flow-logs", status], `${status}:1: field log-status`);
    const action = flowLog("bad-action.log", [GOOD.replace(" ACCEPT ", " DROP ")]);
    await expectBadInput(["--pods", pods, "--flow-logs", action], `${action}:1: field action`);
  });

  it("a custom-format header without a required field, and a bad tcp-flags value", async () => {
    const header = CUSTOM_FIELDS.filter((field) => field !== "dstport").join(" ");
    const file = flowLog("no-dstport.log", [header]);
    await expectBadInput(
      ["--pods", pods, "--flow-logs", file],
      `${file}:1: field dstport`,
      "header line lacks dstport",
    );
    const flags = writeFile(
      dir,
      "flags.log.gz",
      `srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status tcp-flags\n` +
        `100.64.0.10 10.30.80.10 40000 15432 6 1 60 1780000000 1780000059 ACCEPT OK SYN\n`,
    );
    await expectBadInput(["--pods", pods, "--flow-logs", flags], `${flags}:2: field tcp-flags`, '"SYN"');
  });

  it("a gzip file cut short (its magic bytes say gzip), and a file that does not exist", async () => {
    const cut = path.join(dir, "cut.log.gz");
    const whole = zlib.gzipSync(`${GOOD}\n`.repeat(200));
    fs.writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
    await expectBadInput(["--pods", pods, "--flow-logs", cut], `${cut}:`, "expected a whole gzip file");
    const missing = path.join(dir, "missing.log");
    await expectBadInput(["--pods", pods, "--flow-logs", missing], `${missing}: cannot be read`);
  });

  it("pods: not JSON, and a pod without a name", async () => {
    const broken = writeFile(dir, "broken.json", '{\n  "items": [\n    {,}\n  ]\n}\n');
    await expectBadInput(
      ["--pods", broken, "--flow-logs", flowLog("ok.log", [GOOD])],
      `${broken}:3:`,
      "not JSON",
    );
    const list = kubectlPodList([
      { namespace: "flash-ticket", name: "a", labels: {}, ip: "100.64.0.10", ports: [] },
    ]) as {
      items: { metadata: Record<string, unknown> }[];
    };
    delete list.items[0].metadata.name;
    const nameless = writeFile(dir, "nameless.json", JSON.stringify(list, null, 2));
    await expectBadInput(
      ["--pods", nameless, "--flow-logs", flowLog("ok.log", [GOOD])],
      `${nameless}:8: field items.0.metadata.name`,
    );
  });

  it("agent logs: a Flow Info line in an unknown shape, a bad verdict, a line that is no log line", async () => {
    const odd = writeFile(
      dir,
      "agent-odd.log",
      `${JSON.stringify({ level: "info", ts: "2026-05-28T20:31:00Z", msg: "started" })}\n` +
        `${JSON.stringify({ level: "info", ts: "2026-05-28T20:31:00Z", msg: "Flow Info: from 10.0.0.1 to 10.0.0.2" })}\n`,
    );
    await expectBadInput(["--pods", pods, "--agent-logs", odd], `${odd}:2: field msg`);
    const verdict = writeFile(
      dir,
      "agent-verdict.log",
      "Node: n;SIP: 100.64.0.10;SPORT: 1;DIP: 10.30.80.10;DPORT: 15432;PROTOCOL: TCP;PolicyVerdict: MAYBE\n",
    );
    await expectBadInput(["--pods", pods, "--agent-logs", verdict], `${verdict}:1: field Verdict`);
    const prose = writeFile(dir, "agent-prose.log", "hello\n");
    await expectBadInput(["--pods", pods, "--agent-logs", prose], `${prose}:1:`, "expected a JSON line");
  });

  it("an Athena CSV without a column, and with a bad initiator", async () => {
    const header =
      "src,dst,srcport,dstport,protocol,initiator,flow_direction,src_may_be_eni,dst_may_be_eni,records,flagged,packets,bytes,first_seen,last_seen";
    const noColumn = writeFile(dir, "no-column.csv", `${header.replace(",flagged", "")}\n`);
    await expectBadInput(["--pods", pods, "--aggregated", noColumn], `${noColumn}:1: field flagged`);
    const initiator = writeFile(
      dir,
      "initiator.csv",
      `${header}\n"100.64.0.10","10.30.80.10","0","15432","6","client","egress","0","0","1","1","1","60","1780000000","1780000059"\n`,
    );
    await expectBadInput(
      ["--pods", pods, "--aggregated", initiator],
      `${initiator}:2: field initiator`,
      '"client"',
    );
  });

  it("the command's own flags: an unknown candidate flag, a rollout config refuses, a bad --since, no input", async () => {
    const log = flowLog("ok.log", [GOOD]);
    await expectBadInput(
      ["--pods", pods, "--flow-logs", log, "--candidate", "flash-api.egres=enforce"],
      'unknown flag "flash-api.egres"',
    );
    await expectBadInput(
      ["--pods", pods, "--flow-logs", log, "--candidate", "defaultDeny=enforce,flash-api.egress=off"],
      "rollout.services.flash-api.egress",
    );
    await expectBadInput(["--athena-sql", "--since", "yesterday"], '--since "yesterday"');
    await expectBadInput(["--pods", pods], "nothing to replay");
  });
});
