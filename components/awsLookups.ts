/**
 * Finds, through the AWS provider, where every non-pod endpoint of the flow table lives.
 *
 * Each distinct AWS object is read once (lookups are memoised by kind and id), independent chains
 * run concurrently, and a failure names the AWS object, the config key that pointed at it and the
 * fix. Nothing here registers a resource, so a failed lookup leaves the stack untouched.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { canonicalCidrs } from "./cidrs";
import { isAnyPolicyEnforced, type StackConfig } from "./config";
import { NOT_INSTALLED, readVpcCniState, type VpcCniState } from "./vpcCni";
import type { ResolvedCidrs } from "./networkPolicies";

/** The AWS objects this program reads, with the IAM action each read needs. */
const AWS_OBJECTS = {
  eksCluster: { what: "EKS cluster", iamAction: "eks:DescribeCluster" },
  eksAddon: { what: "EKS add-on", iamAction: "eks:DescribeAddon" },
  vpc: { what: "VPC", iamAction: "ec2:DescribeVpcs" },
  subnet: { what: "subnet", iamAction: "ec2:DescribeSubnets" },
  albSubnets: { what: "ALB subnets (tag kubernetes.io/role/elb)", iamAction: "ec2:DescribeSubnets" },
  replicationGroup: {
    what: "ElastiCache replication group",
    iamAction: "elasticache:DescribeReplicationGroups",
  },
  cacheCluster: { what: "ElastiCache cache cluster", iamAction: "elasticache:DescribeCacheClusters" },
  cacheSubnetGroup: {
    what: "ElastiCache cache subnet group",
    iamAction: "elasticache:DescribeCacheSubnetGroups",
  },
  dbInstance: { what: "RDS DB instance", iamAction: "rds:DescribeDBInstances" },
  dbCluster: { what: "RDS DB cluster", iamAction: "rds:DescribeDBClusters" },
  dbSubnetGroup: { what: "RDS DB subnet group", iamAction: "rds:DescribeDBSubnetGroups" },
  mqBroker: { what: "Amazon MQ broker", iamAction: "mq:DescribeBroker (and mq:ListBrokers for a name)" },
} as const;
export type AwsObjectKind = keyof typeof AWS_OBJECTS;

/** A lookup failed: the message is complete on its own, so Pulumi prints it without a stack trace. */
export class AwsLookupError extends pulumi.RunError {
  constructor(
    message: string,
    readonly kind: AwsObjectKind,
    readonly id: string,
  ) {
    super(message);
  }
}

export interface LookupContext {
  readonly region: string;
  /** A lookup that has not answered after this long fails instead of hanging the preview. */
  readonly timeoutMs: number;
}

export interface Subnet {
  readonly id: string;
  readonly cidr: string;
  readonly vpcId: string;
}

export interface EksClusterInfo {
  readonly name: string;
  readonly endpoint: string;
  readonly certificateAuthority: string;
  readonly vpcId: string;
  readonly subnetIds: readonly string[];
  /** The ClusterIP range, which egress ipBlocks must not try to reach. */
  readonly serviceIpv4Cidr?: string;
}

export interface DiscoveredNetwork {
  readonly cluster: EksClusterInfo;
  readonly cidrs: ResolvedCidrs;
  /** Each data store's DNS name, where live verification probes it. */
  readonly endpoints: Readonly<Record<"redis" | "postgres" | "mq", string>>;
  /** The subnets behind each CIDR list, for the plan and the stack outputs. */
  readonly subnets: Readonly<Record<"alb" | "redis" | "postgres" | "mq", readonly Subnet[]>>;
  /**
   * The vpc-cni add-on, read when this stage enforces a policy (to check it enforces) or when the
   * program manages it (to adopt it and keep its current configuration).
   */
  readonly vpcCni?: VpcCniState;
  /** How many AWS reads the discovery made, one per distinct object. */
  readonly lookupCount: number;
}

