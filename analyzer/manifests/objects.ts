/**
 * Kubernetes objects read from manifests, sorted into what the analyzer evaluates: namespaces,
 * one pod per workload (from a Pod or a controller's pod template), Services and NetworkPolicies.
 * Every other kind is counted, not evaluated.
 */
import { z } from "zod";
import type { ServiceInfo } from "../eks/model";
import { servicesFromKubectl } from "../eks/kubectlServices";
import {
  portNumberSchema,
  type ContainerPort,
  type Labels,
  type NamespaceInfo,
  type NetworkPolicy,
} from "../../core/kubernetes";
import { formatJsonPath } from "../scenario";
import { networkPolicySchema } from "../scenarioSchema";
import { ManifestError, type LocatedObject } from "./documents";

export const DEFAULT_NAMESPACE = "default";
export const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

/** The workload a pod belongs to, named as `ns/name[Kind]`. */
export interface Workload {
  readonly namespace: string;
  readonly name: string;
  readonly kind: string;
  readonly labels: Labels;
  readonly ports: readonly ContainerPort[];
  /**
   * Evaluated as any pod (as np-guard does; Kubernetes leaves policy on host-network pods
   * undefined), and listed so readers know a real cluster sees the node's address instead.
   */
  readonly hostNetwork: boolean;
}

export interface ManifestSet {
  readonly namespaces: readonly NamespaceInfo[];
  readonly workloads: readonly Workload[];
  readonly services: readonly ServiceInfo[];
  readonly policies: readonly NetworkPolicy[];
  /** Objects of kinds the analyzer does not evaluate, counted by kind. */
  readonly ignored: Readonly<Record<string, number>>;
}

export function workloadName(workload: Pick<Workload, "namespace" | "name" | "kind">): string {
  return `${workload.namespace}/${workload.name}[${workload.kind}]`;
}

const labels = z.record(z.string(), z.string());
// np-guard names a pod whose controller omits "kind" by the controller's name, as a Pod.
const ownerReference = z.object({
  kind: z.string().default("Pod"),
  name: z.string(),
  controller: z.boolean().optional(),
});
const metadata = z.object({
  name: z.string().min(1, { error: "expected metadata.name" }),
  namespace: z.string().min(1).optional(),
  labels: labels.optional(),
  ownerReferences: z.array(ownerReference).optional(),
});
const containerPort = z.object({
  name: z.string().min(1).optional(),
  // Absent (e.g. a misspelt key): the entry declares no port, as np-guard reads it.
  containerPort: portNumberSchema.optional(),
  protocol: z.enum(["TCP", "UDP", "SCTP"]).default("TCP"),
});
const podSpec = z.object({
  hostNetwork: z.boolean().optional(),
  containers: z.array(z.object({ ports: z.array(containerPort).optional() })).default([]),
});
const podTemplate = z.object({ metadata: z.object({ labels: labels.optional() }).optional(), spec: podSpec });
const podObject = z.object({ metadata, spec: podSpec });
const templated = z.object({ metadata, spec: z.object({ template: podTemplate }) });
const cronJob = z.object({
  metadata,
  spec: z.object({ jobTemplate: z.object({ spec: z.object({ template: podTemplate }) }) }),
});
const namespaceObject = z.object({
  metadata: z.object({ name: z.string().min(1), labels: labels.optional() }),
});

/** Controllers whose pod template the analyzer reads (np-guard's workload kinds). */
const TEMPLATED_KINDS = new Set([
  "Deployment",
  "ReplicaSet",
  "StatefulSet",
  "DaemonSet",
  "ReplicationController",
  "Job",
]);

/** YAML `key: ~` means the field is unset, as the API server decodes it. */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, field]) => field !== null)
      .map(([key, field]) => [key, withoutNulls(field)]),
  );
}

function parseWith<T>(schema: z.ZodType<T>, located: LocatedObject): T {
  const parsed = schema.safeParse(withoutNulls(located.object));
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const item = located.itemIndex === undefined ? "" : `items[${located.itemIndex}]`;
  const kind = String(located.object.kind);
  throw new ManifestError(
    located.file,
    located.documentIndex,
    located.line,
    `${kind} ${formatJsonPath(issue.path).replace("$", `$${item === "" ? "" : `.${item}`}`)}: ${issue.message}`,
  );
}

/**
 * The controlling owner; a Node "controls" only mirror pods of static manifests, which keep their
 * own name (np-guard internal/k8s/pod.go addPodOwner).
 */
function controllerOf(
  meta: z.infer<typeof metadata> | undefined,
): { kind: string; name: string } | undefined {
  const controller = meta?.ownerReferences?.find((reference) => reference.controller === true);
  return controller?.kind === "Node" ? undefined : controller;
}

function portsOf(spec: z.infer<typeof podSpec>): ContainerPort[] {
  return spec.containers.flatMap((container) =>
    (container.ports ?? []).flatMap((port) =>
      port.containerPort === undefined
        ? []
        : [
            {
              ...(port.name === undefined ? {} : { name: port.name }),
              port: port.containerPort,
              protocol: port.protocol,
            },
          ],
    ),
  );
}

