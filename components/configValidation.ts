/**
 * Reads the stack config and validates it in full before the program registers anything: every key
 * through its schema, then what no single key can check. An error names the config key and path, the
 * value found, what was expected and where to fix it.
 */
import {
  CONFIG_NAMESPACE,
  CONFIG_SCHEMA,
  type ConfigKey,
  type ParsedKeys,
  type StackConfig,
} from "../core/config";
import { declareFlows, type DeclaredFlow } from "../core/flowTable";

import { ConfigError } from "../core/configError";

const OBJECT_KEYS: ReadonlySet<ConfigKey> = new Set([
  "deployments",
  "cluster",
  "services",
  "flows",
  "dataStores",
  "alb",
  "dns",
  "paymentApi",
  "rollout",
]);

function renderPath(key: string, path: readonly PropertyKey[]): string {
  return [`${CONFIG_NAMESPACE}:${key}`, ...path.map(String)].join(".");
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = root;
  for (const segment of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}

function describeValue(value: unknown): string {
  return value === undefined ? "nothing" : JSON.stringify(value);
}

/** Config keys of this program that are not validated by `CONFIG_SCHEMA` (they hold secrets). */
const SECRET_KEYS = ["kubeconfig"] as const;

/**
 * Reads and validates every key. `values` is the whole stack config as Pulumi holds it: fully
 * qualified keys, objects as JSON text (as the CLI passes structured config).
 */
export function parseStackConfig(values: Readonly<Record<string, string>>, stackFile: string): StackConfig {
  const rawValue = (key: string): string | undefined => values[key];
  const problems: string[] = [];
  const knownKeys = new Set([...Object.keys(CONFIG_SCHEMA), ...SECRET_KEYS]);
  for (const fullKey of Object.keys(values)) {
    const [namespace, key] = fullKey.split(":", 2);
    if (namespace === CONFIG_NAMESPACE && key !== undefined && !knownKeys.has(key)) {
      problems.push(`${fullKey}: unknown key; expected one of ${[...knownKeys].join(", ")}`);
    }
  }
  const parsed: Partial<Record<ConfigKey, unknown>> = {};
  for (const key of Object.keys(CONFIG_SCHEMA) as ConfigKey[]) {
    const text = rawValue(`${CONFIG_NAMESPACE}:${key}`);
    let value: unknown = text;
    if (text !== undefined && OBJECT_KEYS.has(key)) {
      try {
        value = JSON.parse(text);
      } catch {
        problems.push(
          `${renderPath(key, [])}: got ${describeValue(text)}; expected a YAML ${key === "flows" ? "list" : "map"} (structured config), see docs/configuration.md`,
        );
        continue;
      }
    }
    const result = CONFIG_SCHEMA[key].safeParse(value);
    if (result.success) {
      parsed[key] = result.data;
      continue;
    }
    for (const issue of result.error.issues) {
      const found = valueAt(value, issue.path);
      const expected =
        issue.code === "unrecognized_keys"
          ? `only known keys (unknown: ${issue.keys.join(", ")})`
          : found === undefined && issue.code === "invalid_type"
            ? "a value (this key is required)"
            : issue.message;
      problems.push(`${renderPath(key, issue.path)}: got ${describeValue(found)}; expected ${expected}`);
    }
  }
  const flows =
    parsed.services !== undefined && parsed.flows !== undefined
      ? checkServices(parsed as Pick<ParsedKeys, "services" | "flows" | "rollout" | "deployments">, problems)
      : [];
  if (problems.length > 0) {
    throw new ConfigError(
      `invalid stack config in ${stackFile}:\n  - ${problems.join("\n  - ")}\n` +
        `Fix the values above in ${stackFile} (or with 'pulumi config set --path'); docs/configuration.md shows an example of every key.`,
    );
  }
  const kubeconfig = rawValue(`${CONFIG_NAMESPACE}:kubeconfig`);
  return { ...(parsed as ParsedKeys), flows, kubeconfig };
}

/**
 * What no single key can check: the flows against the services, and every service's rollout
 * flags and Deployment name against the services. Returns the flows; problems are appended.
 */
function checkServices(
  parsed: Partial<Pick<ParsedKeys, "rollout" | "deployments">> & Pick<ParsedKeys, "services" | "flows">,
  problems: string[],
): DeclaredFlow[] {
  const services = Object.keys(parsed.services);
  const declared = declareFlows(parsed.flows, services);
  for (const problem of declared.problems) {
    const where = problem.paths.map((path) => renderPath(problem.key, path)).join(", ");
    problems.push(
      `${where}: got ${describeValue(problem.found)}; expected ${problem.expected}. Fix: ${problem.fix}`,
    );
  }
  const rollout = parsed.rollout?.services;
  if (rollout !== undefined) {
    for (const service of services) {
      if (rollout[service] !== undefined) continue;
      problems.push(
        `${renderPath("rollout", ["services", service])}: got nothing; expected the rollout flags of service ${service} ` +
          `({ingress: off|enforce, egress: off|enforce}), stated in every stack so a new service never starts enforced by accident. ` +
          `Fix: add rollout.services.${service} with ingress: "off" and egress: "off" to this stack file (enforce them stage by stage, docs/rollout.md)`,
      );
    }
    for (const service of Object.keys(rollout)) {
      if (services.includes(service)) continue;
      problems.push(
        `${renderPath("rollout", ["services", service])}: got flags for ${service}; expected only services of flash-netpol:services (${services.join(", ")}). ` +
          `Fix: remove rollout.services.${service}, or declare the service under flash-netpol:services`,
      );
    }
  }
  for (const service of Object.keys(parsed.deployments ?? {})) {
    if (services.includes(service)) continue;
    problems.push(
      `${renderPath("deployments", [service])}: got a Deployment for ${service}; expected only services of flash-netpol:services (${services.join(", ")}). ` +
        `Fix: remove deployments.${service}, or declare the service under flash-netpol:services`,
    );
  }
  return declared.flows;
}
