/**
 * Finds, through the AWS provider, where every non-pod endpoint of the flow table lives.
 *
 * Each distinct AWS object is read once (lookups are memoised by kind and id), independent chains
 * run concurrently, and a failure names the AWS object, the config key that pointed at it and the
 * fix. Nothing here registers a resource (except, for a data store in another account, the provider
 * that assumes its role), so a failed lookup leaves no policy behind.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { canonicalCidrs, cidrContains, sameFamily } from "../core/cidrs";
import { ConfigError } from "../core/configError";
import { type StackConfig } from "../core/config";
import { dataStorePortsOf, isAnyPolicyEnforced } from "../core/configQueries";
import { DATA_STORE_NAMES, type DataStoreName } from "../core/flowTable";
import { readAlbSubnets, readNodeGroupSubnets, type NodeGroupSubnets } from "./awsAlb";
import { readMq, readPostgres, readRedis, type StoreLocation } from "./awsDataStores";
import { AwsReader, readSubnets, type AwsScope, type Subnet } from "./awsReader";
import { SHARED_SUBNET_FIX, describeSharedSubnet, findSharedSubnets, type UsedSubnet } from "./sharedSubnets";
import { NOT_INSTALLED, readVpcCniState, type VpcCniState } from "./vpcCni";
import type { ResolvedCidrs } from "../core/networkPolicies";

export { AwsLookupError, type AwsObjectKind, type Subnet } from "./awsReader";

export interface EksClusterInfo {
  readonly name: string;
  readonly endpoint: string;
  readonly certificateAuthority: string;
  readonly vpcId: string;
  readonly subnetIds: readonly string[];
  /** The ClusterIP range, which egress ipBlocks must not try to reach. */
  readonly serviceIpv4Cidr?: string;
}

/**
 * The cluster's own address space, which no pod should reach by ipBlock (policy rule
 * cluster-infrastructure): node group subnets (DescribeNodegroup `subnets`), the cluster's subnets
 * where EKS places the control plane's ENIs (DescribeCluster `resourcesVpcConfig.subnetIds`), and
 * the pod subnets of custom networking (flash-netpol:cluster.podSubnetIds). Canonical lists.
 */
export interface ClusterCidrs {
  readonly node: string[];
  readonly controlPlane: string[];
  readonly pod: string[];
}

export interface DiscoveredNetwork {
  readonly cluster: EksClusterInfo;
  readonly cidrs: ResolvedCidrs;
  readonly clusterCidrs: ClusterCidrs;
  /** Each data store's DNS name, where live verification probes it. */
  readonly endpoints: Readonly<Record<"redis" | "postgres" | "mq", string>>;
  /** The subnets behind each CIDR list, for the plan and the stack outputs. */
  readonly subnets: Readonly<Record<"alb" | "redis" | "postgres" | "mq", readonly Subnet[]>>;
  /**
   * The vpc-cni add-on, read when this stage enforces a policy (to check it enforces) or when the
   * program manages it (to adopt it and keep its current configuration).
   */
  readonly vpcCni?: VpcCniState;
  /** Accepted risks (data-store subnets shared with the cluster under allowSharedSubnets), for the plan and the pack. */
  readonly warnings: readonly string[];
  /** How many AWS reads the discovery made, one per distinct object. */
  readonly lookupCount: number;
}

interface ClusterRead extends EksClusterInfo {
  readonly ipFamily: string;
}

async function readCluster(reader: AwsReader, config: StackConfig, scope: AwsScope): Promise<EksClusterInfo> {
  const { name } = config.cluster;
  const origin = "flash-netpol:cluster.name";
  const cluster: ClusterRead = await reader.read("eksCluster", name, origin, scope, async () => {
    const found = await aws.eks.getCluster({ name, region: scope.region });
    const network = found.kubernetesNetworkConfigs[0];
    return {
      name,
      endpoint: found.endpoint,
      certificateAuthority: found.certificateAuthorities[0]?.data ?? "",
      vpcId: found.vpcConfig.vpcId,
      subnetIds: found.vpcConfig.subnetIds,
      serviceIpv4Cidr: network?.serviceIpv4Cidr || undefined,
      ipFamily: network?.ipFamily || "ipv4",
    };
  });
  if (cluster.ipFamily !== "ipv4") {
    reader.fail(
      "eksCluster",
      name,
      origin,
      scope,
      `its ipFamily is ${cluster.ipFamily}: pods have IPv6 addresses, and the policies this program renders are IPv4 only`,
      "run flash-netpol against an IPv4 cluster; IPv6 clusters are not supported",
    );
  }
  return {
    name: cluster.name,
    endpoint: cluster.endpoint,
    certificateAuthority: cluster.certificateAuthority,
    vpcId: cluster.vpcId,
    subnetIds: cluster.subnetIds,
    serviceIpv4Cidr: cluster.serviceIpv4Cidr,
  };
}

