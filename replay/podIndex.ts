/**
 * The pods of `kubectl get pods -A -o json`, indexed by IP: who an address in a flow log was.
 *
 * A pod's workload is its owning Deployment (the ReplicaSet's name less the pod-template-hash), else
 * its other controller (StatefulSet, DaemonSet, Job...), else the pod itself. Pods on the host network
 * share the node's address and are not subject to NetworkPolicy, so they are left out of the index.
 *
 * Nodes are indexed by `status.hostIP` (the node's primary address) with the pods on the pod network
 * they carry: in the default flow-log format that address stands for every one of them (see
 * flowLogRecords.ts), so a node that carries any is not an attribution of its own.
 */
import * as fs from "node:fs";
import * as YAML from "yaml";
import { z } from "zod";
import type { ContainerPort, PodInfo, Protocol } from "../analyzer";
import { portNumberSchema, protocolOf } from "../core/kubernetes";
import { ReplayInputError, lineOfOffset } from "./inputError";

export interface IndexedPod {
  readonly info: PodInfo;
  /** `namespace/name` of the owning workload. */
  readonly workload: string;
  readonly phase: string;
}

/** A node by its primary address, and the `namespace/name` of the pod-network pods it carries. */
export interface IndexedNode {
  readonly podNetworkPods: readonly string[];
}

export interface PodIndex {
  readonly byIp: ReadonlyMap<string, IndexedPod>;
  readonly nodesByIp: ReadonlyMap<string, IndexedNode>;
  /** Every indexed pod, for the analyzer's cluster. */
  readonly pods: readonly PodInfo[];
  readonly namespaces: readonly string[];
}

const containerPort = z.object({
  containerPort: portNumberSchema,
  protocol: z.enum(["TCP", "UDP", "SCTP"]).optional(),
  name: z.string().optional(),
});

const podSchema = z.object({
  metadata: z.object({
    name: z.string().min(1),
    namespace: z.string().min(1),
    labels: z.record(z.string(), z.string()).optional(),
    ownerReferences: z
      .array(z.object({ kind: z.string(), name: z.string(), controller: z.boolean().optional() }))
      .optional(),
  }),
  spec: z.object({
    hostNetwork: z.boolean().optional(),
    containers: z.array(z.object({ ports: z.array(containerPort).optional() })),
  }),
  status: z
    .object({
      phase: z.string().optional(),
      podIP: z.string().optional(),
      hostIP: z.string().optional(),
      podIPs: z.array(z.object({ ip: z.string() })).optional(),
    })
    .optional(),
});

const podListSchema = z.object({ items: z.array(podSchema) });
type KubectlPod = z.output<typeof podSchema>;

/** The line of a JSON path, found by re-reading the text with positions (only on error, so cheap). */
function lineOfPath(text: string, path: readonly PropertyKey[]): number | undefined {
  const lineCounter = new YAML.LineCounter();
  const document = YAML.parseDocument(text, { lineCounter });
  for (let depth = path.length; depth >= 0; depth--) {
    const node = document.getIn(path.slice(0, depth) as (string | number)[], true) as
      { range?: [number, number, number] } | undefined;
    if (node?.range !== undefined) return lineCounter.linePos(node.range[0]).line;
  }
  return undefined;
}

function workloadOf(pod: KubectlPod): string {
  const owners = pod.metadata.ownerReferences ?? [];
  const owner = owners.find((reference) => reference.controller === true) ?? owners[0];
  const namespace = pod.metadata.namespace;
  if (owner === undefined) return `${namespace}/${pod.metadata.name}`;
  const hash = pod.metadata.labels?.["pod-template-hash"];
  if (owner.kind === "ReplicaSet" && hash !== undefined && owner.name.endsWith(`-${hash}`))
    return `${namespace}/${owner.name.slice(0, -hash.length - 1)}`;
  return `${namespace}/${owner.name}`;
}

function portsOf(pod: KubectlPod): ContainerPort[] {
  return pod.spec.containers.flatMap((container) =>
    (container.ports ?? []).map((port) => ({
      name: port.name,
      port: port.containerPort,
      protocol: protocolOf(port) as Protocol,
    })),
  );
}

export function buildPodIndex(text: string, file: string): PodIndex {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (cause) {
    const message = (cause as Error).message;
    const position = /position (\d+)/.exec(message);
    throw new ReplayInputError(
      file,
      position === null ? undefined : lineOfOffset(text, Number(position[1])),
      undefined,
      `not JSON (${message}); expected the output of \`kubectl get pods -A -o json\``,
    );
  }
  const parsed = podListSchema.safeParse(document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ReplayInputError(
      file,
      lineOfPath(text, issue.path),
      issue.path.join(".") || "(root)",
      `${issue.message}; expected the output of \`kubectl get pods -A -o json\` (a List with items[].metadata, spec, status)`,
    );
  }
  const byIp = new Map<string, IndexedPod>();
  const namespaces = new Set<string>();
  const nodesByIp = new Map<string, { podNetworkPods: string[] }>();
  for (const pod of parsed.data.items) {
    namespaces.add(pod.metadata.namespace);
    const hostIp = pod.status?.hostIP;
    if (hostIp !== undefined && hostIp !== "") {
      const node = nodesByIp.get(hostIp) ?? { podNetworkPods: [] };
      nodesByIp.set(hostIp, node);
      if (pod.spec.hostNetwork !== true)
        node.podNetworkPods.push(`${pod.metadata.namespace}/${pod.metadata.name}`);
    }
    if (pod.spec.hostNetwork === true) continue;
    const ips = new Set([...(pod.status?.podIPs ?? []).map((entry) => entry.ip), pod.status?.podIP ?? ""]);
    ips.delete("");
    const phase = pod.status?.phase ?? "Unknown";
    const ports = portsOf(pod);
    for (const ip of ips) {
      const indexed: IndexedPod = {
        info: {
          namespace: pod.metadata.namespace,
          name: pod.metadata.name,
          labels: pod.metadata.labels ?? {},
          ip,
          ports,
        },
        workload: workloadOf(pod),
        phase,
      };
      // A finished pod's address may already belong to a running one: the running pod wins.
      const previous = byIp.get(ip);
      if (previous === undefined || (previous.phase !== "Running" && phase === "Running"))
        byIp.set(ip, indexed);
    }
  }
  const pods = [...new Set([...byIp.values()].map((pod) => pod.info))];
  return { byIp, nodesByIp, pods, namespaces: [...namespaces].sort() };
}

export function readPodIndex(file: string): PodIndex {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (cause) {
    throw new ReplayInputError(file, undefined, undefined, `cannot be read (${(cause as Error).message})`);
  }
  return buildPodIndex(text, file);
}
