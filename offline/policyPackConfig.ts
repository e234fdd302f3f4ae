/**
 * Policy pack config, read and reconciled the way the Pulumi CLI does it for
 * `pulumi preview --policy-pack DIR --policy-pack-config FILE`, so the harness configures the pack
 * with exactly what the engine would send:
 *
 *  1. parse the JSON file: each key is a policy name (or "all"); a value is an enforcement level
 *     string, or an object whose `enforcementLevel` is pulled out and the rest kept as properties
 *     (pulumi/pulumi pkg/resource/analyzer/config.go, parsePolicyPackConfig);
 *  2. reconcile: defaults from each policy's configSchema, then the pack's initial config, then the
 *     file, where "all" sets every policy's level before per-policy entries apply (applyConfig);
 *  3. validate every policy's properties against its configSchema (the CLI uses gojsonschema); a
 *     failure stops the run with "<policy>: <error>" lines, before any resource is analyzed.
 */
import * as fs from "fs";

export type EnforcementLevel = "advisory" | "mandatory" | "remediate" | "disabled";
export const ENFORCEMENT_LEVELS: readonly EnforcementLevel[] = [
  "advisory",
  "mandatory",
  "remediate",
  "disabled",
];

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface PolicyConfigEntry {
  enforcementLevel?: EnforcementLevel;
  properties: JsonObject;
}
export type PolicyPackConfig = Map<string, PolicyConfigEntry>;

/** What GetAnalyzerInfo says about one policy: enough to reconcile and validate config. */
export interface PolicySummary {
  name: string;
  enforcementLevel: EnforcementLevel;
  configSchema?: { properties: JsonObject; required: string[] };
}

export class PolicyPackConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PolicyPackConfigError";
  }
}

function isEnforcementLevel(value: unknown): value is EnforcementLevel {
  return typeof value === "string" && (ENFORCEMENT_LEVELS as readonly string[]).includes(value);
}

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Parses a pack config document (the JSON text of a --policy-pack-config file). */
export function parsePolicyPackConfig(text: string, source: string): PolicyPackConfig {
  const result: PolicyPackConfig = new Map();
  if (text.trim() === "") return result;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new PolicyPackConfigError(`${source}: not valid JSON (${(error as Error).message})`);
  }
  if (!isJsonObject(parsed))
    throw new PolicyPackConfigError(`${source}: expected a JSON object keyed by policy name`);
  for (const [policy, value] of Object.entries(parsed)) {
    if (typeof value === "string") {
      if (!isEnforcementLevel(value)) {
        throw new PolicyPackConfigError(
          `${source}: parsing enforcement level for "${policy}": "${value}" is not a valid enforcement level (${ENFORCEMENT_LEVELS.join(", ")})`,
        );
      }
      result.set(policy, { enforcementLevel: value, properties: {} });
    } else if (isJsonObject(value)) {
      const { enforcementLevel, ...properties } = value;
      if (enforcementLevel !== undefined && !isEnforcementLevel(enforcementLevel)) {
        throw new PolicyPackConfigError(
          `${source}: parsing enforcement level for "${policy}": ${JSON.stringify(enforcementLevel)} is not a valid enforcement level`,
        );
      }
      // The CLI drops entries that carry neither a level nor properties.
      if (enforcementLevel === undefined && Object.keys(properties).length === 0) continue;
      result.set(policy, { enforcementLevel, properties });
    } else {
      throw new PolicyPackConfigError(
        `${source}: parsing "${policy}": ${JSON.stringify(value)} is not a valid value; must be a string or object`,
      );
    }
  }
  return result;
}

export function loadPolicyPackConfigFile(file: string): PolicyPackConfig {
  return parsePolicyPackConfig(fs.readFileSync(file, "utf8"), file);
}

function applyConfig(result: PolicyPackConfig, given: PolicyPackConfig): void {
  const all = given.get("all");
  if (all?.enforcementLevel !== undefined) {
    for (const [name, entry] of result)
      result.set(name, { ...entry, enforcementLevel: all.enforcementLevel });
  }
  for (const [name, entry] of given) {
    const current = result.get(name);
    result.set(name, {
      enforcementLevel: entry.enforcementLevel ?? current?.enforcementLevel,
      properties: { ...(current?.properties ?? {}), ...entry.properties },
    });
  }
}

/** Defaults, then initial config, then the file; validated against each policy's schema. */
export function reconcilePolicyPackConfig(
  policies: readonly PolicySummary[],
  initialConfig: PolicyPackConfig,
  config: PolicyPackConfig,
): PolicyPackConfig {
  const result: PolicyPackConfig = new Map();
  for (const policy of policies) {
    const defaults: JsonObject = {};
    for (const [key, schema] of Object.entries(policy.configSchema?.properties ?? {})) {
      if (isJsonObject(schema) && schema["default"] !== undefined) defaults[key] = schema["default"];
    }
    result.set(policy.name, { enforcementLevel: policy.enforcementLevel, properties: defaults });
  }
  applyConfig(result, initialConfig);
  applyConfig(result, config);
  const known = new Set(policies.map((policy) => policy.name));
  const errors: string[] = [];
  for (const name of config.keys()) {
    // The CLI passes unknown keys through silently; a typo would then disable nothing and configure nothing, so say so.
    if (name !== "all" && !known.has(name))
      errors.push(`${name}: no such policy in the pack (known: ${[...known].join(", ")})`);
  }
  for (const policy of policies) {
    if (policy.configSchema === undefined) continue;
    const schema: JsonObject = { type: "object", properties: policy.configSchema.properties };
    if (policy.configSchema.required.length > 0) schema["required"] = policy.configSchema.required;
    for (const problem of validateJsonSchema(schema, result.get(policy.name)?.properties ?? {}, "")) {
      errors.push(`${policy.name}: ${problem}`);
    }
  }
  if (errors.length > 0) {
    throw new PolicyPackConfigError(`policy pack configuration is invalid:\n  - ${errors.join("\n  - ")}`);
  }
  return result;
}

