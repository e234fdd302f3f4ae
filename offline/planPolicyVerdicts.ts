/**
 * The policy pack's verdicts on a plan: the same pack process and gRPC calls `pulumi preview
 * --policy-pack policies --policy-pack-config policies/config/<stack>.json` would make, over the
 * resources the program registered offline.
 */
import * as fs from "node:fs";
import { POLICY_PACK_CONFIG_DIR, type PolicyHarness, type PolicyVerdict } from "./policyHarness";
import { sharedPolicyHarness } from "./sharedPolicyHarness";
import { fromRegisteredResources } from "./policyResources";
import type { ProgramRun } from "./runProgram";
import * as path from "node:path";

/** The stack's pack config file, when there is one; otherwise the pack runs on its defaults (advisory). */
export function packConfigFileFor(stack: string): string | undefined {
  const file = path.join(POLICY_PACK_CONFIG_DIR, `${stack}.json`);
  return fs.existsSync(file) ? file : undefined;
}

/**
 * The pack as `pulumi preview` starts it for this stack: its pack config, and the stack's config in
 * its environment. Shared, so a plan can start it before the program has run.
 */
export function startPlanPolicyHarness(
  stack: string,
  stackConfig: Record<string, string>,
  packConfigFile: string | undefined = packConfigFileFor(stack),
): Promise<PolicyHarness> {
  return sharedPolicyHarness({ stack, packConfig: packConfigFile ?? new Map(), stackConfig });
}

/** Analyze every registered resource, then AnalyzeStack, as a preview does. */
export async function planPolicyVerdicts(
  run: ProgramRun,
  harness: PolicyHarness | Promise<PolicyHarness> = startPlanPolicyHarness(run.stack, run.config),
): Promise<PolicyVerdict[]> {
  return (await harness).preview(fromRegisteredResources(run.resources));
}

export function renderPolicyVerdicts(
  verdicts: readonly PolicyVerdict[],
  packConfigFile: string | undefined,
): string {
  const source =
    packConfigFile === undefined ? "pack defaults" : path.relative(process.cwd(), packConfigFile);
  if (verdicts.length === 0) return `Policy pack (${source}): no violations\n`;
  const lines = [`Policy pack (${source}): ${verdicts.length} violation(s)`];
  const order = ["mandatory", "remediate", "advisory", "disabled"];
  for (const verdict of [...verdicts].sort((a, b) => order.indexOf(a.level) - order.indexOf(b.level))) {
    // The pack prefixes each message with the rule's description; the second line says what and where.
    const detail = verdict.message.split("\n").slice(-1)[0];
    lines.push(`  [${verdict.level}] ${verdict.policy}: ${detail}`);
  }
  return lines.join("\n") + "\n";
}
