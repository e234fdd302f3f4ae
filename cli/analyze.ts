// Prints one verdict per probe of a scenario file (format: shared/netpol-cases/README.md).
import { Command, CommanderError } from "commander";
import { PolicyAnalyzer, ScenarioError, loadScenarioFile } from "../analyzer";
import { runAsProcess, type CliIo } from "./io";

const EXIT_BAD_INPUT = 2;

function analyzeFile(file: string, io: CliIo): void {
  const scenario = loadScenarioFile(file);
  const analyzer = new PolicyAnalyzer(scenario.cluster);
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
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.out(text), writeErr: (text) => io.err(text) })
    .action((file: string) => analyzeFile(file, io));
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
