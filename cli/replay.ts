/**
 * `npm run replay -- --stack prod --pods PODS.json --flow-logs FILE... [--agent-logs FILE...]
 *  [--aggregated FILE] [--candidate next|target|FLAG=off|enforce,...] [--format text|json|markdown]`
 * `npm run replay -- --stack prod --athena-sql [--since 24h] [--table vpc_flow_logs]`
 *
 * Shadow mode for a CNI that has none: replays traffic actually observed (VPC Flow Logs, the network
 * policy agent's verdict logs, or Athena's aggregation of them) against the stack's current rollout
 * and a candidate, with our analyzer on the manifests the program renders for each.
 *
 * Exit codes: 0 the candidate blocks nothing the current stage allows; 1 the program failed;
 * 2 bad input (the message names the file, line and field) or usage; 3 the candidate would block a
 * connection the flow table intends; 5 it would block only connections outside the table (review them).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Command, CommanderError, Option } from "commander";
import { runAsProcess, type CliIo } from "./io";
import { CONFIG_NAMESPACE } from "../components/config";
import { PlanFailure, buildPlan } from "../offline/planReport";
import { PROJECT_ROOT } from "../offline/stackConfig";
import { DEFAULT_ATHENA_TABLE, athenaSql, parseDuration, replayAggregatedCsv } from "../replay/athena";
import { replayAgentLogFile } from "../replay/agentLogs";
import { resolveCandidate, serviceOrderOf } from "../replay/candidate";
import { ConnectionAggregator } from "../replay/connections";
import { replayFlowLogFile } from "../replay/flowLogRecords";
import { renderReplayMarkdown, renderReplayText, replayJson, type ReplayResult } from "../replay/formats";
import { ReplayInputError } from "../replay/inputError";
import { Places } from "../replay/places";
import { readPodIndex } from "../replay/podIndex";
import { judgeConnections, summarize, unattributedAddresses } from "../replay/verdicts";

export const REPLAY_EXIT = {
  ok: 0,
  programFailed: 1,
  badInput: 2,
  blocksIntended: 3,
  blocksUnintended: 5,
} as const;

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
}

function command(io: ReplayIo): Command {
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
      "VPC Flow Logs: default format, or a custom format with its header line; plain or .gz",
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
    .option(
      "--table <name>",
      "Athena table of the flow logs (DDL in docs/fidelity/replay.md)",
      DEFAULT_ATHENA_TABLE,
    )
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.out(text), writeErr: (text) => io.err(text) });
}

export async function main(argv: readonly string[], io: ReplayIo): Promise<number> {
  const program = command(io);
  try {
    program.parse([...argv], { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError && error.exitCode === 0) return REPLAY_EXIT.ok;
    return REPLAY_EXIT.badInput;
  }
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
    const sinceSeconds = parseDuration(options.since);
    if (sinceSeconds === undefined)
      return usage(`--since "${options.since}"; expected a duration such as 24h, 90m or 7d`);
    if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(options.table))
      return usage(
        `--table "${options.table}"; expected a table name such as vpc_flow_logs or db.vpc_flow_logs`,
      );
    io.out(athenaSql({ table: options.table, sinceSeconds, nowSeconds: (io.now ?? Date.now)() / 1000 }));
    return REPLAY_EXIT.ok;
  }
  if (options.pods === undefined) return usage("--pods FILE is required (kubectl get pods -A -o json)");
  if (options.flowLogs === undefined && options.agentLogs === undefined && options.aggregated === undefined)
    return usage("nothing to replay: give --flow-logs FILE..., --agent-logs FILE... or --aggregated FILE");

  try {
    const { report, config, run } = await buildPlan({
      stack: options.stack,
      stackFile,
      fixture: options.fixture,
    });
    const candidate = resolveCandidate(options.candidate, config.rollout, serviceOrderOf(run.config));
    if (!candidate.ok) return usage(candidate.problem);
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
    const places = new Places(config, report.cidrs, readPodIndex(options.pods));
    const aggregator = new ConnectionAggregator(places);
    for (const file of options.flowLogs ?? []) await replayFlowLogFile(file, aggregator);
    for (const file of options.agentLogs ?? []) await replayAgentLogFile(file, aggregator);
    if (options.aggregated !== undefined) await replayAggregatedCsv(options.aggregated, aggregator);

    const connections = [...aggregator.connections.values()];
    const rows = judgeConnections(connections, places, report.manifests, candidateManifests);
    const unattributed = unattributedAddresses(connections, places);
    const result: ReplayResult = {
      stack: options.stack,
      currentRollout: config.rollout,
      candidateRollout: candidate.rollout,
      candidateDescription: candidate.description,
      window: { start: aggregator.windowStart, end: aggregator.windowEnd },
      records: aggregator.counts,
      connections: rows,
      unattributed,
      summary: summarize(rows, unattributed),
    };
    if (options.format === "json") io.out(`${JSON.stringify(replayJson(result), null, 2)}\n`);
    else if (options.format === "markdown") io.out(renderReplayMarkdown(result));
    else io.out(renderReplayText(result));
    if (result.summary.newlyBlockedIntended > 0) return REPLAY_EXIT.blocksIntended;
    if (result.summary.newlyBlockedUnintended > 0) return REPLAY_EXIT.blocksUnintended;
    return REPLAY_EXIT.ok;
  } catch (error) {
    if (error instanceof ReplayInputError) return usage(error.message);
    if (error instanceof PlanFailure) {
      io.err(`replay: the program failed: ${error.message}\n`);
      return REPLAY_EXIT.programFailed;
    }
    throw error;
  }
}

if (require.main === module) runAsProcess("replay", main);
