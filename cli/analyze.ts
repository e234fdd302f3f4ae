// Two inputs: Kubernetes manifests (a folder, a file or "-" for stdin), printed as a workload
// connlist (docs/analyzer.md); or a scenario file (tests/fixtures/netpol-cases/README.md), printed as one
// verdict per probe. A scenario is a JSON file without "kind", given without --format.
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { Command, CommanderError, Option } from "commander";
import { PolicyAnalyzer, ScenarioError, loadScenarioFile } from "../analyzer";
import { EksEnforcer, type EnforcingMode } from "../analyzer/eks";
import {
  CONNLIST_FORMATS,
  ManifestError,
  STDIN_NAME,
  computeConnlist,
  formatConnlist,
  readManifests,
  type ConnlistFormat,
} from "../analyzer/manifests";
import { runAsProcess, type CliIo } from "./io";

const EXIT_BAD_INPUT = 2;

interface AnalyzeOptions {
  enforcer: "upstream" | "eks-vpc-cni";
  mode: EnforcingMode;
  format?: ConnlistFormat;
}

/** Today's scenario files stay readable by the old invocation: a `.json` file that is no Kubernetes object. */
function isScenarioInvocation(target: string, options: AnalyzeOptions): boolean {
  if (
    options.format !== undefined ||
    target === STDIN_NAME ||
    path.extname(target).toLowerCase() !== ".json"
  ) {
    return false;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(target, "utf8"));
  } catch {
    return true; // unreadable or invalid JSON: the scenario reader names the problem as it always has
  }
  return typeof parsed !== "object" || parsed === null || !("kind" in parsed);
}

function analyzeManifests(target: string, options: AnalyzeOptions, io: CliIo): void {
  const manifests = readManifests(target, () => readFileSync(0, "utf8"));
  const enforcer =
    options.enforcer === "upstream"
      ? ({ kind: "upstream" } as const)
      : ({ kind: "eks-vpc-cni", mode: options.mode } as const);
  io.out(formatConnlist(computeConnlist(manifests, enforcer), options.format ?? "connlist"));
  const ignored = Object.entries(manifests.ignored);
  if (ignored.length > 0) {
    io.err(
      `analyze: ignored ${ignored.map(([kind, count]) => `${count} ${kind}`).join(", ")} (kinds the analyzer does not evaluate)\n`,
    );
  }
}

function analyzeFile(file: string, options: AnalyzeOptions, io: CliIo): void {
  const scenario = loadScenarioFile(file);
  // A scenario lists no Services and no nodes: the EKS model then resolves pods and ipBlocks only.
  const analyzer =
    options.enforcer === "upstream"
      ? new PolicyAnalyzer(scenario.cluster)
      : new EksEnforcer(scenario.cluster, { mode: options.mode });
  const verdicts = scenario.document.probes.map((written, index) => ({
    from: written.from,
    to: written.to,
    port: written.port,
    protocol: written.protocol,
    allowed: analyzer.isAllowed(scenario.probes[index]),
  }));
  io.out(`${JSON.stringify(verdicts, null, 2)}\n`);
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  const program = new Command()
    .name("analyze")
    .description(
      "Print who may talk to whom from Kubernetes manifests (a folder, a file or - for stdin), " +
        "or evaluate the probes of a NetworkPolicy scenario JSON file",
    )
    .argument("<input>", "manifest folder, manifest file, - (stdin), or scenario JSON file")
    .addOption(
      new Option("--format <format>", "connlist output format (manifests)").choices(CONNLIST_FORMATS),
    )
    .addOption(
      new Option("--enforcer <enforcer>", "upstream Kubernetes semantics, or the EKS VPC CNI agent model")
        .choices(["upstream", "eks-vpc-cni"])
        .default("upstream"),
    )
    .addOption(
      new Option("--mode <mode>", "the EKS agent's enforcing mode (eks-vpc-cni only)")
        .choices(["standard", "strict"])
        .default("standard"),
    )
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.out(text), writeErr: (text) => io.err(text) })
    .action((target: string, options: AnalyzeOptions) =>
      isScenarioInvocation(target, options)
        ? analyzeFile(target, options, io)
        : analyzeManifests(target, options, io),
    );
  try {
    program.parse(argv, { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof ScenarioError || error instanceof ManifestError) {
      io.err(`analyze: ${error.message}\n`);
      return EXIT_BAD_INPUT;
    }
    // Commander already printed the usage problem; help/version exit cleanly.
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : EXIT_BAD_INPUT;
    throw error;
  }
}

if (require.main === module) runAsProcess("analyze", main);
