/**
 * What every rule shares: the violation message format, reporting at a fixed level, the config
 * parse, and the guard that hands a resource rule only NetworkPolicies (and never the program's own
 * break-glass policy). `networkPolicyRule` puts them together so a rule module holds only its check.
 */
import type {
  EnforcementLevel,
  PolicyConfigSchema,
  PolicyProviderResource,
  ReportViolation,
  ResourceValidation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
} from "@pulumi/policy";
import { z } from "zod";
import { isProgramsBreakGlass } from "./breakGlassExemption";
import { describePolicy, type NetworkPolicyView } from "./k8s";
import { deepFreeze, memoisedOnFrozen } from "./memo";
import { notePackFacts, type PackFacts } from "./packFacts";
import { sharedProps } from "./sharedProps";
import { packStackConfig } from "./stackConfig";
import { NETWORK_POLICY_TYPE } from "../../core/resourceTypes";

export interface Violation {
  /** Which resource, what is wrong, and the fix; see `violation()`. */
  message: string;
  urn?: string;
  /**
   * A level the pack config cannot change: "advisory" below the configured one (break-glass,
   * rollout exemptions), "mandatory" above it (a weakened pack config, which must not be able to
   * lower its own verdict).
   */
  forceLevel?: Extract<EnforcementLevel, "advisory" | "mandatory">;
  /** Report under another rule's name (a stack rule speaking for a disabled one); default its own. */
  policyName?: string;
}

/** One message shape for every rule: "<Kind> <namespace>/<name>: <what is wrong>. Fix: <fix>". */
export function violation(resource: string, problem: string, fix: string): string {
  return `${resource}: ${problem}. Fix: ${fix}`;
}

/** The object form @pulumi/policy's server accepts besides (message, urn); not in its .d.ts. */
type ReportViolationObject = (info: {
  name?: string;
  message: string;
  urn?: string;
  enforcementLevel?: EnforcementLevel;
}) => void;

/**
 * Reports through the documented `(message, urn)` form, which the engine shows at the level the pack
 * config gives the rule. A forced level uses the object form that @pulumi/policy 1.21's server
 * (makeReportViolationFun) accepts and puts on the wire as the diagnostic's own enforcement level;
 * it is the only way to keep a diagnostic advisory when the config says "all": "mandatory".
 * tests/policies/policies.harness.test.ts checks through gRPC that the level arrives, so an SDK upgrade that
 * drops the object form fails the tests instead of silently blocking an emergency.
 */
export function report(reportViolation: ReportViolation, description: string, found: Violation): void {
  if (found.forceLevel === undefined && found.policyName === undefined) {
    reportViolation(found.message, found.urn);
    return;
  }
  const reportObject = reportViolation as unknown as ReportViolationObject;
  // Same text the string form produces (description, newline, message), so verdicts read alike.
  // The server takes `name` as the diagnostic's policy name (server.js:680, makeReportViolationFun).
  reportObject({
    ...(found.policyName === undefined ? {} : { name: found.policyName }),
    message: `${description}\n${found.message}`,
    urn: found.urn,
    ...(found.forceLevel === undefined ? {} : { enforcementLevel: found.forceLevel }),
  });
}

export interface PolicyUnderCheck {
  policy: NetworkPolicyView;
  /** "NetworkPolicy <namespace>/<name>". */
  resource: string;
  provider?: PolicyProviderResource;
  args: ResourceValidationArgs;
}

/**
 * A resource validation that sees only NetworkPolicies. The program's own break-glass policy is
 * skipped: an emergency allow-all must never be blocked, and `break-glass-active` reports it
 * (advisory). Any other policy carrying the label is judged like every policy
 * (breakGlassExemption.ts says why the label alone proves nothing).
 */
export function networkPolicyValidation(
  check: (target: PolicyUnderCheck) => Violation[],
  description: string,
): ResourceValidation {
  return (args, reportViolation) => {
    if (args.type !== NETWORK_POLICY_TYPE) return;
    // Every rule gets its own copy of the resource from the SDK; share one parse (sharedProps.ts).
    const policy = sharedProps(args.props) as NetworkPolicyView;
    if (isProgramsBreakGlass(policy, args.provider)) return;
    const resource = describePolicy(policy, args.name, args.provider);
    for (const found of check({ policy, resource, provider: args.provider, args })) {
      report(reportViolation, description, found);
    }
  };
}

/**
 * A rule's configSchema, derived from its zod config so the two never drift. The engine wants only
 * `properties` and `required` (PolicyConfigSchema); draft-4 output carries no `propertyNames`, and
 * `io: "input"` leaves keys with a default out of `required`, as the engine fills them from
 * `default` (pulumi pkg/resource/analyzer/config.go). Config schemas use only checks JSON Schema can
 * express, or state the keyword beside a refine with `.meta`, so the CLI's validation and the rule's
 * parse accept the same values.
 */
export function configSchemaOf(schema: z.ZodObject): PolicyConfigSchema {
  const configSchema = configSchemaJson(schema);
  zodConfigs.set(configSchema, schema);
  return configSchema;
}

