/**
 * pack-config-not-weakened: the config the engine runs the pack with is not weaker than the stack's
 * baseline, policies/config/<stack>.json, which ships inside the pack (package.json `files`). The
 * stack comes from the resources' URNs (urn:pulumi:<stack>::...). A weakening is reported at the
 * level the BASELINE gives this rule (mandatory for prod, advisory for dev), whatever the running
 * config says of it (the per-diagnostic level, which the engine honours: docs/fidelity/policy-pack.md "Pack
 * config weakening").
 *
 * The engine hands each rule only its own config, without its level, and never calls a disabled
 * rule (@pulumi/policy 1.21.0 server.js:327-330, 448-459). What every rule runs with is learned
 * from the server itself: its exported makeAnalyzeStackRpcFun builds an AnalyzeStack handler over
 * probe policies named like the pack's rules; the handler looks each up in the config the engine
 * sent (server.js:327) and calls the probes that are not disabled with that rule's getConfig, and
 * a probe's report carries the rule's effective level (server.js:346, 674-703).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type {
  EnforcementLevel,
  Policies,
  PolicyResource,
  ReportViolation,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { report, zodConfigOf } from "./common";
import {
  describeWeakening,
  effectivePackConfig,
  findWeakenings,
  weakeningLevel,
  type EffectiveRuleConfig,
  type RuleDefaults,
} from "./packConfigWeakening";

export const NAME = "pack-config-not-weakened";
export const DESCRIPTION =
  "The pack config is not weaker than the stack's baseline policies/config/<stack>.json: no lower level, no disabled rule, no grown allow list, no later exemption, no changed fact.";

/** The AnalyzeStack handler factory @pulumi/policy 1.21.0 exports (server.js:315, 446); its .d.ts is empty. */
interface AnalyzeStackResponse {
  getDiagnosticsList(): { getPolicyname(): string; getEnforcementlevel(): number }[];
}
type AnalyzeStackHandler = (
  call: { request: { getResourcesList(): unknown[] } },
  callback: (error: unknown, response?: AnalyzeStackResponse) => void,
) => Promise<void>;
interface PolicyServer {
  makeAnalyzeStackRpcFun(
    packName: string,
    version: string,
    packLevel: EnforcementLevel,
    policies: Policies,
  ): AnalyzeStackHandler;
}

/** pulumirpc.EnforcementLevel (analyzer.proto): the numbers on the wire. */
const WIRE_LEVELS: readonly EnforcementLevel[] = ["advisory", "mandatory", "disabled", "remediate"];

/** The rules and the pack's own level, given by policies/rules/index.ts (no import cycle). */
export interface PackRules {
  readonly packName: string;
  readonly packLevel: EnforcementLevel;
  readonly rules: () => Policies;
}

/** The config the engine runs each rule with: level and properties, straight from the server. */
export async function configuredRules(pack: PackRules): Promise<Map<string, EffectiveRuleConfig>> {
  // server.d.ts declares nothing (`export {}`), so only require reaches the exported factory; the
  // same module instance that serves the pack, as Node caches it by path.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const server = require("@pulumi/policy/server") as PolicyServer;
  const properties = new Map<string, Record<string, unknown>>();
  const probes: StackValidationPolicy[] = pack.rules().map((rule) => ({
    name: rule.name,
    description: rule.description,
    enforcementLevel: rule.enforcementLevel,
    validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
      properties.set(rule.name, args.getConfig<Record<string, unknown>>());
      reportViolation("probe");
    },
  }));
  const handler = server.makeAnalyzeStackRpcFun(pack.packName, "0.0.0", pack.packLevel, probes);
  const response = await new Promise<AnalyzeStackResponse>((resolve, reject) => {
    void handler({ request: { getResourcesList: () => [] } }, (error, answer) =>
      error || answer === undefined ? reject(error ?? new Error("no answer")) : resolve(answer),
    );
  });
  const levels = new Map(
    response
      .getDiagnosticsList()
      .map((diagnostic) => [
        diagnostic.getPolicyname(),
        WIRE_LEVELS[diagnostic.getEnforcementlevel()] ?? "advisory",
      ]),
  );
  const configured = new Map<string, EffectiveRuleConfig>();
  for (const rule of pack.rules()) {
    // A rule the server did not call is disabled (server.js:328).
    configured.set(rule.name, {
      level: levels.get(rule.name) ?? "disabled",
      properties: properties.get(rule.name) ?? {},
    });
  }
  return configured;
}

