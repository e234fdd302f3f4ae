/**
 * `npm run replay -- --stack prod --pods PODS.json --flow-logs FILE... [--agent-logs FILE...]
 *  [--aggregated FILE] [--candidate next|target|FLAG=off|enforce,...] [--format text|json|markdown]`
 * `npm run replay -- --stack prod --athena-sql [--since 24h] [--table vpc_flow_logs] [--athena-partitions date|projection|hive]`
 *
 * Shadow mode for a CNI that has none: replays traffic actually observed (VPC Flow Logs, the network
 * policy agent's verdict logs, or Athena's aggregation of them) against the stack's current rollout
 * and a candidate, with our analyzer on the manifests the program renders for each.
 *
 * Exit codes (docs/replay.md): 0 the candidate blocks nothing the current stage allows; 1 the program
 * failed; 2 bad input (the message names the file, line and field) or usage; 3 the candidate would
 * block a connection the flow table intends; 4 records name a node or ENI address that stands for pods
 * (default format: no pkt-srcaddr/pkt-dstaddr); 5 it would block only connections outside the table
 * (review them); 6 no records (no evidence is no proof).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Command, Option } from "commander";
import { parseCommandLine, runAsProcess, type CliIo } from "./io";
import type { RecordCounts } from "../replay/connections";
import { FlowGroupCollector } from "../replay/flowGroups";
import type { ReplayResult } from "../replay/formats";
import { ReplayInputError } from "../replay/inputError";

// Only what reading the inputs needs is loaded up front: the program's plan (Pulumi, the analyzer)
// is imported once there is evidence to judge, so an empty export is answered in well under 2 s.
const PROJECT_ROOT = path.resolve(__dirname, "..");
const DEFAULT_ATHENA_TABLE = "vpc_flow_logs";

export const REPLAY_EXIT = {
  ok: 0,
  programFailed: 1,
  badInput: 2,
  blocksIntended: 3,
  unattributable: 4,
  blocksUnintended: 5,
  noRecords: 6,
} as const;

/** The custom format docs/replay.md asks for: pkt-srcaddr/pkt-dstaddr name pods behind their node's ENI. */
export const CUSTOM_LOG_FORMAT =
  "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${vpc-id} ${subnet-id} ${instance-id} ${tcp-flags} ${type} ${pkt-srcaddr} ${pkt-dstaddr} ${flow-direction}";

function describeNoRecords(counts: RecordCounts): string {
  return (
    `no records: the inputs hold no accepted flow-log record of a judged protocol, agent verdict line or aggregated row ` +
    `(${counts.read} record(s) read: ${counts.skipped} NODATA/SKIPDATA, ${counts.rejected} REJECT, ` +
    `${counts.unknownProtocol} of a protocol NetworkPolicy does not judge, ${counts.noPorts} with "-" ports); ` +
    `no evidence is no proof: check the export's window and prefix (docs/replay.md, "Export a day")`
  );
}

function describeUnattributable(
  counts: RecordCounts,
  addresses: ReadonlyMap<string, readonly string[]>,
): string {
  const examples = [...addresses.entries()]
    .slice(0, 5)
    .map(([ip, pods]) =>
      pods.length > 0
        ? `${ip} (the node of ${pods.slice(0, 3).join(", ")}${pods.length > 3 ? ", ..." : ""})`
        : `${ip} (no pod or node of the snapshot: possibly another ENI's primary address)`,
    );
  return (
    `${counts.unattributable} record(s) name an address that stands for pods behind it: ${examples.join("; ")}. ` +
    `Without pkt-srcaddr/pkt-dstaddr, srcaddr of outgoing and dstaddr of incoming traffic is the ENI's primary ` +
    `address (AWS "Flow log records"), so pods on secondary addresses show as their node and their connections ` +
    `cannot be judged. Create a flow log with the packet addresses, then replay its records:\n` +
    `  aws ec2 create-flow-logs --resource-type VPC --resource-ids <vpc-id> --traffic-type ALL ` +
    `--log-destination-type s3 --log-destination arn:aws:s3:::<bucket>/flow-logs/ --max-aggregation-interval 60 ` +
    `--log-format '${CUSTOM_LOG_FORMAT}'`
  );
}

const FORMATS = ["text", "json", "markdown"] as const;

export interface ReplayIo extends CliIo {
  /** Milliseconds since the epoch; the window of --athena-sql ends here. */
  readonly now?: () => number;
}

