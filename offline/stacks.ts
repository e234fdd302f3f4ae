/**
 * The stacks of the project, found from files: a stack is `Pulumi.<stack>.yaml` at the project root
 * (its AWS answers in fixtures/aws/<stack>.json) with its pack config in policies/config/<stack>.json.
 * Nothing in the code names a stack: adding one is adding those files (docs/extending.md).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_ROOT, projectConfigValues, readStackConfig } from "./stackConfig";

export const POLICY_PACK_CONFIG_DIR = path.join(PROJECT_ROOT, "policies", "config");

const STACK_FILE = /^Pulumi\.(.+)\.ya?ml$/;

/** Stacks with a stack file at the project root, sorted. */
export function listStacks(root: string = PROJECT_ROOT): string[] {
  return fs
    .readdirSync(root)
    .flatMap((file) => {
      const match = STACK_FILE.exec(file);
      return match === null ? [] : [match[1]];
    })
    .sort();
}

/** Stacks with a pack config file (policies/config/<stack>.json), sorted. */
export function packConfigStacks(dir: string = POLICY_PACK_CONFIG_DIR): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((file) => file.endsWith(".json"))
    .map((file) => file.slice(0, -".json".length))
    .sort();
}

export function stackFileOf(stack: string, root: string = PROJECT_ROOT): string {
  return path.join(root, `Pulumi.${stack}.yaml`);
}

/**
 * The config the CLI would hand a stack's program and policy pack: its stack file over the project
 * config, or the project config alone for a stack that has no stack file here.
 */
export function stackConfigOf(stack: string, root: string = PROJECT_ROOT): Record<string, string> {
  const stackFile = stackFileOf(stack, root);
  const projectFile = path.join(root, "Pulumi.yaml");
  return fs.existsSync(stackFile)
    ? readStackConfig(stackFile, projectFile)
    : projectConfigValues(projectFile);
}
