/**
 * Generated replay inputs: a `kubectl get pods -A -o json` list and flow-log records in the
 * default and custom formats, built from a stack's CIDRs so every address lands where the test says
 * (a pod range, a data-store subnet, the ALB subnets, elsewhere in the VPC).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { addressInside, freeAddresses, ipv4InCidr } from "../analyzer/flash/addresses";
import type { ResolvedCidrs } from "../core/networkPolicies";
import type { Direction } from "../core/kubernetes";
import { DEFAULT_FORMAT_FIELDS } from "../replay/flowLogRecords";

export interface GeneratedPod {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly ip: string;
  readonly ports: readonly { containerPort: number; protocol?: string }[];
  readonly owner?: { kind: string; name: string };
  readonly hostNetwork?: boolean;
  /** The node's primary address (status.hostIP); a host-network pod's own address is its node's. */
  readonly hostIp?: string;
}

export function kubectlPodList(pods: readonly GeneratedPod[]): unknown {
  return {
    apiVersion: "v1",
    kind: "List",
    items: pods.map((pod) => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: pod.name,
        namespace: pod.namespace,
        labels: pod.labels,
        ...(pod.owner
          ? { ownerReferences: [{ apiVersion: "apps/v1", ...pod.owner, controller: true, uid: "x" }] }
          : {}),
      },
      spec: {
        ...(pod.hostNetwork ? { hostNetwork: true } : {}),
        containers: [{ name: "main", image: "example", ports: pod.ports }],
      },
      status: {
        phase: "Running",
        ...(pod.hostIp !== undefined || pod.hostNetwork === true ? { hostIP: pod.hostIp ?? pod.ip } : {}),
        podIP: pod.ip,
        podIPs: [{ ip: pod.ip }],
      },
    })),
  };
}

/** Addresses of the places a stack knows, picked inside its CIDRs. */
export function stackAddresses(cidrs: ResolvedCidrs, count: number) {
  const subnets = [...cidrs.alb, ...cidrs.redis, ...cidrs.postgres, ...cidrs.mq];
  // A VPC range holding no subnet of the table is where EKS custom networking puts pods.
  const podRange =
    cidrs.vpc.find((range) => !subnets.some((subnet) => ipv4InCidr(subnet.split("/")[0], range))) ??
    cidrs.vpc[0];
  const taken = new Set<string>();
  const pick = (cidr: string, avoid: readonly string[] = subnets) => {
    const address = addressInside(cidr, avoid, taken);
    taken.add(address);
    return address;
  };
  const pods = freeAddresses(podRange, subnets, count);
  pods.forEach((address) => taken.add(address));
  return {
    pods,
    alb: pick(cidrs.alb[0], []),
    postgres: pick(cidrs.postgres[0], [...cidrs.redis, ...cidrs.mq]),
    redis: pick(cidrs.redis[0], [...cidrs.postgres, ...cidrs.mq]),
    mq: pick(cidrs.mq[0], [...cidrs.redis, ...cidrs.postgres]),
    /** Inside the primary VPC range, outside every subnet the table names: an SMTP relay, a node. */
    elsewhereInVpc: (n: number) => {
      const found = freeAddresses(cidrs.vpc[0], subnets, n, taken);
      found.forEach((address) => taken.add(address));
      return found;
    },
  };
}

export interface FlowRecord {
  readonly src: string;
  readonly dst: string;
  readonly srcPort: number;
  readonly dstPort: number;
  /** 6 TCP, 17 UDP. */
  readonly protocol: number;
  readonly packets: number;
  readonly bytes: number;
  readonly start: number;
  readonly end: number;
  readonly action?: "ACCEPT" | "REJECT";
  readonly status?: "OK" | "NODATA" | "SKIPDATA";
  readonly tcpFlags?: number;
  /** The ENI's own address when it differs from the packet's (a pod behind its node's ENI). */
  readonly eniSrc?: string;
  readonly eniDst?: string;
  readonly flowDirection?: Direction;
}

const ACCOUNT = "123456789010";

/** The default format, version 2: 14 fields, no header (AWS's own example layout). */
export function defaultFormatLine(record: FlowRecord, eni = "eni-0a1b2c3d4e5f60718"): string {
  if (record.status === "NODATA" || record.status === "SKIPDATA")
    return `2 ${ACCOUNT} ${eni} - - - - - - - ${record.start} ${record.end} - ${record.status}`;
  return [
    2,
    ACCOUNT,
    eni,
    record.src,
    record.dst,
    record.srcPort,
    record.dstPort,
    record.protocol,
    record.packets,
    record.bytes,
    record.start,
    record.end,
    record.action ?? "ACCEPT",
    record.status ?? "OK",
  ].join(" ");
}

export const CUSTOM_FIELDS = [
  // The default format's fields, then the ones docs/replay.md asks operators to add.
  ...DEFAULT_FORMAT_FIELDS,
  "vpc-id",
  "subnet-id",
  "instance-id",
  "tcp-flags",
  "type",
  "pkt-srcaddr",
  "pkt-dstaddr",
  "flow-direction",
] as const;

export function customFormatLine(record: FlowRecord): string {
  return [
    5,
    ACCOUNT,
    "eni-0a1b2c3d4e5f60718",
    record.eniSrc ?? record.src,
    record.eniDst ?? record.dst,
    record.srcPort,
    record.dstPort,
    record.protocol,
    record.packets,
    record.bytes,
    record.start,
    record.end,
    record.action ?? "ACCEPT",
    record.status ?? "OK",
    "vpc-0123456789abcdef0",
    "subnet-0123456789abcdef0",
    "i-0123456789abcdef0",
    record.tcpFlags ?? (record.protocol === 6 ? 0 : "-"),
    "IPv4",
    record.src,
    record.dst,
    record.flowDirection ?? "egress",
  ].join(" ");
}

export function scratchDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "flash-replay-"));
}

export function writeFile(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, name.endsWith(".gz") ? zlib.gzipSync(text) : text);
  return file;
}
