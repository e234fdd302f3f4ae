/**
 * `npm run bench [-- --skip-tests]`: figures with their targets, never assertions. AWS lookup overlap
 * of the prod program, the analyzer's matrix at cluster scale, the policy pack's start-up and cost
 * per resource, the traffic replay against a bare readline over the same 1,000,000 gzipped records and
 * its start-up, and the wall time of
 * `npm run plan` and `npm test`.
 */
import { runAnalyzerBench } from "../bench/analyzer";
import { runAwsLookupBench } from "../bench/awsLookups";
import { runPolicyPackBench } from "../bench/policyPack";
import { runReplayBench } from "../bench/replay";
import { runToolchainBench } from "../bench/toolchain";

async function main(): Promise<void> {
  const print = (line: string) => console.log(line);
  await runAwsLookupBench(print);
  print("");
  await runAnalyzerBench(print);
  print("");
  await runPolicyPackBench(print);
  print("");
  await runReplayBench(print);
  print("");
  await runToolchainBench(print, { tests: !process.argv.includes("--skip-tests") });
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