/** The pack's own directory (PulumiPolicy.yaml), from policies/rules or compiled policies/bin/policies/rules. */
function packDirectory(): string | undefined {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "PulumiPolicy.yaml"))) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** urn:pulumi:<stack>::<project>::... */
export function stackOfUrn(urn: string): string | undefined {
  return /^urn:pulumi:([^:]+)::/.exec(urn)?.[1];
}

/** Each rule's defaults as the CLI fills them: the configSchema `default`s, then the rule's own level. */
function ruleDefaults(pack: PackRules): RuleDefaults[] {
  return pack.rules().map((rule) => ({
    name: rule.name,
    enforcementLevel: rule.enforcementLevel ?? pack.packLevel,
    defaults: Object.fromEntries(
      Object.entries(rule.configSchema?.properties ?? {}).flatMap(([key, schema]) =>
        (schema as { default?: unknown }).default === undefined
          ? []
          : [[key, (schema as { default?: unknown }).default]],
      ),
    ),
  }));
}

/**
 * Reports every weakening of the running config against the stack's baseline. `speaker` is the rule
 * calling: this rule, or a fallback that speaks only when this rule is disabled, so the config cannot
 * silence the report by disabling the rule that makes it.
 */
export async function reportPackConfigWeakening(
  pack: PackRules,
  resources: readonly PolicyResource[],
  reportViolation: ReportViolation,
  speaker: string,
): Promise<void> {
  const stack = resources.map((resource) => stackOfUrn(resource.urn)).find((name) => name !== undefined);
  const dir = packDirectory();
  if (stack === undefined || dir === undefined) return;
  const file = path.join(dir, "config", `${stack}.json`);
  if (!fs.existsSync(file)) return;
  const configured = await configuredRules(pack);
  if (speaker !== NAME && configured.get(NAME)?.level !== "disabled") return;
  const relative = `policies/config/${stack}.json`;
  const baseline = effectivePackConfig(
    ruleDefaults(pack),
    JSON.parse(fs.readFileSync(file, "utf8")) as unknown,
    relative,
  ).config;
  const rules = pack.rules().map((rule) => ({ name: rule.name, schema: zodConfigOf(rule.configSchema) }));
  for (const weakening of findWeakenings(rules, baseline, configured)) {
    report(reportViolation, DESCRIPTION, {
      message: describeWeakening(
        weakening,
        { baseline: `${relative} (shipped in the pack)`, given: "the pack config of this run" },
        `restore ${weakening.key} to the baseline in --policy-pack-config, or change ${relative} itself in a reviewed change of the pack`,
      ),
      forceLevel: weakeningLevel(baseline, NAME),
      policyName: NAME,
    });
  }
}

export function packConfigNotWeakened(pack: PackRules): StackValidationPolicy {
  return {
    name: NAME,
    description: DESCRIPTION,
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) =>
      reportPackConfigWeakening(pack, args.resources, reportViolation, NAME),
  };
}

/**
 * `rule` as it is, and when pack-config-not-weakened is disabled it reports the weakening in its
 * stead (under pack-config-not-weakened's name, mandatory): disabling one rule must not silence it.
 */
export function speakingForWeakening(rule: StackValidationPolicy, pack: PackRules): StackValidationPolicy {
  return {
    ...rule,
    validateStack: async (args, reportViolation) => {
      await rule.validateStack(args, reportViolation);
      await reportPackConfigWeakening(pack, args.resources, reportViolation, rule.name);
    },
  };
}
