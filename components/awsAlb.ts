/**
 * Where ALB traffic comes from. With target type ip, the ALB's own ENIs: read from the load balancer
 * itself (by name, or by the tags the AWS Load Balancer Controller puts on it), or, as the controller
 * itself chooses subnets, from the subnet role tags. With target type instance, the worker nodes:
 * the subnets of the cluster's managed node groups.
 */
import * as aws from "@pulumi/aws";
import type { StackConfig } from "../core/config";
import { readSubnets, type AwsReader, type AwsScope, type Subnet } from "./awsReader";

/** What the AWS Load Balancer Controller tags every ALB with (pkg/deploy/tracking/provider.go). */
export const LBC_CLUSTER_TAG = "elbv2.k8s.aws/cluster";
export const LBC_INGRESS_STACK_TAG = "ingress.k8s.aws/stack";
const SUBNET_ROLE_TAGS = {
  "internet-facing": "kubernetes.io/role/elb",
  internal: "kubernetes.io/role/internal-elb",
} as const;
const CLUSTER_TAG_PREFIX = "kubernetes.io/cluster";

export interface ClusterRef {
  readonly name: string;
  readonly vpcId: string;
}

export interface NodeGroupSubnets {
  readonly nodeGroup: string;
  readonly subnets: readonly Subnet[];
}

/** Every managed node group's subnets: where nodes (and, without custom networking, pods) take addresses. */
export async function readNodeGroupSubnets(
  reader: AwsReader,
  cluster: ClusterRef,
  scope: AwsScope,
): Promise<NodeGroupSubnets[]> {
  const origin = `node groups of EKS cluster ${cluster.name}`;
  const list = await reader.read("eksNodeGroups", cluster.name, origin, scope, () =>
    aws.eks.getNodeGroups({ clusterName: cluster.name, region: scope.region }),
  );
  return Promise.all(
    [...list.names].sort().map(async (nodeGroupName) => {
      const group = await reader.read("eksNodeGroup", `${cluster.name}:${nodeGroupName}`, origin, scope, () =>
        aws.eks.getNodeGroup({ clusterName: cluster.name, nodeGroupName, region: scope.region }),
      );
      return {
        nodeGroup: nodeGroupName,
        subnets: await readSubnets(
          reader,
          group.subnetIds,
          `node group ${nodeGroupName}`,
          "flash-netpol:cluster.name",
          scope,
        ),
      };
    }),
  );
}

async function readLoadBalancer(
  reader: AwsReader,
  config: StackConfig,
  cluster: ClusterRef,
  scope: AwsScope,
): Promise<Subnet[]> {
  const { loadBalancerName, ingressGroup } = config.alb;
  const byName = loadBalancerName !== undefined;
  const id = byName
    ? loadBalancerName
    : `${LBC_CLUSTER_TAG}=${cluster.name}, ${LBC_INGRESS_STACK_TAG}=${ingressGroup}`;
  const origin = byName ? "flash-netpol:alb.loadBalancerName" : "flash-netpol:alb.ingressGroup";
  const lb = await reader.read("loadBalancer", id, origin, scope, () =>
    aws.lb.getLoadBalancer(
      byName
        ? { name: loadBalancerName, region: scope.region }
        : {
            region: scope.region,
            tags: { [LBC_CLUSTER_TAG]: cluster.name, [LBC_INGRESS_STACK_TAG]: ingressGroup! },
          },
    ),
  );
  if (lb.loadBalancerType !== "application") {
    reader.fail(
      "loadBalancer",
      id,
      origin,
      scope,
      `it is a ${lb.loadBalancerType} load balancer`,
      "name the ALB",
    );
  }
  if (lb.vpcId !== cluster.vpcId) {
    reader.fail(
      "loadBalancer",
      id,
      origin,
      scope,
      `it is in ${lb.vpcId}, not in the cluster's VPC ${cluster.vpcId}`,
      "name the ALB in front of this cluster",
    );
  }
  const scheme = lb.internal ? "internal" : "internet-facing";
  if (scheme !== config.alb.scheme) {
    reader.fail(
      "loadBalancer",
      id,
      origin,
      scope,
      `its scheme is ${scheme}, but flash-netpol:alb.scheme is ${config.alb.scheme}`,
      `set flash-netpol:alb.scheme to ${scheme}, or name the other ALB`,
    );
  }
  return readSubnets(reader, lb.subnets, `subnets of ALB ${lb.name}`, origin, scope);
}