async function readVpcCidrs(reader: AwsReader, vpcId: string, scope: AwsScope): Promise<string[]> {
  return reader.read("vpc", vpcId, "the EKS cluster's VPC", scope, async () => {
    const vpc = await aws.ec2.getVpc({ id: vpcId, region: scope.region });
    const associated = vpc.cidrBlockAssociations.filter((association) => association.state === "associated");
    return [vpc.cidrBlock, ...associated.map((association) => association.cidrBlock)];
  });
}

const NOT_FOUND = /couldn't find|not ?found|ResourceNotFoundException/i;

async function readVpcCni(reader: AwsReader, config: StackConfig, scope: AwsScope): Promise<VpcCniState> {
  const { name } = config.cluster;
  return reader.read(
    "eksAddon",
    `${name}:vpc-cni`,
    "the NetworkPolicy enforcement check",
    scope,
    async () => {
      try {
        const addon = await aws.eks.getAddon({
          clusterName: name,
          addonName: "vpc-cni",
          region: scope.region,
        });
        return readVpcCniState(addon.addonVersion, addon.configurationValues);
      } catch (cause) {
        // A self-managed CNI has no add-on: that is a finding, reported with its own fix, not a failed read.
        if (cause instanceof Error && NOT_FOUND.test(cause.message)) return NOT_INSTALLED;
        throw cause;
      }
    },
  );
}

const cidrsOf = (subnets: readonly Subnet[]): string[] =>
  canonicalCidrs(subnets.map((subnet) => subnet.cidr));

/**
 * Where each data store is read: the cluster's region and credentials unless the store names its
 * own region, or a role in another account (then through a provider that assumes it).
 */
function storeScope(config: StackConfig, store: DataStoreName, clusterScope: AwsScope): AwsScope {
  const { region = config.cluster.region, roleArn } = config.dataStores[store];
  if (roleArn === undefined) {
    return region === clusterScope.region ? clusterScope : { region, description: region };
  }
  const provider = new aws.Provider(`flash-netpol-${store}-aws`, {
    region,
    assumeRoles: [{ roleArn, sessionName: "flash-netpol-discovery" }],
  });
  return { region, provider, description: `${region} as ${roleArn}` };
}

/** The cluster's own subnets, with who uses each, that no data store may share unnoticed. */
async function clusterSubnets(
  reader: AwsReader,
  config: StackConfig,
  cluster: EksClusterInfo,
  nodeGroups: NodeGroupSubnets[],
  scope: AwsScope,
): Promise<{ used: UsedSubnet[]; cidrs: ClusterCidrs }> {
  const controlPlane = await readSubnets(
    reader,
    cluster.subnetIds,
    `subnets of EKS cluster ${cluster.name}`,
    "flash-netpol:cluster.name",
    scope,
  );
  const pods = await readSubnets(
    reader,
    config.cluster.podSubnetIds ?? [],
    "pod subnets (custom networking)",
    "flash-netpol:cluster.podSubnetIds",
    scope,
  );
  const used = [
    ...controlPlane.map((subnet) => ({ subnet, usedBy: `EKS cluster ${cluster.name}` })),
    ...nodeGroups.flatMap((group) =>
      group.subnets.map((subnet) => ({ subnet, usedBy: `EKS node group ${group.nodeGroup}` })),
    ),
    ...pods.map((subnet) => ({ subnet, usedBy: "pod subnet (flash-netpol:cluster.podSubnetIds)" })),
  ];
  const cidrs: ClusterCidrs = {
    node: cidrsOf(nodeGroups.flatMap((group) => group.subnets)),
    controlPlane: cidrsOf(controlPlane),
    pod: cidrsOf(pods),
  };
  return { used, cidrs };
}

class SharedSubnetError extends pulumi.RunError {}

