import { readFileSync } from "node:fs";
import type { z } from "zod";
import type { Cluster, Endpoint, PodInfo, Probe } from "../core/kubernetes";
import { podKey } from "../core/kubernetes";
import { scenarioSchema, type ProbeEndpointRef, type ScenarioDocument } from "./scenarioSchema";

/** A scenario input problem, located precisely enough to fix by hand. */
export class ScenarioError extends Error {
  constructor(
    readonly file: string,
    /** JSON path such as `$.policies[0].spec.podSelector`, or `$` for the whole document. */
    readonly jsonPath: string,
    readonly problem: string,
  ) {
    super(`${file}: ${jsonPath}: ${problem}`);
    this.name = "ScenarioError";
  }
}

export interface Scenario {
  readonly document: ScenarioDocument;
  readonly cluster: Cluster;
  /** Probes in document order, endpoints resolved to pods or external addresses. */
  readonly probes: readonly Probe[];
}

export function formatJsonPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (text, segment) => (typeof segment === "number" ? `${text}[${segment}]` : `${text}.${String(segment)}`),
    "$",
  );
}

function firstIssue(error: z.ZodError): { path: string; message: string } {
  const issue = error.issues[0];
  return { path: formatJsonPath(issue.path), message: issue.message };
}

function checkReferences(document: ScenarioDocument, file: string): Map<string, PodInfo> {
  const namespaceNames = new Set<string>();
  document.namespaces.forEach((namespace, index) => {
    if (namespaceNames.has(namespace.name)) {
      throw new ScenarioError(file, `$.namespaces[${index}].name`, `duplicate namespace "${namespace.name}"`);
    }
    namespaceNames.add(namespace.name);
  });
  const pods = new Map<string, PodInfo>();
  document.pods.forEach((pod, index) => {
    if (!namespaceNames.has(pod.namespace)) {
      throw new ScenarioError(
        file,
        `$.pods[${index}].namespace`,
        `expected a namespace listed in $.namespaces, got "${pod.namespace}"`,
      );
    }
    if (pods.has(podKey(pod))) {
      throw new ScenarioError(file, `$.pods[${index}]`, `duplicate pod "${podKey(pod)}"`);
    }
    pods.set(podKey(pod), pod);
  });
  return pods;
}

function resolveEndpoint(
  ref: ProbeEndpointRef,
  pods: Map<string, PodInfo>,
  file: string,
  path: string,
): Endpoint {
  if (typeof ref !== "string") return { kind: "external", ip: ref.ip };
  const pod = pods.get(ref);
  if (pod === undefined) {
    throw new ScenarioError(file, path, `expected a pod listed in $.pods, got unknown pod "${ref}"`);
  }
  return { kind: "pod", pod };
}

/** Parses and validates scenario JSON text; `file` only labels error messages. */
export function parseScenario(text: string, file: string): Scenario {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ScenarioError(file, "$", `expected valid JSON (${(error as Error).message})`);
  }
  const parsed = scenarioSchema.safeParse(raw);
  if (!parsed.success) {
    const { path, message } = firstIssue(parsed.error);
    throw new ScenarioError(file, path, message);
  }
  const document = parsed.data;
  const pods = checkReferences(document, file);
  const probes = document.probes.map((probe, index) => ({
    from: resolveEndpoint(probe.from, pods, file, `$.probes[${index}].from`),
    to: resolveEndpoint(probe.to, pods, file, `$.probes[${index}].to`),
    port: probe.port,
    protocol: probe.protocol,
  }));
  // The API server stamps this label on every namespace (and overrides any other value), so
  // selectors may rely on it even when a scenario forgets to list it.
  const namespaces = document.namespaces.map((namespace) => ({
    ...namespace,
    labels: { ...namespace.labels, "kubernetes.io/metadata.name": namespace.name },
  }));
  const cluster: Cluster = { namespaces, pods: document.pods, policies: document.policies };
  return { document, cluster, probes };
}

export function loadScenarioFile(file: string): Scenario {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ScenarioError(
      file,
      "$",
      `cannot read file (${(error as NodeJS.ErrnoException).code ?? "error"})`,
    );
  }
  return parseScenario(text, file);
}
