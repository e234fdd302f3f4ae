/**
 * What verify reads from the cluster before it plans addresses: the namespace (its PodSecurity
 * label), the Services and EndpointSlices, and the pods. The live run gets them from kubectl
 * (`-o json`); the dry run from the recorded reads in fixtures/k8s/<stack>.json, which hold each
 * read under its own key exactly as kubectl printed it. One parser serves both.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { expandList } from "../analyzer/manifests/documents";
import { servicesFromKubectl } from "../analyzer/eks/kubectlServices";

const labels = z.record(z.string(), z.string()).optional().default({});
const metadata = z.object({ name: z.string(), namespace: z.string().optional(), labels });

const namespaceSchema = z.object({ metadata });
const sliceSchema = z.object({
  metadata,
  endpoints: z
    .array(
      z.object({
        addresses: z.array(z.string()),
        conditions: z.object({ ready: z.boolean().optional() }).optional(),
      }),
    )
    .nullish(),
});
const podSchema = z.object({
  metadata,
  spec: z
    .object({
      containers: z
        .array(
          z.object({
            name: z.string(),
            ports: z
              .array(
                z.object({
                  name: z.string().optional(),
                  containerPort: z.number(),
                  protocol: z.string().optional(),
                }),
              )
              .optional()
              .default([]),
          }),
        )
        .optional()
        .default([]),
    })
    .optional(),
  status: z
    .object({
      phase: z.string().optional(),
      podIP: z.string().optional(),
      conditions: z.array(z.object({ type: z.string(), status: z.string() })).optional(),
    })
    .optional(),
});
const listOf = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item) });

export interface ServicePort {
  readonly port: number;
  readonly targetPort: number | string;
  readonly protocol: string;
}
export interface ClusterService {
  readonly name: string;
  readonly clusterIP?: string;
  readonly selector: Readonly<Record<string, string>>;
  readonly ports: readonly ServicePort[];
  readonly readyEndpoints: number;
}
export interface ClusterPod {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ip?: string;
  readonly running: boolean;
  readonly ready: boolean;
  readonly containerPorts: readonly { name?: string; containerPort: number }[];
}
export interface ClusterView {
  readonly namespace: string;
  readonly namespaceLabels: Readonly<Record<string, string>>;
  readonly services: readonly ClusterService[];
  readonly pods: readonly ClusterPod[];
}

export class ClusterReadError extends Error {}

function parse<T extends z.ZodType>(schema: T, value: unknown, what: string): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new ClusterReadError(
      `${what}: not what kubectl prints (${result.error.issues[0]?.message ?? "invalid"})`,
    );
  }
  return result.data;
}

function json(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ClusterReadError(`${what}: kubectl did not print JSON`);
  }
}

export interface ClusterReads {
  /** `kubectl get namespace NS -o json` */
  readonly namespace: unknown;
  /** `kubectl get services,endpointslices -n NS -o json`: one List of both kinds (or two lists). */
  readonly servicesAndSlices: readonly unknown[];
  /** `kubectl get pods -n NS -o json` */
  readonly pods: unknown;
}

export function clusterView(reads: ClusterReads): ClusterView {
  const namespace = parse(namespaceSchema, reads.namespace, "the namespace");
  // One reading of kubectl's lists for verify, plan and analyze: items without a kind are Services.
  const items = reads.servicesAndSlices.flatMap((list) => {
    const expanded = expandList(
      parse(z.object({ items: z.array(z.unknown()) }).loose(), list, "the Services and EndpointSlices"),
      "Service",
    );
    if (typeof expanded === "string")
      throw new ClusterReadError(`the Services and EndpointSlices: ${expanded}`);
    return expanded.map(({ object }) => object);
  });
  const kindOf = (item: unknown) => (item as { kind?: string }).kind;
  const slices = items
    .filter((item) => kindOf(item) === "EndpointSlice")
    .map((item) => parse(sliceSchema, item, "an EndpointSlice"));
  // Services as the plan and `analyze` read them (analyzer/eks/kubectlServices.ts), plus readiness.
  let serviceInfos: ReturnType<typeof servicesFromKubectl>;
  try {
    serviceInfos = servicesFromKubectl(
      items.filter((item) => kindOf(item) === "Service" || kindOf(item) === undefined),
      "the Services",
    );
  } catch (error) {
    throw new ClusterReadError((error as Error).message);
  }
  const services = serviceInfos.map((service): ClusterService => {
    const ready = slices
      .filter((slice) => slice.metadata.labels["kubernetes.io/service-name"] === service.name)
      .flatMap((slice) => slice.endpoints ?? [])
      // EndpointSlice: a nil ready condition is interpreted as ready (discovery/v1 types.go).
      .filter((endpoint) => endpoint.conditions?.ready !== false).length;
    return {
      name: service.name,
      clusterIP: service.clusterIP,
      selector: service.selector ?? {},
      ports: service.ports.map((port) => ({
        port: port.port,
        targetPort: port.targetPort,
        protocol: port.protocol,
      })),
      readyEndpoints: ready,
    };
  });
  const pods = parse(listOf(podSchema), reads.pods, "the pods").items.map((pod): ClusterPod => ({
    name: pod.metadata.name,
    labels: pod.metadata.labels,
    ip: pod.status?.podIP,
    running: pod.status?.phase === "Running",
    ready: (pod.status?.conditions ?? []).some(
      (condition) => condition.type === "Ready" && condition.status === "True",
    ),
    containerPorts: (pod.spec?.containers ?? []).flatMap((container) => container.ports),
  }));
  return { namespace: namespace.metadata.name, namespaceLabels: namespace.metadata.labels, services, pods };
}

export function clusterViewFromJson(reads: {
  namespace: string;
  servicesAndSlices: string;
  pods: string;
}): ClusterView {
  return clusterView({
    namespace: json(reads.namespace, "the namespace"),
    servicesAndSlices: [json(reads.servicesAndSlices, "the Services and EndpointSlices")],
    pods: json(reads.pods, "the pods"),
  });
}

/** The recorded cluster of a stack (fixtures/k8s/<stack>.json), for the dry run. */
export function recordedClusterView(projectRoot: string, stack: string): ClusterView | undefined {
  const file = path.join(projectRoot, "fixtures", "k8s", `${stack}.json`);
  if (!fs.existsSync(file)) return undefined;
  const recorded = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
  if (recorded.namespace === undefined || recorded.pods === undefined) return undefined;
  const tagged = (list: unknown, kind: string) => ({
    items: ((list as { items?: unknown[] } | undefined)?.items ?? []).map((item) => ({
      kind,
      ...(item as object),
    })),
  });
  return clusterView({
    namespace: recorded.namespace,
    servicesAndSlices: [
      tagged(recorded.services, "Service"),
      tagged(recorded.endpointSlices, "EndpointSlice"),
    ],
    pods: recorded.pods,
  });
}
