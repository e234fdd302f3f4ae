/**
 * Stack config as the Pulumi CLI hands it to the program and to a policy pack: the stack file's
 * `config:` plus the project-level `config:` of Pulumi.yaml, project-relative keys qualified,
 * structured values as JSON text.
 *
 * The merge follows pulumi/pulumi v3.248.0 (docs/fidelity/config.md, "Project and stack configuration"):
 *  - a project key whose value is a scalar or a list is shorthand, for the `default` of a key in the
 *    project's namespace and the `value` of any other (project.go RewriteShorthandConfigValues);
 *  - otherwise it is a declaration `{type, description, secret, default, value}`
 *    (project.json configTypeDeclaration); `default` and `value` together are an error
 *    (project.go Project.Validate);
 *  - a key the stack file sets wins as a whole; a key it lacks takes the project's value or default,
 *    structured values marshalled to JSON (config.go mergeConfig, createConfigValue);
 *  - a key of the project's namespace with neither, and missing from the stack, fails:
 *    "Stack '<stack>' is missing configuration value ..." (config.go missingStackConfigurationKeysError).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { isRecord } from "../core/records";

export const PROJECT_NAME = "flash-netpol";
export const PROJECT_ROOT = path.resolve(__dirname, "..");
export const PROJECT_FILE = path.join(PROJECT_ROOT, "Pulumi.yaml");

/** A project or stack file that cannot be used; the message names the file and the key. */
export class StackConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StackConfigError";
  }
}

function readYaml(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (cause) {
    throw new StackConfigError(`${file}: cannot be read (${(cause as NodeJS.ErrnoException).code ?? cause})`);
  }
  try {
    return YAML.parse(text);
  } catch (cause) {
    throw new StackConfigError(`${file}: cannot be read as YAML (${(cause as Error).message})`);
  }
}

function qualify(key: string): string {
  return key.includes(":") ? key : `${PROJECT_NAME}:${key}`;
}

/** As the CLI stores a value: scalars as their text, maps and lists as JSON. */
function configText(value: unknown): string {
  return typeof value === "string"
    ? value
    : isRecord(value) || Array.isArray(value)
      ? JSON.stringify(value)
      : String(value);
}

/** Only the stack file's own keys, qualified; secrets (encrypted per stack) stay unknown offline, as if unset. */
export function readStackFileConfig(stackFile: string): Record<string, string> {
  const document = readYaml(stackFile);
  const config = isRecord(document) && isRecord(document.config) ? document.config : {};
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    if (isRecord(value) && "secure" in value) continue;
    values[qualify(key)] = configText(value);
  }
  return values;
}

interface ProjectConfigValue {
  /** The value a stack without the key gets; undefined when the project only declares the key. */
  readonly value: unknown;
}

/** The project-level config of Pulumi.yaml, key by qualified key. */
export function readProjectConfig(projectFile: string = PROJECT_FILE): Map<string, ProjectConfigValue> {
  const document = readYaml(projectFile);
  const config = isRecord(document) && isRecord(document.config) ? document.config : {};
  const declared = new Map<string, ProjectConfigValue>();
  for (const [key, entry] of Object.entries(config)) {
    const qualified = qualify(key);
    if (!isRecord(entry)) {
      declared.set(qualified, { value: entry });
      continue;
    }
    if (entry.default !== undefined && entry.value !== undefined) {
      throw new StackConfigError(
        `${projectFile}: project config '${key}' cannot have both a 'default' and 'value' attribute; keep one`,
      );
    }
    declared.set(qualified, { value: entry.value ?? entry.default });
  }
  return declared;
}

/** The project config alone: what a stack without any key of its own runs with. */
export function projectConfigValues(projectFile: string = PROJECT_FILE): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [key, declared] of readProjectConfig(projectFile)) {
    if (declared.value !== undefined) values[key] = configText(declared.value);
  }
  return values;
}

/**
 * The config a stack runs with: its stack file over the project's config. `projectFile` is the
 * project's Pulumi.yaml also when the stack file lives elsewhere (`pulumi --config-file FILE`).
 */
export function readStackConfig(
  stackFile: string,
  projectFile: string = PROJECT_FILE,
): Record<string, string> {
  const values = readStackFileConfig(stackFile);
  const missing: string[] = [];
  for (const [key, declared] of readProjectConfig(projectFile)) {
    if (key in values) continue;
    if (declared.value === undefined) {
      if (key.startsWith(`${PROJECT_NAME}:`)) missing.push(key);
      continue;
    }
    values[key] = configText(declared.value);
  }
  if (missing.length > 0) {
    const stack = path.basename(stackFile).replace(/^Pulumi\.(.*)\.ya?ml$/, "$1");
    throw new StackConfigError(
      `Stack '${stack}' is missing configuration ${missing.length > 1 ? "values" : "value"} ${missing.join(", ")}: ` +
        `${projectFile} declares them without a value or default. Fix: set them in ${stackFile}`,
    );
  }
  return values;
}
