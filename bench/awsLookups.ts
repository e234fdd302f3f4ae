/** How the prod program's AWS lookups overlap: each answer delayed, the wall time against the longest chain. */
import { runStack } from "../offline/runProgram";

const AWS_ANSWER_DELAY_MS = 50;
/** ElastiCache: replication group -> member cluster -> cache subnet group -> subnets. */
const LONGEST_LOOKUP_CHAIN = 4;

export async function runAwsLookupBench(print: (line: string) => void): Promise<void> {
  // The first run loads and compiles the program; time the second, as a preview's lookups would run.
  await runStack({ stack: "prod" });
  const run = await runStack({ stack: "prod", awsDelayMs: AWS_ANSWER_DELAY_MS });
  if (run.error) throw run.error;
  const first = Math.min(...run.awsCalls.map((call) => call.startedMs));
  const last = Math.max(...run.awsCalls.map((call) => call.endedMs));
  const sequential = run.awsCalls.reduce((sum, call) => sum + (call.endedMs - call.startedMs), 0);
  const target = (LONGEST_LOOKUP_CHAIN + 1) * AWS_ANSWER_DELAY_MS;
  print(`AWS lookups of the prod program, every answer after ${AWS_ANSWER_DELAY_MS} ms:`);
  print(`  lookups: ${run.awsCalls.length} (one per distinct AWS object)`);
  print(`  wall time, first call to last answer: ${(last - first).toFixed(0)} ms`);
  print(`  sum of the lookups if run one after another: ${sequential.toFixed(0)} ms`);
  print(
    `  target: under ${target} ms (${LONGEST_LOOKUP_CHAIN + 1} x ${AWS_ANSWER_DELAY_MS} ms; the longest chain is ${LONGEST_LOOKUP_CHAIN} deep): ` +
      `${last - first < target ? "met" : "NOT met"}`,
  );
}
