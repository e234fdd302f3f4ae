/**
 * `npm run bench [-- --skip-tests]`: figures with their targets, never assertions. AWS lookup overlap
 * of the prod program, the analyzer's matrix at cluster scale, the policy pack's start-up and cost
 * per resource, the traffic replay against a bare readline over the same 1,000,000 gzipped records and
 * its start-up, the scale table (plan at 3/10/20/43 services, the analyzer at 20,000 pods), and the wall time of
 * `npm run plan` and `npm test`.
 */
import { Command } from "commander";
import { runAnalyzerBench } from "../bench/analyzer";
import { runAwsLookupBench } from "../bench/awsLookups";
import { runPolicyPackBench } from "../bench/policyPack";
import { runReplayBench } from "../bench/replay";
import { runScaleBench } from "../bench/scale";
import { runToolchainBench } from "../bench/toolchain";
import { parseCommandLine, runAsProcess, type CliIo } from "./io";

export async function main(argv: string[], io: CliIo): Promise<number> {
  const program = new Command()
    .name("npm run bench --")
    .description("Print performance figures beside their targets (never assertions)")
    .option("--skip-tests", "leave out the wall time of npm test (the longest figure)");
  const parseExit = parseCommandLine(program, argv, io);
  if (parseExit !== undefined) return parseExit;
  const { skipTests } = program.opts<{ skipTests?: boolean }>();
  const print = (line: string) => io.out(`${line}\n`);
  await runAwsLookupBench(print);
  print("");
  await runAnalyzerBench(print);
  print("");
  await runPolicyPackBench(print);
  print("");
  await runReplayBench(print);
  print("");
  await runScaleBench(print);
  print("");
  await runToolchainBench(print, { tests: skipTests !== true });
  return 0;
}

if (require.main === module) runAsProcess("bench", main);
