/**
 * `npm run plan -- --stack dev|prod [--format summary|yaml|json]`: the offline plan of a stack.
 * Runs the real program under Pulumi's mock runtime with the stack's config and recorded AWS answers.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Command, Option } from "commander";
import { PROJECT_ROOT } from "../offline/runProgram";
import { planJson, renderSummary, renderYaml } from "../offline/planFormats";
import { buildPlan } from "../offline/planReport";

const FORMATS = ["summary", "yaml", "json"] as const;

async function main(argv: string[]): Promise<number> {
  const program = new Command()
    .name("npm run plan --")
    .description("Offline plan of a stack: the NetworkPolicies `pulumi up` would apply, from recorded AWS answers")
    .requiredOption("--stack <name>", "stack to plan; reads Pulumi.<name>.yaml and fixtures/aws/<name>.json")
    .addOption(new Option("--format <format>", "output format").choices(FORMATS).default("summary"))
    .option("--fixture <file>", "AWS fixture to answer lookups from (default fixtures/aws/<stack>.json)")
    .exitOverride();
  try {
    program.parse(argv, { from: "user" });
  } catch {
    return 2;
  }
  const options = program.opts<{ stack: string; format: (typeof FORMATS)[number]; fixture?: string }>();
  const stackFile = path.join(PROJECT_ROOT, `Pulumi.${options.stack}.yaml`);
  if (!fs.existsSync(stackFile)) {
    console.error(`plan: no stack file ${path.relative(process.cwd(), stackFile)}; expected Pulumi.<stack>.yaml at the project root (dev, prod)`);
    return 2;
  }
  const { report } = await buildPlan({ stack: options.stack, stackFile, fixture: options.fixture });
  if (options.format === "yaml") process.stdout.write(renderYaml(report));
  else if (options.format === "json") process.stdout.write(JSON.stringify(planJson(report), null, 2) + "\n");
  else process.stdout.write(renderSummary(report));
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`plan: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
