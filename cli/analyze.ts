// Prints one verdict per probe of a scenario file (format: shared/netpol-cases/README.md).
import { Command, CommanderError, Option } from "commander";
import { PolicyAnalyzer, ScenarioError, loadScenarioFile } from "../analyzer";
import { EksEnforcer, type EnforcingMode } from "../analyzer/eks";

const EXIT_BAD_INPUT = 2;

interface AnalyzeOptions {
  enforcer: "upstream" | "eks-vpc-cni";
  mode: EnforcingMode;
}

function analyzeFile(file: string, options: AnalyzeOptions): void {
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
  process.stdout.write(`${JSON.stringify(verdicts, null, 2)}\n`);
}

function main(argv: readonly string[]): void {
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
    .action((file: string, options: AnalyzeOptions) => analyzeFile(file, options));
  try {
    program.parse(argv);
  } catch (error) {
    if (error instanceof ScenarioError) {
      process.stderr.write(`analyze: ${error.message}\n`);
      process.exitCode = EXIT_BAD_INPUT;
    } else if (error instanceof CommanderError) {
      // Commander already printed the usage problem; help/version exit cleanly.
      process.exitCode = error.exitCode === 0 ? 0 : EXIT_BAD_INPUT;
    } else {
      throw error;
    }
  }
}

main(process.argv);
