/**
 * npm run -s check -- FILE.yaml --stack STACK [--policy-pack-config FILE] [--allow-weaker-pack-config]
 *
 * Runs the whole CrossGuard pack over the NetworkPolicies of a multi-document YAML file (kubectl-style,
 * `kind: List` included) through the same gRPC harness as the tests and the plan: with the stack's
 * pack config (policies/config/<stack>.json, or the file given, refused where weaker than that
 * baseline), the stack's config, and the FlashNetworkPolicies component as the program records it
 * for the stack (run offline as the plan runs it), so flows-match-flow-table proves the file against
 * the flow table. Prints the verdicts as JSON: [{"policy","level","message","resource"}].
 * docs/check.md documents the flags and the weakening rules.
 *
 * Exit codes: 0 no mandatory verdict, 1 at least one mandatory verdict, 2 bad input or usage (no
 * --stack, a file that cannot be read or parsed, a stack config the program refuses) or the pack fails.
 */
import * as fs from "fs";
import * as path from "path";
import { Command, Option } from "commander";
import { LineCounter, parseAllDocuments } from "yaml";
import { parseCommandLine, runAsProcess, type CliIo } from "./io";
import type { AnalyzedResource } from "../offline/analyzerWire";
import { stackPackConfigPath } from "../offline/policyHarness";
import { sharedPolicyHarness } from "../offline/sharedPolicyHarness";
import { PROJECT_ROOT, StackConfigError, readStackConfig } from "../offline/stackConfig";
import { listStacks, packConfigStacks, stackConfigOf, stackFileOf } from "../offline/stacks";
import { recordedComponent } from "../offline/checkContext";
import { WEAKENING_POLICY, packConfigWeakenings } from "../offline/checkWeakening";
import { PlanFailure } from "../offline/planReport";
import { kubernetesObjectResource, networkPolicyResource } from "../offline/policyResources";
import { expandList } from "../analyzer/manifests/documents";
import {
  NETWORK_POLICY_TYPE,
  isApplicationNetworkPolicyType,
  isClusterNetworkPolicyType,
  kubernetesTypeOf,
} from "../core/resourceTypes";
import { isRecord } from "../core/records";

export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InputError";
  }
}

/**
 * The policy objects of a multi-document YAML text, as resources the pack judges: NetworkPolicies,
 * and the EKS agent's ClusterNetworkPolicies and ApplicationNetworkPolicies (they open flows past
 * the NetworkPolicies; rule cluster-tier-policies). `List` and `*List` kinds are expanded as kubectl
 * apply expands them, so wrapping a policy in a NetworkPolicyList hides nothing. Other kinds are
 * skipped; bad documents throw InputError.
 */
export function networkPoliciesFromYaml(text: string, file: string, stack: string): AnalyzedResource[] {
  const lineCounter = new LineCounter();
  const documents = parseAllDocuments(text, { lineCounter });
  const resources: AnalyzedResource[] = [];
  const documentList = Array.isArray(documents) ? documents : [];
  documentList.forEach((document, index) => {
    const at = (offset: number | undefined) => {
      const line = offset === undefined ? undefined : lineCounter.linePos(offset).line;
      return `${file}: document ${index + 1}${line === undefined ? "" : `, line ${line}`}`;
    };
    const error = document.errors[0];
    if (error !== undefined) throw new InputError(`${at(error.pos[0])}: ${error.message.split("\n")[0]}`);
    const value: unknown = document.toJS();
    if (value === null || value === undefined) return;
    if (!isRecord(value))
      throw new InputError(`${at(document.contents?.range?.[0])}: expected a Kubernetes object (a mapping)`);
    const objects = expandList(value);
    if (typeof objects === "string") throw new InputError(`${at(document.contents?.range?.[0])}: ${objects}`);
    objects.forEach(({ object, itemIndex }) => {
      const fallbackName = `document-${index + 1}${itemIndex === undefined ? "" : `-${itemIndex}`}`;
      const apiVersion = object["apiVersion"];
      if (object["kind"] === "NetworkPolicy") {
        if (typeof apiVersion === "string" && apiVersion !== "networking.k8s.io/v1") {
          throw new InputError(
            `${at(document.contents?.range?.[0])}: NetworkPolicy with apiVersion ${apiVersion}; expected networking.k8s.io/v1`,
          );
        }
        resources.push(networkPolicyResource(object, stack, fallbackName));
        return;
      }
      if (typeof apiVersion !== "string" || typeof object["kind"] !== "string") return;
      const type = kubernetesTypeOf(apiVersion, object["kind"]);
      if (isClusterNetworkPolicyType(type) || isApplicationNetworkPolicyType(type))
        resources.push(kubernetesObjectResource(type, object, stack, fallbackName));
    });
  });
  // URNs must be unique, as in a real stack: the same name in two namespaces gets the namespace in front.
  const seen = new Map<string, number>();
  for (const resource of resources) {
    const count = seen.get(resource.urn) ?? 0;
    seen.set(resource.urn, count + 1);
    if (count > 0) resource.urn = `${resource.urn}-${count + 1}`;
  }
  return resources;
}

