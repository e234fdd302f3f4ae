/**
 * npm run -s check -- FILE.yaml [--stack STACK] [--policy-pack-config FILE]
 *
 * Runs the CrossGuard pack over the NetworkPolicies of a multi-document YAML file (kubectl-style,
 * `kind: List` included) through the same gRPC harness as the tests and the plan, with the stack's
 * pack config (any stack with policies/config/<stack>.json, or the file given) and the stack's
 * config (its flow table: which workloads are isolated), and prints the verdicts as JSON:
 * [{"policy","level","message","resource"}].
 *
 * Exit codes: 0 no mandatory verdict, 1 at least one mandatory verdict, 2 the file cannot be read
 * or parsed (the message names the file, the document index and the line) or the pack fails.
 */
import * as fs from "fs";
import * as path from "path";
import { Command, CommanderError, Option } from "commander";
import { LineCounter, parseAllDocuments } from "yaml";
import { runAsProcess, type CliIo } from "./io";
import type { AnalyzedResource } from "../offline/analyzerWire";
import { stackPackConfigPath } from "../offline/policyHarness";
import { sharedPolicyHarness } from "../offline/sharedPolicyHarness";
import { PROJECT_ROOT, StackConfigError, readStackConfig } from "../offline/stackConfig";
import { packConfigStacks, stackConfigOf } from "../offline/stacks";
import { networkPolicyResource } from "../offline/policyResources";
import { NETWORK_POLICY_TYPE } from "../components/resourceTypes";

export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InputError";
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The NetworkPolicies of a multi-document YAML text; other kinds are skipped, bad documents throw InputError. */
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
    const objects = value["kind"] === "List" && Array.isArray(value["items"]) ? value["items"] : [value];
    objects.forEach((object: unknown, itemIndex) => {
      if (!isRecord(object))
        throw new InputError(`${at(document.contents?.range?.[0])}: List item ${itemIndex} is not a mapping`);
      if (object["kind"] !== "NetworkPolicy") return;
      if (typeof object["apiVersion"] === "string" && object["apiVersion"] !== "networking.k8s.io/v1") {
        throw new InputError(
          `${at(document.contents?.range?.[0])}: NetworkPolicy with apiVersion ${object["apiVersion"]}; expected networking.k8s.io/v1`,
        );
      }
      resources.push(
        networkPolicyResource(
          object,
          stack,
          `document-${index + 1}${objects.length > 1 ? `-${itemIndex}` : ""}`,
        ),
      );
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

export async function main(argv: string[], io: CliIo): Promise<number> {
  const program = new Command()
    .name("check")
    .description("Run the flash-netpol policy pack over the NetworkPolicies of a YAML file")
    .argument("<file>", "multi-document YAML with NetworkPolicies")
    .addOption(
      new Option(
        "--stack <stack>",
        "whose pack config (policies/config/<stack>.json) and stack config (Pulumi.<stack>.yaml over Pulumi.yaml) to use",
      ).default("dev"),
    )
    .option(
      "-C, --cwd <dir>",
      "the project directory holding Pulumi.yaml, Pulumi.<stack>.yaml and policies/config/ (as pulumi --cwd; default this project)",
    )
    .option(
      "--config-file <file>",
      "the stack's config file instead of Pulumi.<stack>.yaml (as pulumi --config-file); project config still comes from Pulumi.yaml",
    )
    .option(
      "--policy-pack-config <file>",
      "pack config to use instead of policies/config/<stack>.json (as pulumi preview --policy-pack-config)",
    )
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.out(text), writeErr: (text) => io.err(text) });
  try {
    program.parse(argv, { from: "user" });
  } catch (error) {
    // Commander has printed the help (exit 0) or the usage problem (exit 2) already.
    return error instanceof CommanderError && error.exitCode === 0 ? 0 : 2;
  }
  const [file] = program.args as [string];
  const { stack, policyPackConfig, configFile, cwd } = program.opts<{
    stack: string;
    policyPackConfig?: string;
    configFile?: string;
    cwd?: string;
  }>();
  const root = cwd === undefined ? PROJECT_ROOT : path.resolve(cwd);
  const packConfig = policyPackConfig ?? stackPackConfigPath(stack, root);
  if (!fs.existsSync(packConfig)) {
    io.err(
      policyPackConfig === undefined
        ? `check: no pack config for stack ${stack} (${path.relative(process.cwd(), packConfig)}); stacks with one: ${packConfigStacks(path.join(root, "policies", "config")).join(", ") || "none"}. ` +
            `Fix: add policies/config/${stack}.json (docs/extending.md), or pass --policy-pack-config FILE\n`
        : `check: --policy-pack-config ${policyPackConfig}: no such file\n`,
    );
    return 2;
  }
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
  const harness = await sharedPolicyHarness({ stack, packConfig, stackConfig });
  const verdicts = await harness.preview(resources);
  io.out(`${JSON.stringify(verdicts, null, 2)}\n`);
  return verdicts.some((verdict) => verdict.level === "mandatory") ? 1 : 0;
}

/** The pack failing (not the file) is exit 2, like unreadable input. */
export const FAILURE_EXIT = 2;

if (require.main === module) runAsProcess("check", main, FAILURE_EXIT);
