/**
 * The policy pack's verdicts on a plan: the same pack process and gRPC calls `pulumi preview
 * --policy-pack policies --policy-pack-config policies/config/<stack>.json` would make, over the
 * resources the program registered offline.
 */
import * as fs from "node:fs";
import { POLICY_PACK_CONFIG_DIR, withPolicyHarness, type PolicyVerdict } from "./policyHarness";
import { fromRegisteredResources } from "./policyResources";
import type { ProgramRun } from "./runProgram";
import * as path from "node:path";

/** The stack's pack config file, when there is one; otherwise the pack runs on its defaults (advisory). */
export function packConfigFileFor(stack: string): string | undefined {
  const file = path.join(POLICY_PACK_CONFIG_DIR, `${stack}.json`);
  return fs.existsSync(file) ? file : undefined;
}

export async function planPolicyVerdicts(
  run: ProgramRun,
  packConfigFile: string | undefined = packConfigFileFor(run.stack),
): Promise<PolicyVerdict[]> {
  return withPolicyHarness(
    { stack: run.stack, packConfig: packConfigFile ?? new Map(), stackConfig: run.config },
    (harness) => harness.preview(fromRegisteredResources(run.resources)),
  );
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