/** Where a missing --stack can be read from: a baseline pack config or a stack file of the project. */
export function inferStack(
  options: { policyPackConfig?: string; configFile?: string },
  root: string,
): { stack: string; from: string } | { conflict: string } | undefined {
  const candidates: { stack: string; from: string }[] = [];
  if (options.policyPackConfig !== undefined) {
    const given = path.resolve(options.policyPackConfig);
    const stack = path.basename(given, ".json");
    if (given.endsWith(".json") && given === path.resolve(stackPackConfigPath(stack, root)))
      candidates.push({ stack, from: `--policy-pack-config ${options.policyPackConfig}` });
  }
  if (options.configFile !== undefined) {
    const match = /^Pulumi\.(.+)\.ya?ml$/.exec(path.basename(options.configFile));
    if (match !== null) candidates.push({ stack: match[1]!, from: `--config-file ${options.configFile}` });
  }
  const stacks = [...new Set(candidates.map((candidate) => candidate.stack))];
  if (stacks.length > 1) return { conflict: candidates.map((c) => `${c.from} says ${c.stack}`).join(", ") };
  return candidates[0];
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  const program = new Command()
    .name("check")
    .description("Run the flash-netpol policy pack over the NetworkPolicies of a YAML file")
    .argument("<file>", "multi-document YAML with NetworkPolicies")
    .addOption(
      new Option(
        "--stack <stack>",
        "required: whose flow table and AWS facts (the program run offline), pack config baseline (policies/config/<stack>.json) and stack config (Pulumi.<stack>.yaml over Pulumi.yaml) judge the file",
      ),
    )
    .option(
      "-C, --cwd <dir>",
      "the project directory holding Pulumi.yaml, Pulumi.<stack>.yaml, fixtures/ and policies/config/ (as pulumi --cwd; default this project)",
    )
    .option(
      "--config-file <file>",
      "the stack's config file instead of Pulumi.<stack>.yaml (as pulumi --config-file); project config still comes from Pulumi.yaml",
    )
    .option(
      "--policy-pack-config <file>",
      "pack config to use instead of policies/config/<stack>.json (as pulumi preview --policy-pack-config); refused where weaker than that baseline",
    )
    .option(
      "--allow-weaker-pack-config",
      "judge with a --policy-pack-config weaker than the stack's baseline (the weakenings are still listed, advisory)",
    )
    .option(
      "--fixture <file>",
      "AWS fixture the program's lookups are answered from (default fixtures/aws/<stack>.json)",
    )
    .option(
      "--k8s-fixture <file>",
      "recorded kubectl answers for the program's reads (default fixtures/k8s/<stack>.json)",
    );
  const parseExit = parseCommandLine(program, argv, io);
  if (parseExit !== undefined) return parseExit;
  const [file] = program.args as [string];
  const options = program.opts<{
    stack?: string;
    policyPackConfig?: string;
    configFile?: string;
    cwd?: string;
    fixture?: string;
    k8sFixture?: string;
    allowWeakerPackConfig?: boolean;
  }>();
  const { policyPackConfig, configFile, cwd } = options;
  const root = cwd === undefined ? PROJECT_ROOT : path.resolve(cwd);
  let stack = options.stack;
  if (stack === undefined) {
    const inferred = inferStack(options, root);
    if (inferred === undefined || "conflict" in inferred) {
      io.err(
        `check: --stack is required: the stack's flow table, AWS facts and baseline pack config judge the file, and its namespace or labels cannot tell which stack it is for` +
          (inferred === undefined ? "" : ` (${inferred.conflict})`) +
          `. Fix: pass --stack STACK (stacks: ${listStacks(root).join(", ") || "none"})\n`,
      );
      return 2;
    }
    stack = inferred.stack;
    io.err(`check: no --stack given; judging as stack ${stack}, from ${inferred.from}\n`);
  }
  const baselinePath = stackPackConfigPath(stack, root);
  const packConfig = policyPackConfig ?? baselinePath;
  if (!fs.existsSync(packConfig)) {
    io.err(
      policyPackConfig === undefined
        ? `check: no pack config for stack ${stack} (${path.relative(process.cwd(), packConfig)}); stacks with one: ${packConfigStacks(path.join(root, "policies", "config")).join(", ") || "none"}. ` +
            `Fix: add policies/config/${stack}.json (docs/extending.md), or pass --policy-pack-config FILE\n`
        : `check: --policy-pack-config ${policyPackConfig}: no such file\n`,
    );
    return 2;
  }
  for (const [flag, given] of [
    ["--fixture", options.fixture],
    ["--k8s-fixture", options.k8sFixture],
  ] as const) {
    if (given !== undefined && !fs.existsSync(given)) {
      io.err(`check: ${flag} ${given}: no such file\n`);
      return 2;
    }
  }
  const stackFile = configFile ?? stackFileOf(stack, root);
  let stackConfig: Record<string, string>;
  try {
    stackConfig =
      configFile === undefined
        ? stackConfigOf(stack, root)
        : readStackConfig(configFile, path.join(root, "Pulumi.yaml"));
  } catch (error) {
    if (!(error instanceof StackConfigError)) throw error;
    io.err(`check: ${error.message}\n`);
    return 2;
  }
  let resources: AnalyzedResource[];
  try {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (error) {
      throw new InputError(
        `${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      );
    }
    resources = networkPoliciesFromYaml(text, file, stack);
  } catch (error) {
    io.err(`check: ${(error as Error).message}\n`);
    return 2;
  }
  if (resources.length === 0)
    io.err(`check: ${file} has no ${NETWORK_POLICY_TYPE.split(":").pop()}; nothing to check\n`);
  // The pack starts while the program runs: its start-up is most of a check's wall time.
  const harness = sharedPolicyHarness({ stack, packConfig, stackConfig });
  harness.catch(() => undefined);
  let component: AnalyzedResource;
  try {
    component = await recordedComponent({
      stack,
      root,
      stackConfig,
      stackFile,
      fixture: options.fixture,
      kubernetesFixture: options.k8sFixture,
    });
  } catch (error) {
    if (!(error instanceof PlanFailure)) throw error;
    io.err(
      `check: the program cannot build stack ${stack}'s model to judge ${file} against (config ${path.relative(process.cwd(), stackFile)}): ${error.message}\n`,
    );
    return 2;
  }
  const running = await harness;
  const verdicts = (await running.preview([component, ...resources])).filter(
    // check compares the files itself, naming missing entries too and honouring --allow-weaker-pack-config.
    (verdict) => verdict.policy !== WEAKENING_POLICY,
  );
  if (policyPackConfig !== undefined && fs.existsSync(baselinePath)) {
    verdicts.push(
      ...packConfigWeakenings(
        running.info,
        {
          baseline: path.relative(root, baselinePath),
          baselinePath,
          given: policyPackConfig,
          givenPath: policyPackConfig,
        },
        options.allowWeakerPackConfig === true,
      ),
    );
  }
  io.out(`${JSON.stringify(verdicts, null, 2)}\n`);
  return verdicts.some((verdict) => verdict.level === "mandatory") ? 1 : 0;
}

/** The pack failing (not the file) is exit 2, like unreadable input. */
export const FAILURE_EXIT = 2;

if (require.main === module) runAsProcess("check", main, FAILURE_EXIT);
