/**
 * Is a pack config weaker than the stack's baseline (policies/config/<stack>.json)? One comparison,
 * used by `npm run check --policy-pack-config` and by the pack itself (pack-config-not-weakened),
 * so a published pack cannot be switched off by a config quietly.
 *
 * Both configs are first made effective the way the Pulumi CLI reconciles them (pulumi
 * pkg/resource/analyzer/config.go: defaults from each policy's configSchema, then "all", then the
 * per-policy entry, string or object form). Then, per rule: a lower enforcement level weakens
 * (disabled < advisory < mandatory = remediate), and each config field is compared by its tag
 * (configStrictness.ts), found by walking the rule's zod config: no rule is named here.
 */
import type { EnforcementLevel } from "@pulumi/policy";
import { z } from "zod";
import { cidrContains, isValidCidr, sameFamily } from "../../core/cidrs";
import { strictnessRegistry, type WeakenWhen } from "./configStrictness";
import { isRecord } from "../../core/records";

export interface EffectiveRuleConfig {
  readonly level: EnforcementLevel;
  readonly properties: Readonly<Record<string, unknown>>;
}
export type EffectivePackConfig = ReadonlyMap<string, EffectiveRuleConfig>;

/** A rule as reconciliation needs it: its own default level and its configSchema's defaults. */
export interface RuleDefaults {
  readonly name: string;
  readonly enforcementLevel: EnforcementLevel;
  readonly defaults: Readonly<Record<string, unknown>>;
}

/** A rule as the comparison needs it: its name and the zod config its fields are tagged in. */
export interface RuleSchema {
  readonly name: string;
  readonly schema?: z.ZodObject;
}

export interface Weakening {
  /** "public-egress.allowedPorts", or the rule's name for its level. */
  readonly key: string;
  readonly baseline: string;
  readonly given: string;
  /** What got weaker, e.g. "22 added to an allow list". */
  readonly problem: string;
}

const LEVELS: readonly EnforcementLevel[] = ["advisory", "mandatory", "remediate", "disabled"];
const LEVEL_RANK: Record<EnforcementLevel, number> = { disabled: 0, advisory: 1, mandatory: 2, remediate: 2 };

function isLevel(value: unknown): value is EnforcementLevel {
  return typeof value === "string" && (LEVELS as readonly string[]).includes(value);
}

/**
 * The config each rule runs with, and the keys the document states. Throws, naming `source`, on a
 * document the CLI would refuse (not an object, a value neither a level nor an object).
 */
export function effectivePackConfig(
  rules: readonly RuleDefaults[],
  document: unknown,
  source: string,
): { config: Map<string, EffectiveRuleConfig>; keys: string[] } {
  if (!isRecord(document)) throw new Error(`${source}: expected a JSON object keyed by policy name`);
  const given = new Map<string, { level?: EnforcementLevel; properties: Record<string, unknown> }>();
  for (const [name, value] of Object.entries(document)) {
    if (isLevel(value)) given.set(name, { level: value, properties: {} });
    else if (isRecord(value)) {
      const { enforcementLevel, ...properties } = value;
      if (enforcementLevel !== undefined && !isLevel(enforcementLevel))
        throw new Error(
          `${source}: "${name}".enforcementLevel ${JSON.stringify(enforcementLevel)} is not a level`,
        );
      given.set(name, { level: enforcementLevel, properties });
    } else throw new Error(`${source}: "${name}" must be an enforcement level or an object`);
  }
  const all = given.get("all")?.level;
  const config = new Map<string, EffectiveRuleConfig>();
  for (const rule of rules) {
    const entry = given.get(rule.name);
    config.set(rule.name, {
      level: entry?.level ?? all ?? rule.enforcementLevel,
      properties: { ...rule.defaults, ...(entry?.properties ?? {}) },
    });
  }
  return { config, keys: Object.keys(document) };
}

/** The tag of a field, looked up through default/optional/nullable wrappers, and the innermost schema. */
function tagAndInner(schema: z.ZodType): { when?: WeakenWhen; inner: z.ZodType } {
  let current: z.ZodType = schema;
  let when = strictnessRegistry.get(current)?.weakenWhen;
  for (;;) {
    const innerType = (current._zod.def as { innerType?: z.ZodType }).innerType;
    if (innerType === undefined) return { when, inner: current };
    current = innerType;
    when ??= strictnessRegistry.get(current)?.weakenWhen;
  }
}

function elementOf(schema: z.ZodType): z.ZodType | undefined {
  return (schema._zod.def as { element?: z.ZodType }).element;
}

/** JSON with sorted keys and, lists being sets here, sorted elements. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).sort().join(",")}]`;
  if (isRecord(value))
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`)
      .join(",")}}`;
  return JSON.stringify(value) ?? "undefined";
}

const show = (value: unknown) => (value === undefined ? "(unset)" : JSON.stringify(value));

/** Is `given` no weaker than `base` under `schema`? A CIDR inside a baseline CIDR is no wider. */
function covers(schema: z.ZodType | undefined, base: unknown, given: unknown): boolean {
  if (typeof base === "string" && typeof given === "string" && isValidCidr(base) && isValidCidr(given))
    return sameFamily(base, given) && cidrContains(base, given);
  if (schema === undefined) return canonical(base) === canonical(given);
  const found: Weakening[] = [];
  compareField(schema, base, given, "", found);
  return found.length === 0;
}

