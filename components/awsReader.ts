/**
 * One read of one AWS object: memoised by kind and id, bounded by a time-out, and turned into an
 * error that names the object, the config key that pointed at it, the region and the fix.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { isIpv4Cidr } from "../core/cidrs";

/** The AWS objects this program reads, with the IAM action each read needs. */
export const AWS_OBJECTS = {
  eksCluster: { what: "EKS cluster", iamAction: "eks:DescribeCluster" },
  eksAddon: { what: "EKS add-on", iamAction: "eks:DescribeAddon" },
  eksNodeGroups: { what: "EKS node groups of cluster", iamAction: "eks:ListNodegroups" },
  eksNodeGroup: { what: "EKS node group", iamAction: "eks:DescribeNodegroup" },
  vpc: { what: "VPC", iamAction: "ec2:DescribeVpcs" },
  subnet: { what: "subnet", iamAction: "ec2:DescribeSubnets" },
  albSubnets: { what: "ALB subnets (subnet role tag)", iamAction: "ec2:DescribeSubnets" },
  loadBalancer: {
    what: "load balancer",
    iamAction:
      "elasticloadbalancing:DescribeLoadBalancers, elasticloadbalancing:DescribeTags and elasticloadbalancing:DescribeLoadBalancerAttributes",
  },
  replicationGroup: {
    what: "ElastiCache replication group",
    iamAction: "elasticache:DescribeReplicationGroups",
  },
  serverlessCache: {
    what: "ElastiCache Serverless cache",
    iamAction: "elasticache:DescribeServerlessCaches",
  },
  cacheCluster: { what: "ElastiCache cache cluster", iamAction: "elasticache:DescribeCacheClusters" },
  cacheSubnetGroup: {
    what: "ElastiCache cache subnet group",
    iamAction: "elasticache:DescribeCacheSubnetGroups",
  },
  dbInstance: { what: "RDS DB instance", iamAction: "rds:DescribeDBInstances" },
  dbCluster: { what: "RDS DB cluster", iamAction: "rds:DescribeDBClusters" },
  dbProxy: { what: "RDS Proxy", iamAction: "rds:DescribeDBProxies" },
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

/**
 * Where a read goes: a region, and for an object in another account the provider that assumes the
 * configured role. Every data source takes `region` as an argument (provider 7.x), so only another
 * account needs a provider of its own.
 */
export interface AwsScope {
  readonly region: string;
  readonly provider?: aws.Provider;
  /** Shown in errors: "in ap-northeast-2" or "in us-east-1 as arn:aws:iam::...:role/x". */
  readonly description: string;
}

export const invokeOptions = (scope: AwsScope): pulumi.InvokeOptions =>
  scope.provider !== undefined ? { provider: scope.provider } : {};

export interface Subnet {
  readonly id: string;
  readonly cidr: string;
  readonly vpcId: string;
  readonly availabilityZone: string;
  readonly tags: Readonly<Record<string, string>>;
}

function classifyFailure(cause: unknown): { reason: string; fix: string } {
  const text = cause instanceof Error ? cause.message : String(cause);
  if (/AccessDenied|UnauthorizedOperation|not authorized|AuthorizationError|403/i.test(text)) {
    return { reason: `access denied (${rootCause(text)})`, fix: "grant the deploying role" };
  }
  if (/timed out|timeout/i.test(text)) {
    return { reason: rootCause(text), fix: "check the AWS endpoint is reachable from here, then retry" };
  }
  if (
    /not ?found|couldn't find|no matching|empty result|does not exist|NotFound|Search returned 0 results/i.test(
      text,
    )
  ) {
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

  constructor(private readonly timeoutMs: number) {}

  get lookupCount(): number {
    return this.cache.size;
  }

  read<T>(
    kind: AwsObjectKind,
    id: string,
    origin: string,
    scope: AwsScope,
    fetch: () => Promise<T>,
  ): Promise<T> {
    const key = `${kind}/${scope.description}/${id}`;
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached as Promise<T>;
    const object = AWS_OBJECTS[kind];
    const pending = withTimeout(fetch(), this.timeoutMs).catch((cause: unknown) => {
      if (cause instanceof AwsLookupError) throw cause;
      const { reason, fix } = classifyFailure(cause);
      const permission = reason.startsWith("access denied") ? ` ${object.iamAction}` : "";
      throw new AwsLookupError(
        `${object.what} '${id}' (${origin}) could not be read in ${scope.description}: ${reason}. ` +
          `Fix: ${fix}${permission}.`,
        kind,
        id,
      );
    });
    this.cache.set(key, pending);
    return pending;
  }

  /** A structural problem in an AWS answer (an empty subnet group, say), reported like a failed read. */
  fail(
    kind: AwsObjectKind,
    id: string,
    origin: string,
    scope: AwsScope,
    problem: string,
    fix: string,
  ): never {
    throw new AwsLookupError(
      `${AWS_OBJECTS[kind].what} '${id}' (${origin}) in ${scope.description}: ${problem}. Fix: ${fix}.`,
      kind,
      id,
    );
  }
}

export function nonEmpty(
  reader: AwsReader,
  kind: AwsObjectKind,
  id: string,
  origin: string,
  scope: AwsScope,
  subnetIds: readonly string[] | undefined,
): readonly string[] {
  if (subnetIds === undefined || subnetIds.length === 0) {
    reader.fail(
      kind,
      id,
      origin,
      scope,
      "it lists no subnets",
      "give it subnets in AWS, or point the config at the right object",
    );
  }
  return subnetIds;
}

/**
 * Reads each subnet once. `configKey` is the key that led here: an IPv6-only subnet has no IPv4 CIDR
 * (the provider returns an empty cidrBlock) and the policies are IPv4, so it is refused by name.
 */
export async function readSubnets(
  reader: AwsReader,
  ids: readonly string[],
  origin: string,
  configKey: string,
  scope: AwsScope,
): Promise<Subnet[]> {
  return Promise.all(
    [...new Set(ids)].sort().map(async (id) => {
      const subnet = await reader.read("subnet", id, origin, scope, async () => {
        const found = await aws.ec2.getSubnet({ id, region: scope.region }, invokeOptions(scope));
        return {
          id: found.id,
          cidr: found.cidrBlock,
          vpcId: found.vpcId,
          availabilityZone: found.availabilityZone,
          tags: found.tags ?? {},
        };
      });
      if (subnet.cidr === "" || !isIpv4Cidr(subnet.cidr)) {
        reader.fail(
          "subnet",
          id,
          origin,
          scope,
          `it has no IPv4 CIDR (an IPv6-only subnet), and NetworkPolicy ipBlocks here are IPv4 (${configKey})`,
          `give the subnet an IPv4 CIDR, or point ${configKey} at an object in dual-stack or IPv4 subnets`,
        );
      }
      return subnet;
    }),
  );
}