const IGNORED_KEYWORDS = new Set(["default", "description", "title", "examples", "$comment"]);
const SUPPORTED_KEYWORDS = new Set([
  "type",
  "enum",
  "const",
  "pattern",
  "minLength",
  "maxLength",
  "minimum",
  "maximum",
  "items",
  "minItems",
  "maxItems",
  "uniqueItems",
  "properties",
  "required",
  "additionalProperties",
  "minProperties",
  "maxProperties",
]);

function typeOfJson(value: JsonValue): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

function matchesType(value: JsonValue, type: string): boolean {
  if (type === "integer") return typeof value === "number" && Number.isInteger(value);
  if (type === "number") return typeof value === "number";
  return typeOfJson(value) === type;
}

/**
 * The JSON Schema keywords this pack's configSchemas use, checked as gojsonschema checks them. A
 * keyword outside that set is reported rather than skipped, so a schema never validates less than
 * it appears to.
 */
export function validateJsonSchema(schema: JsonValue, value: JsonValue, path: string): string[] {
  if (schema === true) return [];
  if (!isJsonObject(schema)) return [`${path || "(root)"}: unsupported schema ${JSON.stringify(schema)}`];
  const at = path === "" ? "(root)" : path;
  const problems: string[] = [];
  for (const keyword of Object.keys(schema)) {
    if (!SUPPORTED_KEYWORDS.has(keyword) && !IGNORED_KEYWORDS.has(keyword)) {
      problems.push(`${at}: schema keyword "${keyword}" is not supported by offline/policyPackConfig.ts`);
    }
  }
  const type = schema["type"];
  if (type !== undefined) {
    const types = Array.isArray(type) ? type.map(String) : [String(type)];
    if (!types.some((candidate) => matchesType(value, candidate))) {
      return [
        ...problems,
        `${at}: Invalid type. Expected: ${types.join(" or ")}, given: ${typeOfJson(value)}`,
      ];
    }
  }
  const same = (a: JsonValue, b: JsonValue) => JSON.stringify(a) === JSON.stringify(b);
  const enumValues = schema["enum"];
  if (Array.isArray(enumValues) && !enumValues.some((candidate) => same(candidate, value))) {
    problems.push(`${at}: must be one of ${JSON.stringify(enumValues)}`);
  }
  if (schema["const"] !== undefined && !same(schema["const"], value)) {
    problems.push(`${at}: does not match ${JSON.stringify(schema["const"])}`);
  }
  if (typeof value === "string") {
    const pattern = schema["pattern"];
    if (typeof pattern === "string" && !new RegExp(pattern).test(value)) {
      problems.push(`${at}: Does not match pattern '${pattern}'`);
    }
    const minLength = schema["minLength"];
    if (typeof minLength === "number" && value.length < minLength)
      problems.push(`${at}: String length must be >= ${minLength}`);
    const maxLength = schema["maxLength"];
    if (typeof maxLength === "number" && value.length > maxLength)
      problems.push(`${at}: String length must be <= ${maxLength}`);
  }
  if (typeof value === "number") {
    const minimum = schema["minimum"];
    if (typeof minimum === "number" && value < minimum)
      problems.push(`${at}: Must be greater than or equal to ${minimum}`);
    const maximum = schema["maximum"];
    if (typeof maximum === "number" && value > maximum)
      problems.push(`${at}: Must be less than or equal to ${maximum}`);
  }
  if (Array.isArray(value)) {
    const minItems = schema["minItems"];
    if (typeof minItems === "number" && value.length < minItems)
      problems.push(`${at}: Array must have at least ${minItems} items`);
    const maxItems = schema["maxItems"];
    if (typeof maxItems === "number" && value.length > maxItems)
      problems.push(`${at}: Array must have at most ${maxItems} items`);
    if (
      schema["uniqueItems"] === true &&
      new Set(value.map((item) => JSON.stringify(item))).size !== value.length
    ) {
      problems.push(`${at}: array items must be unique`);
    }
    const items = schema["items"];
    if (items !== undefined) {
      value.forEach((item, index) =>
        problems.push(...validateJsonSchema(items, item, `${path}.${index}`.replace(/^\./, ""))),
      );
    }
  }
  if (isJsonObject(value)) {
    const properties = isJsonObject(schema["properties"]) ? schema["properties"] : {};
    const required = Array.isArray(schema["required"]) ? schema["required"].map(String) : [];
    for (const key of required) {
      if (value[key] === undefined) problems.push(`${at}: ${key} is required`);
    }
    const count = Object.keys(value).length;
    const minProperties = schema["minProperties"];
    if (typeof minProperties === "number" && count < minProperties)
      problems.push(`${at}: must have at least ${minProperties} properties`);
    const maxProperties = schema["maxProperties"];
    if (typeof maxProperties === "number" && count > maxProperties)
      problems.push(`${at}: must have at most ${maxProperties} properties`);
    const additional = schema["additionalProperties"];
    for (const [key, child] of Object.entries(value)) {
      const childPath = path === "" ? key : `${path}.${key}`;
      if (properties[key] !== undefined) {
        problems.push(...validateJsonSchema(properties[key], child, childPath));
      } else if (additional === false) {
        problems.push(`${at}: Additional property ${key} is not allowed`);
      } else if (additional !== undefined) {
        problems.push(...validateJsonSchema(additional, child, childPath));
      }
    }
  }
  return problems;
}