/**
 * The controller's own subnet discovery, as its fallback: subnets of the cluster VPC whose role tag
 * is "" or "1", minus those tagged only for other clusters, one per Availability Zone (a subnet
 * tagged for this cluster first, then the lowest id).
 */
async function discoverTaggedSubnets(
  reader: AwsReader,
  config: StackConfig,
  cluster: ClusterRef,
  scope: AwsScope,
): Promise<Subnet[]> {
  const roleTag = SUBNET_ROLE_TAGS[config.alb.scheme];
  const tagged = await reader.read("albSubnets", cluster.vpcId, "flash-netpol:alb (discovery)", scope, () =>
    aws.ec2.getSubnets({
      region: scope.region,
      filters: [
        { name: "vpc-id", values: [cluster.vpcId] },
        { name: `tag:${roleTag}`, values: ["", "1"] },
      ],
    }),
  );
  const subnets = await readSubnets(reader, tagged.ids, "ALB subnets", "flash-netpol:alb", scope);
  const ownTag = `${CLUSTER_TAG_PREFIX}/${cluster.name}`;
  const isOwn = (subnet: Subnet) => ownTag in subnet.tags;
  const eligible = subnets.filter(
    (subnet) => isOwn(subnet) || !Object.keys(subnet.tags).some((key) => key.startsWith(CLUSTER_TAG_PREFIX)),
  );
  if (eligible.length === 0) {
    const others = subnets.map((subnet) => subnet.id).join(", ");
    reader.fail(
      "albSubnets",
      cluster.vpcId,
      "flash-netpol:alb",
      scope,
      subnets.length === 0
        ? `no subnet in the cluster VPC carries the tag ${roleTag} (value "" or "1")`
        : `the subnets tagged ${roleTag} (${others}) are tagged for other clusters only, not ${ownTag}`,
      "set flash-netpol:alb.loadBalancerName or alb.ingressGroup to read the ALB itself, tag its subnets as the AWS Load Balancer Controller expects, or set flash-netpol:alb.cidrs",
    );
  }
  const byZone = new Map<string, Subnet>();
  for (const subnet of [...eligible].sort(
    (a, b) => Number(isOwn(b)) - Number(isOwn(a)) || a.id.localeCompare(b.id),
  )) {
    if (!byZone.has(subnet.availabilityZone)) byZone.set(subnet.availabilityZone, subnet);
  }
  return [...byZone.values()].sort((a, b) => a.id.localeCompare(b.id));
}

export async function readAlbSubnets(
  reader: AwsReader,
  config: StackConfig,
  cluster: ClusterRef,
  nodeGroups: Promise<NodeGroupSubnets[]>,
  scope: AwsScope,
): Promise<Subnet[]> {
  if (config.alb.targetType === "instance") {
    // Instance targets receive ALB traffic through a NodePort, forwarded from the node's own address.
    const groups = await nodeGroups;
    if (groups.length === 0) {
      reader.fail(
        "eksNodeGroups",
        cluster.name,
        "flash-netpol:alb.targetType instance",
        scope,
        "the cluster has no managed node groups, so the nodes' subnets cannot be read (Karpenter or self-managed nodes)",
        "set flash-netpol:alb.cidrs to the subnets your nodes run in, or use targetType ip",
      );
    }
    return groups.flatMap((group) => group.subnets);
  }
  if (config.alb.loadBalancerName !== undefined || config.alb.ingressGroup !== undefined) {
    return readLoadBalancer(reader, config, cluster, scope);
  }
  return discoverTaggedSubnets(reader, config, cluster, scope);
}