function compareField(
  schema: z.ZodType,
  base: unknown,
  given: unknown,
  key: string,
  found: Weakening[],
): void {
  const { when, inner } = tagAndInner(schema);
  if (when === "never") return;
  const weak = (problem: string) => found.push({ key, baseline: show(base), given: show(given), problem });
  if (when === undefined && inner instanceof z.ZodObject && isRecord(base) && isRecord(given)) {
    for (const [field, fieldSchema] of Object.entries(inner.shape as Record<string, z.ZodType>))
      compareField(fieldSchema, base[field], given[field], key === "" ? field : `${key}.${field}`, found);
    return;
  }
  const element = elementOf(inner);
  switch (when ?? "changes") {
    case "grows":
      if (Array.isArray(given)) {
        const before = Array.isArray(base) ? base : [];
        const added = given.filter((item) => !before.some((old) => covers(element, old, item)));
        if (added.length > 0) weak(`${added.map(show).join(", ")} added (an allow list may only shrink)`);
      } else if (typeof given === "number") {
        if (typeof base !== "number" || given > base) weak("raised (a limit may only go down)");
      } else if (canonical(base) !== canonical(given)) weak("changed");
      return;
    case "shrinks": {
      const now = Array.isArray(given) ? given : [];
      const removed = (Array.isArray(base) ? base : []).filter(
        (old) => !now.some((item) => covers(element, old, item)),
      );
      if (removed.length > 0)
        weak(`${removed.map(show).join(", ")} removed (what must be protected may only grow)`);
      return;
    }
    case "later":
      if (given !== undefined && (base === undefined || String(given) > String(base)))
        weak("later (an exemption may only end sooner)");
      return;
    case "changes":
      if (canonical(base) !== canonical(given)) weak("changed (a fact about the account is not a setting)");
      return;
  }
}

/**
 * Every way `given` is weaker than `baseline`. `givenKeys` (the keys the given document states) adds
 * "missing" for a rule the baseline configures and the given document leaves out; the pack, which
 * sees only the engine's reconciled config, omits it and still sees what the omission changes.
 */
export function findWeakenings(
  rules: readonly RuleSchema[],
  baseline: EffectivePackConfig,
  given: EffectivePackConfig,
  keys?: { baseline: readonly string[]; given: readonly string[] },
): Weakening[] {
  const found: Weakening[] = [];
  for (const rule of rules) {
    const before = baseline.get(rule.name);
    const now = given.get(rule.name);
    if (before === undefined || now === undefined) continue;
    if (keys !== undefined && keys.baseline.includes(rule.name) && !keys.given.includes(rule.name)) {
      found.push({
        key: rule.name,
        baseline: "configured",
        given: "(missing)",
        problem: "the rule's entry is missing",
      });
    }
    if (LEVEL_RANK[now.level] < LEVEL_RANK[before.level]) {
      found.push({
        key: `${rule.name}.enforcementLevel`,
        baseline: before.level,
        given: now.level,
        problem: now.level === "disabled" ? "the rule is disabled" : "the enforcement level is lower",
      });
    }
    if (now.level === "disabled" || rule.schema === undefined) continue;
    const parse = (properties: Readonly<Record<string, unknown>>) => {
      const parsed = rule.schema!.safeParse(properties);
      return parsed.success ? (parsed.data as Record<string, unknown>) : properties;
    };
    const base = parse(before.properties);
    const next = parse(now.properties);
    for (const [field, fieldSchema] of Object.entries(rule.schema.shape as Record<string, z.ZodType>))
      compareField(fieldSchema, base[field], next[field], `${rule.name}.${field}`, found);
  }
  return found;
}

/**
 * The level of a weakening verdict: the baseline's own level for pack-config-not-weakened, which the
 * given config cannot change. Prod's baseline ("all": "mandatory") makes it mandatory; dev's
 * ("all": "advisory") keeps dev advisory, still reported.
 */
export function weakeningLevel(baseline: EffectivePackConfig, ruleName: string): "mandatory" | "advisory" {
  return LEVEL_RANK[baseline.get(ruleName)?.level ?? "advisory"] >= LEVEL_RANK.mandatory
    ? "mandatory"
    : "advisory";
}

/** "<baseline file>: <key>": where a weakening verdict points. */
export function weakeningResource(baselineFile: string, weakening: Weakening): string {
  return `${baselineFile}: ${weakening.key}`;
}

/** One line per weakening: the key, baseline vs given, and the fix. */
export function describeWeakening(
  weakening: Weakening,
  files: { baseline: string; given: string },
  fix: string,
): string {
  return (
    `${weakening.key} is weaker in ${files.given} than in the stack's baseline ${files.baseline}: ${weakening.problem}; ` +
    `baseline ${weakening.baseline}, given ${weakening.given}. Fix: ${fix}`
  );
}