/** Fails on a data store sharing subnets with the cluster or the ALB, unless the stack accepts it. */
function checkSharedSubnets(
  config: StackConfig,
  stores: Readonly<Record<DataStoreName, StoreLocation>>,
  used: readonly UsedSubnet[],
): string[] {
  const warnings: string[] = [];
  const problems: string[] = [];
  for (const store of DATA_STORE_NAMES) {
    const shared = findSharedSubnets(store, stores[store].subnetOwner, stores[store].subnets, used);
    const lines = shared.map((found) => describeSharedSubnet(found, dataStorePortsOf(config, store)));
    if (lines.length === 0) continue;
    if (config.dataStores[store].allowSharedSubnets) {
      warnings.push(...lines.map((line) => `${line} (accepted: allowSharedSubnets is true)`));
    } else {
      problems.push(`${lines.join(";\n  ")}.\n  ${SHARED_SUBNET_FIX(store)}`);
    }
  }
  if (problems.length > 0) {
    throw new SharedSubnetError(
      `data-store subnets shared with the cluster or the ALB:\n  ${problems.join("\n  ")}`,
    );
  }
  return warnings;
}

/**
 * The ALB sits in subnets of the cluster's VPC: a configured alb.cidrs outside every VPC CIDR is a
 * wrong value (another VPC, a typo, a public range), and would admit addresses that are not the ALB.
 */
function checkConfiguredAlbInVpc(config: StackConfig, vpcId: string, vpcCidrs: readonly string[]): void {
  const outside = (config.alb.cidrs ?? []).filter(
    (cidr) => !vpcCidrs.some((vpc) => sameFamily(vpc, cidr) && cidrContains(vpc, cidr)),
  );
  if (outside.length === 0) return;
  throw new ConfigError(
    `flash-netpol:alb.cidrs: got ${JSON.stringify(outside)}; expected subnets of the cluster's VPC ${vpcId} (${canonicalCidrs(vpcCidrs).join(", ")}), where the ALB runs. ` +
      `Fix: list the ALB's subnet CIDRs (aws ec2 describe-subnets --filters Name=vpc-id,Values=${vpcId}), or leave alb.cidrs out to discover them`,
  );
}

/** Runs every lookup chain concurrently; the longest (ElastiCache) is four reads deep. */
export async function discoverNetwork(config: StackConfig, timeoutMs = 60_000): Promise<DiscoveredNetwork> {
  const reader = new AwsReader(timeoutMs);
  const scope: AwsScope = { region: config.cluster.region, description: config.cluster.region };
  const clusterPromise = readCluster(reader, config, scope);
  const nodeGroupsPromise = clusterPromise.then((cluster) => readNodeGroupSubnets(reader, cluster, scope));
  const checkVpcCni = isAnyPolicyEnforced(config.rollout) || config.manageVpcCni;
  const [cluster, vpc, alb, nodeGroups, redis, postgres, mq, vpcCni] = await Promise.all([
    clusterPromise,
    clusterPromise.then((cluster) => readVpcCidrs(reader, cluster.vpcId, scope)),
    config.alb.cidrs !== undefined
      ? Promise.resolve<Subnet[]>([])
      : clusterPromise.then((cluster) => readAlbSubnets(reader, config, cluster, nodeGroupsPromise, scope)),
    nodeGroupsPromise,
    readRedis(reader, config, storeScope(config, "redis", scope)),
    readPostgres(reader, config, storeScope(config, "postgres", scope)),
    readMq(reader, config, storeScope(config, "mq", scope)),
    checkVpcCni ? readVpcCni(reader, config, scope) : Promise.resolve(undefined),
  ]);
  checkConfiguredAlbInVpc(config, cluster.vpcId, vpc);
  const ownSubnets = await clusterSubnets(reader, config, cluster, nodeGroups, scope);
  const used = [...ownSubnets.used, ...alb.map((subnet) => ({ subnet, usedBy: "the ALB" }))];
  const warnings = checkSharedSubnets(config, { redis, postgres, mq }, used);
  for (const warning of warnings) void pulumi.log.warn(warning);
  return {
    cluster,
    cidrs: {
      alb: canonicalCidrs(config.alb.cidrs ?? alb.map((subnet) => subnet.cidr)),
      redis: cidrsOf(redis.subnets),
      postgres: cidrsOf(postgres.subnets),
      mq: cidrsOf(mq.subnets),
      vpc: canonicalCidrs(vpc),
      payment: canonicalCidrs(config.paymentApi.cidrs),
    },
    clusterCidrs: ownSubnets.cidrs,
    endpoints: { redis: redis.endpoint, postgres: postgres.endpoint, mq: mq.endpoint },
    subnets: { alb, redis: redis.subnets, postgres: postgres.subnets, mq: mq.subnets },
    vpcCni,
    warnings,
    lookupCount: reader.lookupCount,
  };
}