function classifyFailure(cause: unknown): { reason: string; fix: string } {
  const text = cause instanceof Error ? cause.message : String(cause);
  if (/AccessDenied|UnauthorizedOperation|not authorized|AuthorizationError|403/i.test(text)) {
    return { reason: `access denied (${rootCause(text)})`, fix: "grant the deploying role" };
  }
  if (/timed out|timeout/i.test(text)) {
    return { reason: rootCause(text), fix: "check the AWS endpoint is reachable from here, then retry" };
  }
  if (/not ?found|couldn't find|no matching|empty result|does not exist|NotFound/i.test(text)) {
    return {
      reason: `not found (${rootCause(text)})`,
      fix: "check the identifier and the region in the stack file",
    };
  }
  return { reason: rootCause(text), fix: "check the identifier, the region and the credentials" };
}

/** The provider wraps the AWS error in lines of context; the last line is the AWS error itself. */
function rootCause(text: string): string {
  const lines = text
    .split("\n")
    .map((line) => line.trim().replace(/^\*\s*/, ""))
    .filter((line) => line !== "");
  return lines.at(-1) ?? text;
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs / 1000} s`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Memoises reads by kind and id so a subnet shared by two data stores, or a VPC reached twice, costs
 * one call; and turns any failure into an AwsLookupError that says what to fix.
 */
export class AwsReader {
  private readonly cache = new Map<string, Promise<unknown>>();

  constructor(private readonly context: LookupContext) {}

  get lookupCount(): number {
    return this.cache.size;
  }

  read<T>(kind: AwsObjectKind, id: string, origin: string, fetch: () => Promise<T>): Promise<T> {
    const key = `${kind}/${id}`;
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached as Promise<T>;
    const object = AWS_OBJECTS[kind];
    const pending = withTimeout(fetch(), this.context.timeoutMs).catch((cause: unknown) => {
      if (cause instanceof AwsLookupError) throw cause;
      const { reason, fix } = classifyFailure(cause);
      const permission = reason.startsWith("access denied") ? ` ${object.iamAction}` : "";
      throw new AwsLookupError(
        `${object.what} '${id}' (${origin}) could not be read in ${this.context.region}: ${reason}. ` +
          `Fix: ${fix}${permission}.`,
        kind,
        id,
      );
    });
    this.cache.set(key, pending);
    return pending;
  }

  /** A structural problem in an AWS answer (an empty subnet group, say), reported like a failed read. */
  fail(kind: AwsObjectKind, id: string, origin: string, problem: string, fix: string): never {
    throw new AwsLookupError(
      `${AWS_OBJECTS[kind].what} '${id}' (${origin}) in ${this.context.region}: ${problem}. Fix: ${fix}.`,
      kind,
      id,
    );
  }
}

function nonEmpty(
  reader: AwsReader,
  kind: AwsObjectKind,
  id: string,
  origin: string,
  subnetIds: readonly string[] | undefined,
): readonly string[] {
  if (subnetIds === undefined || subnetIds.length === 0) {
    reader.fail(
      kind,
      id,
      origin,
      "it lists no subnets",
      "give it subnets in AWS, or point the config at the right object",
    );
  }
  return subnetIds;
}

async function readSubnets(
  reader: AwsReader,
  ids: readonly string[],
  origin: string,
  region: string,
): Promise<Subnet[]> {
  const subnets = await Promise.all(
    [...new Set(ids)].sort().map((id) =>
      reader.read("subnet", id, origin, async () => {
        const subnet = await aws.ec2.getSubnet({ id, region });
        return { id: subnet.id, cidr: subnet.cidrBlock, vpcId: subnet.vpcId };
      }),
    ),
  );
  return subnets;
}

async function readCluster(reader: AwsReader, config: StackConfig): Promise<EksClusterInfo> {
  const { name, region } = config.cluster;
  return reader.read("eksCluster", name, "flash-netpol:cluster.name", async () => {
    const cluster = await aws.eks.getCluster({ name, region });
    return {
      name,
      endpoint: cluster.endpoint,
      certificateAuthority: cluster.certificateAuthorities[0]?.data ?? "",
      vpcId: cluster.vpcConfig.vpcId,
      subnetIds: cluster.vpcConfig.subnetIds,
      serviceIpv4Cidr: cluster.kubernetesNetworkConfigs[0]?.serviceIpv4Cidr || undefined,
    };
  });
}

async function readVpcCidrs(reader: AwsReader, vpcId: string, region: string): Promise<string[]> {
  return reader.read("vpc", vpcId, "the EKS cluster's VPC", async () => {
    const vpc = await aws.ec2.getVpc({ id: vpcId, region });
    const associated = vpc.cidrBlockAssociations.filter((association) => association.state === "associated");
    return [vpc.cidrBlock, ...associated.map((association) => association.cidrBlock)];
  });
}

interface StoreLocation {
  readonly subnets: Subnet[];
  readonly endpoint: string;
}

async function readRedis(reader: AwsReader, config: StackConfig): Promise<StoreLocation> {
  const region = config.cluster.region;
  const groupId = config.dataStores.redis.replicationGroupId;
  const origin = "flash-netpol:dataStores.redis.replicationGroupId";
  const group = await reader.read("replicationGroup", groupId, origin, () =>
    aws.elasticache.getReplicationGroup({ replicationGroupId: groupId, region }),
  );
  // Every member of a replication group sits in the group's one cache subnet group, so one member tells it.
  const memberId = [...group.memberClusters].sort()[0];
  if (memberId === undefined) {
    reader.fail(
      "replicationGroup",
      groupId,
      origin,
      "it has no member clusters",
      "wait until the group is available",
    );
  }
  const member = await reader.read("cacheCluster", memberId, `member of ${groupId}`, () =>
    aws.elasticache.getCluster({ clusterId: memberId, region }),
  );
  const subnetGroup = await reader.read(
    "cacheSubnetGroup",
    member.subnetGroupName,
    `used by ${memberId}`,
    () => aws.elasticache.getSubnetGroup({ name: member.subnetGroupName, region }),
  );
  const ids = nonEmpty(
    reader,
    "cacheSubnetGroup",
    member.subnetGroupName,
    `used by ${memberId}`,
    subnetGroup.subnetIds,
  );
  return {
    subnets: await readSubnets(reader, ids, `cache subnet group ${member.subnetGroupName}`, region),
    endpoint: group.primaryEndpointAddress || group.configurationEndpointAddress,
  };
}

async function readPostgres(reader: AwsReader, config: StackConfig): Promise<StoreLocation> {
  const region = config.cluster.region;
  const { dbInstanceIdentifier, dbClusterIdentifier } = config.dataStores.postgres;
  // Aurora is read as a cluster, a plain RDS database as an instance; both name a DB subnet group.
  const owner = dbClusterIdentifier ?? dbInstanceIdentifier!;
  const { subnetGroupName, endpoint } =
    dbClusterIdentifier !== undefined
      ? await reader.read(
          "dbCluster",
          owner,
          "flash-netpol:dataStores.postgres.dbClusterIdentifier",
          async () => {
            const cluster = await aws.rds.getCluster({ clusterIdentifier: owner, region });
            return { subnetGroupName: cluster.dbSubnetGroupName, endpoint: cluster.endpoint };
          },
        )
      : await reader.read(
          "dbInstance",
          owner,
          "flash-netpol:dataStores.postgres.dbInstanceIdentifier",
          async () => {
            const instance = await aws.rds.getInstance({ dbInstanceIdentifier: owner, region });
            return { subnetGroupName: instance.dbSubnetGroup, endpoint: instance.address };
          },
        );
  const subnetGroup = await reader.read("dbSubnetGroup", subnetGroupName, `used by ${owner}`, () =>
    aws.rds.getSubnetGroup({ name: subnetGroupName, region }),
  );
  const ids = nonEmpty(reader, "dbSubnetGroup", subnetGroupName, `used by ${owner}`, subnetGroup.subnetIds);
  return { subnets: await readSubnets(reader, ids, `DB subnet group ${subnetGroupName}`, region), endpoint };
}

async function readMq(reader: AwsReader, config: StackConfig): Promise<StoreLocation> {
  const region = config.cluster.region;
  const { brokerName, brokerId } = config.dataStores.mq;
  const id = brokerId ?? brokerName!;
  const origin =
    brokerId !== undefined ? "flash-netpol:dataStores.mq.brokerId" : "flash-netpol:dataStores.mq.brokerName";
  const broker = await reader.read("mqBroker", id, origin, () =>
    aws.mq.getBroker(brokerId !== undefined ? { brokerId, region } : { brokerName, region }),
  );
  const ids = nonEmpty(reader, "mqBroker", id, origin, broker.subnetIds);
  // amqps://b-1234.mq.ap-northeast-2.amazonaws.com:5671 -> the host name
  const url = broker.instances[0]?.endpoints.find((candidate) => candidate.startsWith("amqps://")) ?? "";
  return {
    subnets: await readSubnets(reader, ids, `broker ${id}`, region),
    endpoint: url.replace(/^amqps:\/\//, "").replace(/:\d+$/, ""),
  };
}

async function readAlbSubnets(
  reader: AwsReader,
  config: StackConfig,
  cluster: EksClusterInfo,
): Promise<Subnet[]> {
  const region = config.cluster.region;
  if (config.alb.targetType === "instance") {
    // Instance targets receive ALB traffic through a NodePort, forwarded from the node's own address.
    return readSubnets(reader, cluster.subnetIds, `node subnets of EKS cluster ${cluster.name}`, region);
  }
  const tagged = await reader.read("albSubnets", cluster.vpcId, "flash-netpol:alb (discovery)", () =>
    aws.ec2.getSubnets({
      region,
      filters: [
        { name: "vpc-id", values: [cluster.vpcId] },
        { name: "tag-key", values: ["kubernetes.io/role/elb"] },
      ],
    }),
  );
  if (tagged.ids.length === 0) {
    reader.fail(
      "albSubnets",
      cluster.vpcId,
      "flash-netpol:alb",
      "no subnet in the cluster VPC carries the tag kubernetes.io/role/elb",
      "tag the internet-facing ALB's subnets (the AWS Load Balancer Controller needs it too), or set flash-netpol:alb.cidrs",
    );
  }
  return readSubnets(reader, tagged.ids, "ALB subnets", region);
}

const NOT_FOUND = /couldn't find|not ?found|ResourceNotFoundException/i;

async function readVpcCni(reader: AwsReader, config: StackConfig): Promise<VpcCniState> {
  const { name, region } = config.cluster;
  return reader.read("eksAddon", `${name}:vpc-cni`, "the NetworkPolicy enforcement check", async () => {
    try {
      const addon = await aws.eks.getAddon({ clusterName: name, addonName: "vpc-cni", region });
      return readVpcCniState(addon.addonVersion, addon.configurationValues);
    } catch (cause) {
      // A self-managed CNI has no add-on: that is a finding, reported with its own fix, not a failed read.
      if (cause instanceof Error && NOT_FOUND.test(cause.message)) return NOT_INSTALLED;
      throw cause;
    }
  });
}

const cidrsOf = (subnets: readonly Subnet[]): string[] =>
  canonicalCidrs(subnets.map((subnet) => subnet.cidr));

/** Runs every lookup chain concurrently; the longest (ElastiCache) is four reads deep. */
export async function discoverNetwork(config: StackConfig, timeoutMs = 60_000): Promise<DiscoveredNetwork> {
  const reader = new AwsReader({ region: config.cluster.region, timeoutMs });
  const clusterPromise = readCluster(reader, config);
  const checkVpcCni = isAnyPolicyEnforced(config.rollout) || config.manageVpcCni;
  const [cluster, vpc, alb, redis, postgres, mq, vpcCni] = await Promise.all([
    clusterPromise,
    clusterPromise.then((cluster) => readVpcCidrs(reader, cluster.vpcId, config.cluster.region)),
    config.alb.cidrs !== undefined
      ? Promise.resolve<Subnet[]>([])
      : clusterPromise.then((cluster) => readAlbSubnets(reader, config, cluster)),
    readRedis(reader, config),
    readPostgres(reader, config),
    readMq(reader, config),
    checkVpcCni ? readVpcCni(reader, config) : Promise.resolve(undefined),
  ]);
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
    endpoints: { redis: redis.endpoint, postgres: postgres.endpoint, mq: mq.endpoint },
    subnets: { alb, redis: redis.subnets, postgres: postgres.subnets, mq: mq.subnets },
    vpcCni,
    lookupCount: reader.lookupCount,
  };
}
