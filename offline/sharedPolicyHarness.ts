/**
 * One running pack per distinct start, shared for the rest of the process (a test run, or one CLI
 * invocation), and stopped together at its end.
 */
import {
  POLICY_PACK_DIR,
  PolicyHarness,
  stackPackConfigPath,
  type PolicyHarnessOptions,
} from "./policyHarness";
import { stackConfigOf } from "./stacks";

/** One key per distinct start: same stack, pack, pack config and stack config share a process. */
function harnessKey(options: PolicyHarnessOptions): string {
  const packConfig =
    options.packConfig instanceof Map ? [...options.packConfig.entries()] : (options.packConfig ?? null);
  return JSON.stringify([
    options.stack,
    options.packDir ?? POLICY_PACK_DIR,
    packConfig,
    options.project ?? null,
    options.organization ?? null,
    options.dryRun ?? true,
    options.stackConfig ?? {},
    options.stackTags ?? {},
  ]);
}

const sharedHarnesses = new Map<string, Promise<PolicyHarness>>();

/**
 * A running pack for these options, started on first use and kept for the rest of the process
 * (a test run, or one CLI invocation): Analyze and AnalyzeStack hold no state between previews, so
 * callers with the same options may share one process. Never `configure()` or `close()` a shared
 * harness; closeSharedPolicyHarnesses() stops them all.
 */
export function sharedPolicyHarness(given: PolicyHarnessOptions): Promise<PolicyHarness> {
  // Defaults made explicit, so callers that spell them out share the process with those that do not.
  const options: PolicyHarnessOptions = {
    ...given,
    packConfig: given.packConfig ?? stackPackConfigPath(given.stack),
    stackConfig: given.stackConfig ?? stackConfigOf(given.stack),
  };
  const key = harnessKey(options);
  let harness = sharedHarnesses.get(key);
  if (harness === undefined) {
    harness = PolicyHarness.start(options);
    sharedHarnesses.set(key, harness);
    harness.catch(() => sharedHarnesses.delete(key));
  }
  return harness;
}

export async function closeSharedPolicyHarnesses(): Promise<void> {
  const running = [...sharedHarnesses.values()];
  sharedHarnesses.clear();
  await Promise.all(running.map((harness) => harness.then((started) => started.close()).catch(() => {})));
}