/** The zod config each rule's configSchema was derived from, so the weakening check can walk its tags. */
const zodConfigs = new WeakMap<PolicyConfigSchema, z.ZodObject>();

/** The zod config behind a rule's configSchema (configSchemaOf); undefined for a rule without one. */
export function zodConfigOf(configSchema: PolicyConfigSchema | undefined): z.ZodObject | undefined {
  return configSchema === undefined ? undefined : zodConfigs.get(configSchema);
}

function configSchemaJson(schema: z.ZodObject): PolicyConfigSchema {
  const json = z.toJSONSchema(schema, { io: "input", target: "draft-4" }) as {
    properties?: PolicyConfigSchema["properties"];
    required?: string[];
  };
  return { properties: json.properties ?? {}, required: json.required ?? [] };
}

/**
 * Parsed configs per schema and stack config (whose text decides the defaults derived from the flow
 * table; packStackConfig hands out one object per text), by the config's JSON text: a handful per
 * pack process.
 */
const parsedConfigs = new WeakMap<z.ZodType, WeakMap<object, Map<string, unknown>>>();
const PARSED_CONFIGS_LIMIT = 64;

/**
 * The rule's config with its defaults applied by parsing, deep-frozen. The engine already filled
 * the defaults and validated against configSchemaOf(schema); parsing again gives a direct call
 * (tests, a stack rule reading another rule's config) the same values. Memoised by the config's
 * JSON text and the stack config: the engine's getConfig returns a fresh copy on every call
 * (@pulumi/policy 1.21.0 server.js:448-459), and parsing it anew for every rule and resource was a
 * visible share of the pack's time per resource. Frozen, because every call for that config gets
 * this same object, and so what rules derive from it can be memoised on it (memo.ts).
 */
export function parseRuleConfig<S extends z.ZodType>(
  schema: S,
  given: unknown,
  policyName: string,
  stackConfig: Readonly<Record<string, string>> = packStackConfig(),
): z.output<S> {
  const text = JSON.stringify(given ?? {});
  let byStackConfig = parsedConfigs.get(schema);
  if (byStackConfig === undefined) {
    byStackConfig = new WeakMap();
    parsedConfigs.set(schema, byStackConfig);
  }
  let byText = byStackConfig.get(stackConfig);
  if (byText === undefined) {
    byText = new Map();
    byStackConfig.set(stackConfig, byText);
  }
  if (byText.has(text)) return byText.get(text) as z.output<S>;
  const result = schema.safeParse(given ?? {});
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new Error(
      `pack config for ${policyName}: ${issue.path.join(".") || "(root)"}: ${issue.message}. ` +
        `Fix: correct "${policyName}" in the stack's policies/config/<stack>.json`,
    );
  }
  if (byText.size >= PARSED_CONFIGS_LIMIT) byText.clear();
  byText.set(text, deepFreeze(result.data));
  return result.data;
}

/** A NetworkPolicy rule: its name, text, zod config, the facts it states and its check. */
export interface NetworkPolicyRule<S extends z.ZodObject> {
  name: string;
  description: string;
  config: S;
  enforcementLevel?: EnforcementLevel;
  /** The account facts this rule's config states, for flows-match-flow-table to compare (packFacts.ts). */
  facts?: (config: z.output<S>) => PackFacts;
  /** `stackConfig`: the stack config the config's defaults came from (packStackConfig), read once per call. */
  check: (
    target: PolicyUnderCheck & { config: z.output<S>; stackConfig: Readonly<Record<string, string>> },
  ) => Violation[];
}

/**
 * The preamble every NetworkPolicy rule repeats, once: the configSchema derived from the zod
 * config, the config parsed (defaults applied, a clear error naming the rule otherwise), the facts
 * noted on every call, the NetworkPolicy and break-glass guard, and reporting in one message shape.
 */
export function networkPolicyRule<S extends z.ZodObject>(
  rule: NetworkPolicyRule<S>,
): ResourceValidationPolicy {
  const facts = rule.facts;
  // The facts depend on the config and, through defaults such as a store's callers, on the stack
  // config: memoised on both (each frozen), so every resource after the first only notes them.
  const factsOf =
    facts === undefined
      ? undefined
      : memoisedOnFrozen((config: object, _stackConfig: object) => facts(config as z.output<S>));
  return {
    name: rule.name,
    description: rule.description,
    ...(rule.enforcementLevel === undefined ? {} : { enforcementLevel: rule.enforcementLevel }),
    configSchema: configSchemaOf(rule.config),
    validateResource: (args, reportViolation) => {
      // Read once per call (each read copies PULUMI_CONFIG out of the environment); the config is
      // parsed at most once: noted facts need it for every resource, the check only for
      // NetworkPolicies other than the program's break-glass.
      const stackConfig = packStackConfig();
      let config: z.output<S> | undefined;
      const configForCall = () =>
        (config ??= parseRuleConfig(rule.config, args.getConfig(), rule.name, stackConfig));
      if (factsOf !== undefined) notePackFacts(factsOf(configForCall(), stackConfig));
      const validate = networkPolicyValidation(
        (target) => rule.check({ ...target, config: configForCall(), stackConfig }),
        rule.description,
      );
      return validate(args, reportViolation);
    },
  };
}
