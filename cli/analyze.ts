// Prints one verdict per probe of a scenario file (format: tests/fixtures/netpol-cases/README.md).
import { Command, CommanderError, Option } from "commander";
import { PolicyAnalyzer, ScenarioError, loadScenarioFile } from "../analyzer";
import { EksEnforcer, type EnforcingMode } from "../analyzer/eks";
import { runAsProcess, type CliIo } from "./io";

const EXIT_BAD_INPUT = 2;

interface AnalyzeOptions {
  enforcer: "upstream" | "eks-vpc-cni";
  mode: EnforcingMode;
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
    .description("Evaluate the probes of a NetworkPolicy scenario and print the verdicts as JSON")
    .argument("<scenario>", "scenario JSON file")
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
    .action((file: string, options: AnalyzeOptions) => analyzeFile(file, options, io));
  try {
    program.parse(argv, { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof ScenarioError) {
      io.err(`analyze: ${error.message}\n`);
      return EXIT_BAD_INPUT;
    }
    // Commander already printed the usage problem; help/version exit cleanly.
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : EXIT_BAD_INPUT;
    throw error;
  }
}

if (require.main === module) runAsProcess("analyze", main);
