// Prints one verdict per probe of a scenario file (format: shared/netpol-cases/README.md).
import { Command, CommanderError } from "commander";
import { PolicyAnalyzer, ScenarioError, loadScenarioFile } from "../analyzer";

const EXIT_BAD_INPUT = 2;

function analyzeFile(file: string): void {
  const scenario = loadScenarioFile(file);
  const analyzer = new PolicyAnalyzer(scenario.cluster);
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
    .exitOverride()
    .action((file: string) => analyzeFile(file));
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
