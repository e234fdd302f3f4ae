/**
 * `npm run plan -- --stack STACK [--config-file FILE] [--format summary|yaml|json|mermaid|markdown] [--explain FROM TO PORT]`:
 * the offline plan of a stack. Runs the real program under Pulumi's mock runtime with the stack's
 * config and recorded AWS answers, then proves its connectivity against the flow table.
 *
 * Exit codes: 0 plan rendered; 1 the program failed; 2 bad usage (unknown stack, endpoint or port);
 * 3 an intended flow is blocked at the stack's current stage (an outage `pulumi up` would cause);
 * 4 the policy pack reports a violation that is mandatory under the stack's pack config.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Command, Option } from "commander";
import { parseCommandLine, runAsProcess, type CliIo } from "./io";
import { PROJECT_ROOT, readStackConfig } from "../offline/stackConfig";
import { StackConfigError } from "../offline/stackConfig";
import { listStacks } from "../offline/stacks";
import { renderReadmeTables } from "../offline/readmeTables";
import { explainConnection, planConnectivity } from "../offline/planConnectivity";
import {
  planJson,
  renderExplanation,
  renderMermaid,
  renderSummary,
  renderYaml,
} from "../offline/planFormats";
import { PlanFailure, buildPlan } from "../offline/planReport";
import { EksClusterReadError } from "../offline/eksClusterState";
import { ENFORCERS, describeOutage, type EnforcerName } from "../analyzer/flash";
import { mandatoryVerdicts, type PolicyVerdict } from "../offline/policyHarness";
import {
  packConfigFileFor,
  planPolicyVerdicts,
  renderPolicyVerdicts,
  startPlanPolicyHarness,
} from "../offline/planPolicyVerdicts";

const FORMATS = ["summary", "yaml", "json", "mermaid", "markdown"] as const;
const EXIT_OUTAGE = 3;
const EXIT_MANDATORY_VIOLATION = 4;

export async function main(argv: string[], io: CliIo): Promise<number> {
  const errLine = (text: string) => io.err(`${text}\n`);
  const program = new Command()
    .name("npm run plan --")
    .description(
      "Offline plan of a stack: the NetworkPolicies `pulumi up` would apply, from recorded AWS answers",
    )
    .requiredOption("--stack <name>", "stack to plan; reads Pulumi.<name>.yaml and fixtures/aws/<name>.json")
    .option(
      "--config-file <file>",
      "the stack's config file instead of Pulumi.<stack>.yaml (as pulumi --config-file); project config still comes from Pulumi.yaml",
    )
    .addOption(new Option("--format <format>", "output format").choices(FORMATS).default("summary"))
    .option("--fixture <file>", "AWS fixture to answer lookups from (default fixtures/aws/<stack>.json)")
    .option(
      "--k8s-fixture <file>",
      "recorded kubectl answers for the program's reads, the namespace first (default fixtures/k8s/<stack>.json)",
    )
    .option(
      "--policy-pack-config <file>",
      "pack config for the policy verdicts (default policies/config/<stack>.json, as for pulumi preview)",
    )
    .option("--no-policy-pack", "skip the policy pack (faster; no verdicts, no exit 4)")
    .addOption(
      new Option(
        "--enforcer <enforcer>",
        "whose semantics the proofs and the matrix follow: upstream Kubernetes, the EKS VPC CNI agent, or both (the matrix then follows upstream and the differences are listed)",
      )
        .choices(["upstream", "eks-vpc-cni", "both"])
        .default("both"),
    )
    .option(
      "--explain <from-to-port...>",
      "FROM TO PORT[/UDP]: which policy rule allows the connection at the current stage, or what denies it (names as in the JSON matrix)",
    );
  const parseExit = parseCommandLine(program, argv, io);
  if (parseExit !== undefined) return parseExit;
  const options = program.opts<{
    stack: string;
    configFile?: string;
    format: (typeof FORMATS)[number];
    fixture?: string;
    k8sFixture?: string;
    explain?: string[];
    policyPackConfig?: string;
    policyPack: boolean;
    enforcer: EnforcerName | "both";
  }>();
  if (options.explain !== undefined && options.explain.length !== 3) {
    errLine(
      `plan: --explain takes FROM TO PORT (e.g. flash-ticket/flash-gateway flash-ticket/flash-api 4000)`,
    );
    return 2;
  }
  const stackFile = options.configFile ?? path.join(PROJECT_ROOT, `Pulumi.${options.stack}.yaml`);
  if (!fs.existsSync(stackFile)) {
    errLine(
      options.configFile === undefined
        ? `plan: no stack file ${path.relative(process.cwd(), stackFile)}; expected Pulumi.<stack>.yaml at the project root (stacks: ${listStacks().join(", ")}); docs/extending.md shows how to add one`
        : `plan: --config-file ${stackFile}: no such file`,
    );
    return 2;
  }
  let stackConfig: Record<string, string>;
  try {
    stackConfig = readStackConfig(stackFile);
  } catch (error) {
    if (!(error instanceof StackConfigError)) throw error;
    errLine(`plan: ${error.message}`);
    return 2;
  }
  if (options.k8sFixture !== undefined && !fs.existsSync(options.k8sFixture)) {
    errLine(`plan: --k8s-fixture ${options.k8sFixture}: no such file`);
    return 2;
  }
  const packConfigFile = options.policyPackConfig ?? packConfigFileFor(options.stack);
  // The pack starts while the program runs: its start-up is most of a plan's wall time.
  const harness = options.policyPack
    ? startPlanPolicyHarness(options.stack, stackConfig, packConfigFile)
    : undefined;
  harness?.catch(() => undefined);
  let built: Awaited<ReturnType<typeof buildPlan>>;
  try {
    built = await buildPlan({
      stack: options.stack,
      stackFile,
      fixture: options.fixture,
      kubernetesFixture: options.k8sFixture,
    });
  } catch (error) {
    if (!(error instanceof PlanFailure)) throw error;
    errLine(`plan: ${error.message}`);
    return 1;
  }
  const { report, config, run } = built;
  let connectivity: ReturnType<typeof planConnectivity>;
  try {
    connectivity = planConnectivity(report, config, run, {
      enforcers: options.enforcer === "both" ? ENFORCERS : [options.enforcer],
      kubernetesFixture: options.k8sFixture,
      awsFixture: options.fixture,
    });
  } catch (error) {
    // An agent the plan cannot name, or a cluster object it cannot read, is refused, never guessed.
    if (!(error instanceof EksClusterReadError)) throw error;
    errLine(`plan: ${error.message}`);
    return 2;
  }
  if (options.explain !== undefined) {
    const [from, to, port] = options.explain;
    const answer = explainConnection(connectivity, from, to, port);
    if (!answer.ok) {
      errLine(`plan: ${answer.problem}`);
      return 2;
    }
    // An explanation answers a question; whether the connection is allowed is not a failure.
    io.out(renderExplanation(answer, report.manifests));
    return 0;
  }
  const verdicts: PolicyVerdict[] | undefined =
    harness === undefined ? undefined : await planPolicyVerdicts(run, await harness);
  if (options.format === "yaml") io.out(renderYaml(report));
  else if (options.format === "json")
    io.out(JSON.stringify(planJson(report, connectivity, verdicts), null, 2) + "\n");
  else if (options.format === "mermaid") io.out(renderMermaid(connectivity));
  else if (options.format === "markdown") io.out(renderReadmeTables(report));
  else {
    io.out(renderSummary(report, connectivity));
    if (verdicts !== undefined) io.out(`\n${renderPolicyVerdicts(verdicts, packConfigFile)}`);
  }
  // An outage under either enforcer is an outage: EKS runs the agent, upstream is what the API promises.
  const outages = connectivity.enforcers.flatMap((enforcer) =>
    connectivity.proofs[enforcer]!.current.outages.map((outage) => `[${enforcer}] ${describeOutage(outage)}`),
  );
  if (outages.length > 0) {
    errLine(
      `plan: the current stage blocks ${outages.length} intended connection(s); \`pulumi up\` would cause an outage:\n  ` +
        [
          ...outages,
          ...(connectivity.breakGlassCannotOpen ?? []).map((line) => `[eks-vpc-cni] ${line}`),
        ].join("\n  "),
    );
    return EXIT_OUTAGE;
  }
  const mandatory = mandatoryVerdicts(verdicts ?? []);
  if (mandatory.length > 0) {
    errLine(
      `plan: the policy pack reports ${mandatory.length} mandatory violation(s); \`pulumi preview --policy-pack policies\` would fail:\n  ` +
        mandatory
          .map((verdict) => `${verdict.policy}: ${verdict.message.split("\n").slice(-1)[0]}`)
          .join("\n  "),
    );
    return EXIT_MANDATORY_VIOLATION;
  }
  return 0;
}

if (require.main === module) runAsProcess("plan", main);
