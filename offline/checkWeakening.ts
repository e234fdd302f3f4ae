/**
 * `check --stack S --policy-pack-config F`: F may not be weaker than S's baseline,
 * policies/config/S.json. The comparison is the pack's own (policies/rules/packConfigWeakening.ts);
 * here both files are made effective with the defaults the running pack reported in GetAnalyzerInfo
 * (levels and configSchema defaults, the isolated workloads derived from the stack's flow table
 * among them), as the CLI would, and the given file's missing rule entries are named too.
 */
import * as fs from "node:fs";
import type { AnalyzerInfoSummary, PolicyVerdict } from "./policyHarness";
import { RULES } from "../policies/rules";
import { zodConfigOf } from "../policies/rules/common";
import {
  describeWeakening,
  effectivePackConfig,
  findWeakenings,
  weakeningResource,
  type RuleDefaults,
} from "../policies/rules/packConfigWeakening";
import { DESCRIPTION, NAME } from "../policies/rules/packConfigNotWeakened";

export { NAME as WEAKENING_POLICY };

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as unknown;
  } catch (error) {
    throw new Error(`${file}: cannot be read as JSON (${(error as Error).message})`);
  }
}

export interface WeakeningFiles {
  /** As shown: "policies/config/prod.json". */
  baseline: string;
  baselinePath: string;
  /** As given on the command line. */
  given: string;
  givenPath: string;
}

/**
 * One verdict per weakening: mandatory for every stack (check is what CI runs on a config change,
 * and a weakened dev config is as much a silent switch-off as prod's), advisory with `allowWeaker`
 * (still shown). The pack's own rule keeps the baseline's level, so a dev preview is never blocked.
 */
export function packConfigWeakenings(
  info: AnalyzerInfoSummary,
  files: WeakeningFiles,
  allowWeaker: boolean,
): PolicyVerdict[] {
  const defaults: RuleDefaults[] = info.policies.map((policy) => ({
    name: policy.name,
    enforcementLevel: policy.enforcementLevel,
    defaults: Object.fromEntries(
      Object.entries(policy.configSchema?.properties ?? {}).flatMap(([key, schema]) => {
        const value = (schema as { default?: unknown } | null)?.default;
        return value === undefined ? [] : [[key, value]];
      }),
    ),
  }));
  const baseline = effectivePackConfig(defaults, readJson(files.baselinePath), files.baseline);
  const given = effectivePackConfig(defaults, readJson(files.givenPath), files.given);
  const rules = RULES.map((rule) => ({ name: rule.name, schema: zodConfigOf(rule.configSchema) }));
  const level = allowWeaker ? "advisory" : "mandatory";
  return findWeakenings(rules, baseline.config, given.config, {
    baseline: baseline.keys,
    given: given.keys,
  }).map((weakening) => ({
    policy: NAME,
    level,
    message: `${DESCRIPTION}\n${describeWeakening(
      weakening,
      { baseline: files.baseline, given: files.given },
      `restore ${weakening.key} in ${files.given} to the baseline's value, or change ${files.baseline} itself in a reviewed change` +
        (allowWeaker
          ? ""
          : "; to judge a deliberately weaker config anyway, pass --allow-weaker-pack-config"),
    )}`,
    resource: weakeningResource(files.baseline, weakening),
  }));
}