interface ReplayOptions {
  stack: string;
  pods?: string;
  flowLogs?: string[];
  agentLogs?: string[];
  aggregated?: string;
  candidate: string;
  format: (typeof FORMATS)[number];
  fixture?: string;
  athenaSql?: boolean;
  since: string;
  table: string;
  athenaPartitions: "date" | "projection" | "hive";
}

function command(): Command {
  return new Command()
    .name("npm run replay --")
    .description("Replay observed traffic against the next rollout stage (shadow mode for the EKS VPC CNI)")
    .requiredOption(
      "--stack <name>",
      "stack; reads Pulumi.<name>.yaml and fixtures/aws/<name>.json, as npm run plan",
    )
    .option("--pods <file>", "kubectl get pods -A -o json")
    .option(
      "--flow-logs <files...>",
      "VPC Flow Logs: default format, or a custom format with its header lines; text (plain or gzip) or Parquet",
    )
    .option(
      "--agent-logs <files...>",
      "network policy agent logs (network-policy-agent.log, or CloudWatch messages)",
    )
    .option("--aggregated <file>", "CSV result of the --athena-sql query")
    .option(
      "--candidate <spec>",
      "next, target, or flags such as flash-api.egress=enforce,defaultDeny=enforce",
      "next",
    )
    .addOption(new Option("--format <format>", "output format").choices(FORMATS).default("text"))
    .option("--fixture <file>", "AWS fixture to answer lookups from (default fixtures/aws/<stack>.json)")
    .option("--athena-sql", "print the Athena query that aggregates the window server-side, and exit")
    .option("--since <duration>", "window of --athena-sql: 24h, 90m, 7d", "24h")
    .option("--table <name>", "Athena table of the flow logs (DDL in docs/replay.md)", DEFAULT_ATHENA_TABLE)
    .addOption(
      new Option(
        "--athena-partitions <layout>",
        "how the Athena table is partitioned: date (ADD PARTITION per day), projection (partition projection, day yyyy/MM/dd), hive (Hive-compatible S3 prefixes)",
      )
        .choices(["date", "projection", "hive"])
        .default("date"),
    );
}

export async function main(argv: readonly string[], io: ReplayIo): Promise<number> {
  const program = command();
  // Help exits 0 (REPLAY_EXIT.ok); a usage problem exits REPLAY_EXIT.badInput.
  const parseExit = parseCommandLine(program, argv, io, REPLAY_EXIT.badInput);
  if (parseExit !== undefined) return parseExit;
  const options = program.opts<ReplayOptions>();
  const usage = (problem: string): number => {
    io.err(`replay: ${problem}\n`);
    return REPLAY_EXIT.badInput;
  };
  const stackFile = path.join(PROJECT_ROOT, `Pulumi.${options.stack}.yaml`);
  if (!fs.existsSync(stackFile))
    return usage(
      `no stack file Pulumi.${options.stack}.yaml; expected Pulumi.<stack>.yaml at the project root (dev, prod)`,
    );
  if (options.athenaSql === true) {
    const { athenaSql, parseDuration } = await import("../replay/athena");
    const sinceSeconds = parseDuration(options.since);
    if (sinceSeconds === undefined)
      return usage(`--since "${options.since}"; expected a duration such as 24h, 90m or 7d`);
    if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(options.table))
      return usage(
        `--table "${options.table}"; expected a table name such as vpc_flow_logs or db.vpc_flow_logs`,
      );
    io.out(
      athenaSql({
        table: options.table,
        sinceSeconds,
        nowSeconds: (io.now ?? Date.now)() / 1000,
        partitions: options.athenaPartitions,
      }),
    );
    return REPLAY_EXIT.ok;
  }
  if (options.pods === undefined) return usage("--pods FILE is required (kubectl get pods -A -o json)");
  if (options.flowLogs === undefined && options.agentLogs === undefined && options.aggregated === undefined)
    return usage("nothing to replay: give --flow-logs FILE..., --agent-logs FILE... or --aggregated FILE");

  const collector = new FlowGroupCollector();
  // The plan is built while the records are read (gunzip runs on libuv's threads meanwhile), but only
  // once there is evidence: an empty export never pays for it.
  let plan: Promise<PlanResult> | undefined;
  collector.onFirstEvidence = () => {
    plan = buildStackPlan(options, stackFile);
    plan.catch(() => undefined);
  };
  try {
    const { replayFlowLogFile } = await import("../replay/flowLogRecords");
    for (const file of options.flowLogs ?? []) await replayFlowLogFile(file, collector);
    if (options.agentLogs !== undefined) {
      const { replayAgentLogFile } = await import("../replay/agentLogs");
      for (const file of options.agentLogs) await replayAgentLogFile(file, collector);
    }
    if (options.aggregated !== undefined) {
      const { replayAggregatedCsv } = await import("../replay/athena");
      await replayAggregatedCsv(options.aggregated, collector);
    }
  } catch (error) {
    if (error instanceof ReplayInputError) return usage(error.message);
    throw error;
  }
  if (collector.evidence === 0) {
    io.err(`replay: ${describeNoRecords(collector.counts)}\n`);
    return REPLAY_EXIT.noRecords;
  }
  return judge(options, stackFile, collector, io, plan ?? buildStackPlan(options, stackFile));
}

