/**
 * The stack's config as the CLI hands it to the pack process: `pulumi preview` sets PULUMI_CONFIG to
 * the stack's config (project config merged in, fully qualified keys), and so does the offline
 * harness (offline/policyHarness.ts). Empty for another project using the pack: then nothing that
 * depends on it (the break-glass exemption, the isolated workloads) is granted.
 */
import { CONFIG_NAMESPACE, CONFIG_SCHEMA } from "../../components/config";

let cached: { text: string; values: Record<string, string> } | undefined;

export function packStackConfig(): Record<string, string> {
  const text = process.env.PULUMI_CONFIG ?? "{}";
  if (cached?.text === text) return cached.values;
  let values: Record<string, string> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === "object") values = parsed as Record<string, string>;
  } catch {
    values = {};
  }
  cached = { text, values };
  return values;
}

/**
 * The namespace the program deploys to: flash-netpol:namespace, or the program's default when the
 * stack config (some flash-netpol key) leaves it out. Undefined when the pack was handed no
 * flash-netpol config at all, or a namespace the program itself would refuse.
 */
export function stackNamespace(): string | undefined {
  const config = packStackConfig();
  if (!Object.keys(config).some((key) => key.startsWith(`${CONFIG_NAMESPACE}:`))) return undefined;
  const parsed = CONFIG_SCHEMA.namespace.safeParse(config[`${CONFIG_NAMESPACE}:namespace`]);
  return parsed.success ? parsed.data : undefined;
}
