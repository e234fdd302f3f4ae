/**
 * The stack's config as the CLI hands it to the pack process: `pulumi preview` sets PULUMI_CONFIG to
 * the stack's config (project config merged in, fully qualified keys), and so does the offline
 * harness (offline/policyHarness.ts). Empty for another project using the pack: then nothing that
 * depends on it (the break-glass exemption, the isolated workloads) is granted.
 */
import { CONFIG_NAMESPACE, CONFIG_SCHEMA } from "../../core/config";
import { declareFlows, describeEndpoint, type DeclaredFlow } from "../../core/flowTable";
import { deepFreeze, memoisedOnFrozenKey } from "./memo";

let cached: { text: string; values: Readonly<Record<string, string>> } | undefined;

/**
 * PULUMI_CONFIG parsed, the same frozen object while the variable's text stays the same (one
 * preview's whole life), so what is derived from it is memoised on it (memo.ts).
 */
export function packStackConfig(): Readonly<Record<string, string>> {
  const text = process.env.PULUMI_CONFIG ?? "{}";
  if (cached?.text === text) return cached.values;
  let values: Record<string, string> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === "object") values = parsed as Record<string, string>;
  } catch {
    values = {};
  }
  cached = { text, values: deepFreeze(values) };
  return cached.values;
}

/**
 * The namespace the program deploys to: flash-netpol:namespace, or the program's default when the
 * stack config (some flash-netpol key) leaves it out. Undefined when the pack was handed no
 * flash-netpol config at all, or a namespace the program itself would refuse.
 */
export function stackNamespace(): string | undefined {
  return namespaceOf(packStackConfig());
}

const namespaceOf = memoisedOnFrozenKey((config: Readonly<Record<string, string>>) => {
  if (!Object.keys(config).some((key) => key.startsWith(`${CONFIG_NAMESPACE}:`))) return undefined;
  const parsed = CONFIG_SCHEMA.namespace.safeParse(config[`${CONFIG_NAMESPACE}:namespace`]);
  return parsed.success ? parsed.data : undefined;
});

function parsedKey<T>(
  stackConfig: Readonly<Record<string, string>>,
  key: keyof typeof CONFIG_SCHEMA,
  structured: boolean,
): T | undefined {
  const text = stackConfig[`${CONFIG_NAMESPACE}:${key}`];
  let value: unknown = text;
  try {
    if (structured && text !== undefined) value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = CONFIG_SCHEMA[key].safeParse(value);
  return parsed.success ? (parsed.data as T) : undefined;
}

/** The stack's flow table as the pack reads it from the stack config: services, flows, namespace. */
export interface StackFlowTable {
  readonly namespace: string;
  readonly services: Readonly<Record<string, { readonly podLabels: Readonly<Record<string, string>> }>>;
  readonly flows: readonly DeclaredFlow[];
}

/**
 * flash-netpol:services, flows and namespace, checked as the program checks them. Undefined when the
 * config holds no valid table: another project using the pack, or a config the program refuses.
 */
export function stackFlowTableOf(
  stackConfig: Readonly<Record<string, string>> = packStackConfig(),
): StackFlowTable | undefined {
  return flowTableOf(stackConfig);
}

/** Parsing and checking the table was a third of the pack's time per resource: once per stack config. */
const flowTableOf = memoisedOnFrozenKey((stackConfig: Readonly<Record<string, string>>) => {
  type Services = StackFlowTable["services"];
  const services = parsedKey<Services>(stackConfig, "services", true);
  const entries = parsedKey<Parameters<typeof declareFlows>[0]>(stackConfig, "flows", true);
  const namespace = parsedKey<string>(stackConfig, "namespace", false);
  if (services === undefined || entries === undefined || namespace === undefined) return undefined;
  const declared = declareFlows(entries, Object.keys(services));
  if (declared.problems.length > 0) return undefined;
  const table: StackFlowTable = { namespace, services, flows: declared.flows };
  return table;
});

/** Every service of the stack's flow table as a workload; none without a table. */
export function stackWorkloads(
  table = stackFlowTableOf(),
): { namespace: string; podLabels: Record<string, string> }[] {
  if (table === undefined) return [];
  return Object.values(table.services).map(({ podLabels }) => ({
    namespace: table.namespace,
    podLabels: { ...podLabels },
  }));
}

/** The services the stack's flow table lets reach `endpoint` (redis, postgres, mq, payment-api); none without a table. */
export function stackCallersOf(
  endpoint: string,
  table = stackFlowTableOf(),
): { namespace: string; podLabels: Record<string, string> }[] {
  if (table === undefined) return [];
  return table.flows
    .filter((flow) => flow.from.kind === "service" && describeEndpoint(flow.to) === endpoint)
    .map((flow) => ({
      namespace: table.namespace,
      podLabels: { ...table.services[describeEndpoint(flow.from)]!.podLabels },
    }));
}
