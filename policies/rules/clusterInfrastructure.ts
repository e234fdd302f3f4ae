/**
 * cluster-infrastructure: pods must not reach the cluster's own machinery. The kubelet API (10250)
 * runs commands in any pod of the node (exec), reads its logs and secrets mounted in it; 10255 is the
 * read-only kubelet, 10256 kube-proxy's health server. The node subnets hold the kubelets and every
 * host-network daemon, the control-plane subnets the EKS-managed ENIs of the API server, and the pod
 * subnets (custom networking) every pod, which a podSelector reaches by name but an ipBlock by
 * address, whatever namespace or policy. So:
 *  - no egress ipBlock overlaps a node, control-plane or pod subnet (on any port), unless a wider
 *    block excepts the subnet entirely;
 *  - no rule, ingress or egress, names a protected port (or a range covering one), whatever the peer.
 */
import { z } from "zod";
import { portNumberSchema } from "../../core/kubernetes";
import {
  cidrContains,
  isExcepted,
  isValidCidr,
  overlaps,
  sameFamily,
  cidrTextSchema,
} from "../../core/cidrs";
import { networkPolicyRule, violation, type Violation } from "./common";
import { weakensWhen } from "./configStrictness";
import { describePort, egressBlocksOf, portsOutside, rulePath, rulesOf } from "./k8s";

export const NAME = "cluster-infrastructure";
export const DESCRIPTION =
  "No egress ipBlock to the node, control-plane or pod subnets, and no rule on the kubelet (10250, 10255) or kube-proxy (10256) ports.";

const cidrList = z.array(cidrTextSchema).default([]);

export const CONFIG = z.object({
  /** The subnets of the cluster's node groups (discovered: EKS DescribeNodegroup subnets). */
  nodeCidrs: weakensWhen(cidrList, "changes"),
  /** The cluster's own subnets, where EKS puts the control plane's ENIs (DescribeCluster resourcesVpcConfig.subnetIds). */
  controlPlaneCidrs: weakensWhen(cidrList, "changes"),
  /** Pod subnets under custom networking (flash-netpol:cluster.podSubnetIds). */
  podCidrs: weakensWhen(cidrList, "changes"),
  /**
   * Node or control-plane subnets a data store shares, accepted by the stack
   * (flash-netpol:dataStores.<store>.allowSharedSubnets, reported by accepted-risks): egress within
   * such a subnet on only the store's ports is left to data-store-egress. An exemption: it grows.
   */
  sharedWithDataStores: weakensWhen(
    z
      .array(
        z.strictObject({
          cidr: cidrTextSchema,
          ports: z.array(portNumberSchema).min(1),
        }),
      )
      .default([]),
    "grows",
  ),
  /** Ports no rule may name: kubelet, read-only kubelet, kube-proxy health. */
  protectedPorts: weakensWhen(z.array(portNumberSchema).min(1).default([10250, 10255, 10256]), "shrinks"),
});
export type ClusterInfrastructureConfig = z.output<typeof CONFIG>;

export const clusterInfrastructure = networkPolicyRule({
  name: NAME,
  description: DESCRIPTION,
  config: CONFIG,
  facts: (config) => ({
    "cluster-infrastructure.nodeCidrs": config.nodeCidrs,
    "cluster-infrastructure.controlPlaneCidrs": config.controlPlaneCidrs,
    "cluster-infrastructure.podCidrs": config.podCidrs,
  }),
  check: ({ policy, resource, config }) => {
    const subnets = [
      ...config.nodeCidrs.map((cidr) => ({ cidr, what: "node subnet (kubelet API, host-network daemons)" })),
      ...config.controlPlaneCidrs.map((cidr) => ({
        cidr,
        what: "control-plane subnet (EKS API server ENIs)",
      })),
      ...config.podCidrs.map((cidr) => ({ cidr, what: "pod subnet (every pod, bypassing pod selectors)" })),
    ].filter((subnet) => isValidCidr(subnet.cidr));
    const found: Violation[] = [];
    for (const located of rulesOf(policy)) {
      (located.rule.ports ?? []).forEach((entry, index) => {
        const covered = config.protectedPorts.filter(
          (protectedPort) =>
            typeof entry.port === "number" &&
            (entry.endPort === undefined
              ? entry.port === protectedPort
              : entry.port <= protectedPort && protectedPort <= entry.endPort),
        );
        if (covered.length === 0) return;
        found.push({
          message: violation(
            resource,
            `${rulePath(located)}.ports[${index}] (${describePort(entry)}) covers ${covered.join(", ")}: the kubelet API runs exec in and reads logs of every pod on a node (node compromise), kube-proxy's health port belongs to the node`,
            `remove port ${covered.join(", ")} from ${rulePath(located)}.ports; no workload of the flow table needs it`,
          ),
        });
      });
      if (located.direction !== "egress") continue;
      const ports = located.rule.ports ?? [];
      for (const { cidr, except, where } of egressBlocksOf(located)) {
        if (!isValidCidr(cidr)) continue;
        const accepted = config.sharedWithDataStores.some(
          (shared) =>
            isValidCidr(shared.cidr) &&
            cidrContains(shared.cidr, cidr) &&
            ports.length > 0 &&
            portsOutside(
              ports,
              shared.ports.map((number) => ({ port: number, protocol: "TCP" })),
            ).length === 0,
        );
        if (accepted) continue;
        const reached = subnets.filter(
          (subnet) =>
            sameFamily(subnet.cidr, cidr) &&
            overlaps(subnet.cidr, cidr) &&
            (cidrContains(subnet.cidr, cidr) || !isExcepted(subnet.cidr, except)),
        );
        if (reached.length === 0) continue;
        found.push({
          message: violation(
            resource,
            `${where} ${cidr} reaches ${reached.map((subnet) => `${subnet.cidr} (${subnet.what})`).join(", ")}`,
            `remove ${where}, or narrow it to the data store's subnets; wider blocks must except ${reached.map((subnet) => subnet.cidr).join(", ")}`,
          ),
        });
      }
    }
    return found;
  },
});
