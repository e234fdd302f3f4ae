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
 *  3. validate every policy's properties against its configSchema (the CLI uses gojsonschema; here
 *     zod reads the same JSON Schema); a failure stops the run with "<policy>: <error>" lines, before
 *     any resource is analyzed.
 */
import * as fs from "fs";
import { z } from "zod";
import { isRecord } from "../core/records";

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
  return isRecord(value);
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
    for (const problem of validateAgainstSchema(schema, result.get(policy.name)?.properties ?? {})) {
      errors.push(`${policy.name}: ${problem}`);
    }
  }
  if (errors.length > 0) {
    throw new PolicyPackConfigError(`policy pack configuration is invalid:\n  - ${errors.join("\n  - ")}`);
  }
  return result;
}

/**
 * Validates config against the JSON Schema the pack sent in GetAnalyzerInfo, as the CLI does with
 * gojsonschema: the schema is read with zod's own JSON Schema reader (z.fromJSONSchema), so the
 * harness judges by the schema on the wire, not by the rules' zod sources. Messages name the path,
 * as gojsonschema's do ("exemptions.0.until: ...").
 */
export function validateAgainstSchema(schema: JsonObject, value: JsonObject): string[] {
  let validator: z.ZodType;
  try {
    validator = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
  } catch (error) {
    return [`(root): the pack's configSchema cannot be read (${(error as Error).message})`];
  }
  const result = validator.safeParse(value);
  if (result.success) return [];
  return result.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`);
}