interface RawWorkload {
  readonly meta: z.infer<typeof metadata>;
  readonly kind: string;
  readonly labels: Labels;
  readonly spec: z.infer<typeof podSpec>;
}

/** Sorts located objects into a ManifestSet; a malformed object is a ManifestError. */
export function manifestSetOf(objects: readonly LocatedObject[]): ManifestSet {
  const namespaceLabels = new Map<string, Labels>();
  const raw: RawWorkload[] = [];
  const services: ServiceInfo[] = [];
  const policies: NetworkPolicy[] = [];
  const ignored: Record<string, number> = {};
  for (const located of objects) {
    const kind = String(located.object.kind);
    if (kind === "Namespace") {
      const parsed = parseWith(namespaceObject, located);
      namespaceLabels.set(parsed.metadata.name, parsed.metadata.labels ?? {});
    } else if (kind === "Pod") {
      const parsed = parseWith(podObject, located);
      raw.push({ meta: parsed.metadata, kind, labels: parsed.metadata.labels ?? {}, spec: parsed.spec });
    } else if (TEMPLATED_KINDS.has(kind)) {
      const { metadata: meta, spec } = parseWith(templated, located);
      raw.push({ meta, kind, labels: spec.template.metadata?.labels ?? {}, spec: spec.template.spec });
    } else if (kind === "CronJob") {
      const { metadata: meta, spec } = parseWith(cronJob, located);
      const template = spec.jobTemplate.spec.template;
      raw.push({ meta, kind, labels: template.metadata?.labels ?? {}, spec: template.spec });
    } else if (kind === "Service") {
      const withNamespace = withDefaultNamespace(located.object);
      try {
        services.push(...servicesFromKubectl([withNamespace], "Service"));
      } catch (error) {
        throw new ManifestError(located.file, located.documentIndex, located.line, (error as Error).message);
      }
    } else if (kind === "NetworkPolicy") {
      policies.push(parseWith(networkPolicySchema, { ...located, object: asDecodedPolicy(located.object) }));
    } else {
      ignored[kind] = (ignored[kind] ?? 0) + 1;
    }
  }
  const workloads = resolveWorkloads(raw);
  const used = [
    ...namespaceLabels.keys(),
    ...workloads.map((workload) => workload.namespace),
    ...policies.map((policy) => policy.metadata.namespace),
    ...services.map((service) => service.namespace),
  ];
  // The API server stamps kubernetes.io/metadata.name on every namespace and overrides any value.
  const namespaces = [...new Set(used)].sort().map((name) => ({
    name,
    labels: { ...(namespaceLabels.get(name) ?? {}), [NAMESPACE_NAME_LABEL]: name },
  }));
  return { namespaces, workloads, services, policies, ignored };
}

/**
 * A policy as the API server decodes it: no namespace means the default one, and an absent
 * spec.podSelector is Go's zero LabelSelector, which selects every pod of the namespace.
 */
function asDecodedPolicy(object: Record<string, unknown>): Record<string, unknown> {
  const withNamespace = withDefaultNamespace(object);
  const spec = (withNamespace.spec ?? {}) as Record<string, unknown>;
  return { ...withNamespace, spec: { ...spec, podSelector: spec.podSelector ?? {} } };
}

function withDefaultNamespace(object: Record<string, unknown>): Record<string, unknown> {
  const meta = (object.metadata ?? {}) as Record<string, unknown>;
  return { ...object, metadata: { ...meta, namespace: meta.namespace ?? DEFAULT_NAMESPACE } };
}

/**
 * Names each pod by its controlling owner, following the chain through owners the manifests hold
 * (a Deployment's ReplicaSet shows as the Deployment, a CronJob's Job as the CronJob); the first
 * object of a name wins, so a Deployment and its listed pods count once.
 */
function resolveWorkloads(raw: readonly RawWorkload[]): Workload[] {
  const byKindAndName = new Map<string, RawWorkload>();
  const keyOf = (namespace: string, kind: string, name: string): string => `${namespace}/${kind}/${name}`;
  for (const entry of raw) {
    byKindAndName.set(keyOf(entry.meta.namespace ?? DEFAULT_NAMESPACE, entry.kind, entry.meta.name), entry);
  }
  const workloads = new Map<string, Workload>();
  for (const entry of raw) {
    const namespace = entry.meta.namespace ?? DEFAULT_NAMESPACE;
    let owner = { kind: entry.kind, name: entry.meta.name };
    let controller = controllerOf(entry.meta);
    for (let depth = 0; controller !== undefined && depth < 8; depth++) {
      owner = { kind: controller.kind, name: controller.name };
      controller = controllerOf(byKindAndName.get(keyOf(namespace, owner.kind, owner.name))?.meta);
    }
    const workload: Workload = {
      namespace,
      name: owner.name,
      kind: owner.kind,
      labels: entry.labels,
      ports: portsOf(entry.spec),
      hostNetwork: entry.spec.hostNetwork === true,
    };
    const name = workloadName(workload);
    if (!workloads.has(name)) workloads.set(name, workload);
  }
  return [...workloads.values()].sort((a, b) => (workloadName(a) < workloadName(b) ? -1 : 1));
}