type PlanResult = Awaited<ReturnType<(typeof import("../offline/planReport"))["buildPlan"]>>;

async function buildStackPlan(options: ReplayOptions, stackFile: string): Promise<PlanResult> {
  const { buildPlan } = await import("../offline/planReport");
  return buildPlan({ stack: options.stack, stackFile, fixture: options.fixture });
}

async function judge(
  options: ReplayOptions,
  stackFile: string,
  collector: FlowGroupCollector,
  io: ReplayIo,
  plan: Promise<PlanResult>,
): Promise<number> {
  const { CONFIG_NAMESPACE } = await import("../core/config");
  const { PlanFailure, buildPlan } = await import("../offline/planReport");
  const { resolveCandidate } = await import("../replay/candidate");
  const { ConnectionAggregator } = await import("../replay/connections");
  const { renderReplayMarkdown, renderReplayText, replayJson } = await import("../replay/formats");
  const { Places } = await import("../replay/places");
  const { readPodIndex } = await import("../replay/podIndex");
  const { judgeConnections, summarize, unattributedAddresses } = await import("../replay/verdicts");
  try {
    const { report, config } = await plan;
    const candidate = resolveCandidate(options.candidate, config.rollout);
    if (!candidate.ok) {
      io.err(`replay: ${candidate.problem}\n`);
      return REPLAY_EXIT.badInput;
    }
    let candidateManifests = report.manifests;
    if (JSON.stringify(candidate.rollout) !== JSON.stringify(config.rollout)) {
      const rendered = await buildPlan({
        stack: options.stack,
        stackFile,
        fixture: options.fixture,
        configOverrides: { [`${CONFIG_NAMESPACE}:rollout`]: candidate.rollout },
      });
      candidateManifests = rendered.report.manifests;
    }
    const places = new Places(config, report.cidrs, readPodIndex(options.pods as string));
    const aggregator = new ConnectionAggregator(places, collector.counts);
    for (const group of collector.groups.values()) aggregator.add(group);

    const connections = [...aggregator.connections.values()];
    const rows = judgeConnections(connections, places, report.manifests, candidateManifests);
    const unattributed = unattributedAddresses(connections, places);
    const result: ReplayResult = {
      stack: options.stack,
      currentRollout: config.rollout,
      candidateRollout: candidate.rollout,
      candidateDescription: candidate.description,
      window: { start: collector.windowStart, end: collector.windowEnd },
      records: collector.counts,
      connections: rows,
      unattributed,
      summary: summarize(rows, unattributed),
    };
    if (options.format === "json") io.out(`${JSON.stringify(replayJson(result), null, 2)}\n`);
    else if (options.format === "markdown") io.out(renderReplayMarkdown(result));
    else io.out(renderReplayText(result));
    if (result.summary.newlyBlockedIntended > 0) return REPLAY_EXIT.blocksIntended;
    // Never a verdict of 0 or 5 over traffic that could not be attributed: the report covers only the rest.
    if (collector.counts.unattributable > 0) {
      io.err(`replay: ${describeUnattributable(collector.counts, aggregator.unattributableAddresses)}\n`);
      return REPLAY_EXIT.unattributable;
    }
    if (result.summary.newlyBlockedUnintended > 0) return REPLAY_EXIT.blocksUnintended;
    return REPLAY_EXIT.ok;
  } catch (error) {
    if (error instanceof ReplayInputError) {
      io.err(`replay: ${error.message}\n`);
      return REPLAY_EXIT.badInput;
    }
    if (error instanceof PlanFailure) {
      io.err(`replay: the program failed: ${error.message}\n`);
      return REPLAY_EXIT.programFailed;
    }
    throw error;
  }
}

if (require.main === module) runAsProcess("replay", main);
