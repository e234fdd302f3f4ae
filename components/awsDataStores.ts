/**
 * Where each managed data store listens: its subnets, its DNS name and the ports AWS reports, which
 * must be the ports configured (a policy on the wrong port is an outage nobody sees in a preview).
 */
import * as aws from "@pulumi/aws";
import { RDS_PROXY_PORTS, type StackConfig } from "../core/config";
import {
  invokeOptions,
  nonEmpty,
  readSubnets,
  type AwsObjectKind,
  type AwsReader,
  type AwsScope,
  type Subnet,
} from "./awsReader";

export interface StoreLocation {
  readonly subnets: Subnet[];
  readonly endpoint: string;
  /** What the subnets belong to, for messages: "cache subnet group flash-dev-redis-subnets". */
  readonly subnetOwner: string;
}

/** A port AWS reports next to the config key that must match it. */
interface PortCheck {
  readonly configKey: string;
  readonly configured: number;
  readonly reported: number;
  readonly reportedAs: string;
}

function checkPorts(
  reader: AwsReader,
  kind: AwsObjectKind,
  id: string,
  origin: string,
  scope: AwsScope,
  checks: readonly PortCheck[],
): void {
  for (const check of checks) {
    if (check.reported !== check.configured) {
      reader.fail(
        kind,
        id,
        origin,
        scope,
        `${check.reportedAs} is ${check.reported}, but flash-netpol:${check.configKey} is ${check.configured}; ` +
          `the policies would open ${check.configured}/TCP and block ${check.reported}/TCP`,
        `set flash-netpol:${check.configKey} to ${check.reported} in the stack file (or point the config at the right object)`,
      );
    }
  }
}

async function readReplicationGroup(
  reader: AwsReader,
  config: StackConfig,
  groupId: string,
  scope: AwsScope,
): Promise<StoreLocation> {
  const origin = "flash-netpol:dataStores.redis.replicationGroupId";
  const group = await reader.read("replicationGroup", groupId, origin, scope, () =>
    aws.elasticache.getReplicationGroup(
      { replicationGroupId: groupId, region: scope.region },
      invokeOptions(scope),
    ),
  );
  checkPorts(reader, "replicationGroup", groupId, origin, scope, [
    {
      configKey: "dataStores.redis.port",
      configured: config.dataStores.redis.port,
      reported: group.port,
      reportedAs: "its port",
    },
  ]);
  // Every member of a replication group sits in the group's one cache subnet group, so one member tells it.
  const memberId = [...group.memberClusters].sort()[0];
  if (memberId === undefined) {
    reader.fail(
      "replicationGroup",
      groupId,
      origin,
      scope,
      "it has no member clusters",
      "wait until the group is available",
    );
  }
  const member = await reader.read("cacheCluster", memberId, `member of ${groupId}`, scope, () =>
    aws.elasticache.getCluster({ clusterId: memberId, region: scope.region }, invokeOptions(scope)),
  );
  const groupName = member.subnetGroupName;
  const subnetGroup = await reader.read("cacheSubnetGroup", groupName, `used by ${memberId}`, scope, () =>
    aws.elasticache.getSubnetGroup({ name: groupName, region: scope.region }, invokeOptions(scope)),
  );
  const ids = nonEmpty(
    reader,
    "cacheSubnetGroup",
    groupName,
    `used by ${memberId}`,
    scope,
    subnetGroup.subnetIds,
  );
  return {
    subnets: await readSubnets(reader, ids, `cache subnet group ${groupName}`, origin, scope),
    endpoint: group.primaryEndpointAddress || group.configurationEndpointAddress,
    subnetOwner: `cache subnet group ${groupName}`,
  };
}

async function readServerlessCache(
  reader: AwsReader,
  config: StackConfig,
  name: string,
  scope: AwsScope,
): Promise<StoreLocation> {
  const origin = "flash-netpol:dataStores.redis.serverlessCacheName";
  const cache = await reader.read("serverlessCache", name, origin, scope, () =>
    aws.elasticache.getServerlessCache({ name, region: scope.region }, invokeOptions(scope)),
  );
  const { port, readerPort } = config.dataStores.redis;
  checkPorts(reader, "serverlessCache", name, origin, scope, [
    {
      configKey: "dataStores.redis.port",
      configured: port,
      reported: cache.endpoint.port,
      reportedAs: "its endpoint port",
    },
    {
      configKey: "dataStores.redis.readerPort",
      configured: readerPort ?? port,
      reported: cache.readerEndpoint.port,
      reportedAs: "its reader endpoint port",
    },
  ]);
  const ids = nonEmpty(reader, "serverlessCache", name, origin, scope, cache.subnetIds);
  return {
    // The cache's VPC endpoint ENIs sit in exactly these subnets.
    subnets: await readSubnets(reader, ids, `serverless cache ${name}`, origin, scope),
    endpoint: cache.endpoint.address,
    subnetOwner: `serverless cache ${name}`,
  };
}

export function readRedis(reader: AwsReader, config: StackConfig, scope: AwsScope): Promise<StoreLocation> {
  const { replicationGroupId, serverlessCacheName } = config.dataStores.redis;
  return serverlessCacheName !== undefined
    ? readServerlessCache(reader, config, serverlessCacheName, scope)
    : readReplicationGroup(reader, config, replicationGroupId!, scope);
}

async function readDbProxy(
  reader: AwsReader,
  config: StackConfig,
  name: string,
  scope: AwsScope,
): Promise<StoreLocation> {
  const origin = "flash-netpol:dataStores.postgres.dbProxyName";
  const proxy = await reader.read("dbProxy", name, origin, scope, () =>
    aws.rds.getProxy({ name, region: scope.region }, invokeOptions(scope)),
  );
  const proxyPort = RDS_PROXY_PORTS[proxy.engineFamily];
  if (proxyPort === undefined) {
    reader.fail(
      "dbProxy",
      name,
      origin,
      scope,
      `its engine family is ${proxy.engineFamily}, not POSTGRESQL`,
      "point dataStores.postgres.dbProxyName at the PostgreSQL proxy",
    );
  }
  checkPorts(reader, "dbProxy", name, origin, scope, [
    {
      configKey: "dataStores.postgres.port",
      configured: config.dataStores.postgres.port,
      reported: proxyPort,
      reportedAs: `its port (${proxy.engineFamily} proxies listen on ${proxyPort})`,
    },
  ]);
  const ids = nonEmpty(reader, "dbProxy", name, origin, scope, proxy.vpcSubnetIds);
  return {
    // The app connects to the proxy's ENIs, in the proxy's own subnets, not the database's.
    subnets: await readSubnets(reader, ids, `RDS Proxy ${name}`, origin, scope),
    endpoint: proxy.endpoint,
    subnetOwner: `RDS Proxy ${name}`,
  };
}

export async function readPostgres(
  reader: AwsReader,
  config: StackConfig,
  scope: AwsScope,
): Promise<StoreLocation> {
  const { dbInstanceIdentifier, dbClusterIdentifier, dbProxyName, port } = config.dataStores.postgres;
  if (dbProxyName !== undefined) return readDbProxy(reader, config, dbProxyName, scope);
  // Aurora is read as a cluster, a plain RDS database as an instance; both name a DB subnet group.
  const owner = dbClusterIdentifier ?? dbInstanceIdentifier!;
  const kind: AwsObjectKind = dbClusterIdentifier !== undefined ? "dbCluster" : "dbInstance";
  const origin =
    dbClusterIdentifier !== undefined
      ? "flash-netpol:dataStores.postgres.dbClusterIdentifier"
      : "flash-netpol:dataStores.postgres.dbInstanceIdentifier";
  const found = await reader.read(kind, owner, origin, scope, async () => {
    if (dbClusterIdentifier !== undefined) {
      const cluster = await aws.rds.getCluster(
        { clusterIdentifier: owner, region: scope.region },
        invokeOptions(scope),
      );
      return { subnetGroupName: cluster.dbSubnetGroupName, endpoint: cluster.endpoint, port: cluster.port };
    }
    const instance = await aws.rds.getInstance(
      { dbInstanceIdentifier: owner, region: scope.region },
      invokeOptions(scope),
    );
    return { subnetGroupName: instance.dbSubnetGroup, endpoint: instance.address, port: instance.port };
  });
  checkPorts(reader, kind, owner, origin, scope, [
    { configKey: "dataStores.postgres.port", configured: port, reported: found.port, reportedAs: "its port" },
  ]);
  const groupName = found.subnetGroupName;
  const subnetGroup = await reader.read("dbSubnetGroup", groupName, `used by ${owner}`, scope, () =>
    aws.rds.getSubnetGroup({ name: groupName, region: scope.region }, invokeOptions(scope)),
  );
  const ids = nonEmpty(reader, "dbSubnetGroup", groupName, `used by ${owner}`, scope, subnetGroup.subnetIds);
  return {
    subnets: await readSubnets(reader, ids, `DB subnet group ${groupName}`, origin, scope),
    endpoint: found.endpoint,
    subnetOwner: `DB subnet group ${groupName}`,
  };
}

export async function readMq(
  reader: AwsReader,
  config: StackConfig,
  scope: AwsScope,
): Promise<StoreLocation> {
  const { brokerName, brokerId, port } = config.dataStores.mq;
  const id = brokerId ?? brokerName!;
  const origin =
    brokerId !== undefined ? "flash-netpol:dataStores.mq.brokerId" : "flash-netpol:dataStores.mq.brokerName";
  const broker = await reader.read("mqBroker", id, origin, scope, () =>
    aws.mq.getBroker(
      brokerId !== undefined ? { brokerId, region: scope.region } : { brokerName, region: scope.region },
      invokeOptions(scope),
    ),
  );
  if (broker.engineType.toLowerCase() !== "rabbitmq") {
    reader.fail(
      "mqBroker",
      id,
      origin,
      scope,
      `its engine is ${broker.engineType}, but the flow table reaches RabbitMQ over AMQPS (5671)`,
      "point the config at the RabbitMQ broker",
    );
  }
  if (broker.publiclyAccessible) {
    reader.fail(
      "mqBroker",
      id,
      origin,
      scope,
      "it is publicly accessible: its endpoint resolves to public addresses, which no subnet CIDR of the VPC matches, " +
        "so a policy built from its subnets would block every connection to it",
      "use a private broker (publicly accessible cannot be changed on a broker: create a private one and move the clients), " +
        "or reach it through a VPC endpoint and set the CIDRs by hand",
    );
  }
  // amqps://b-1234.mq.ap-northeast-2.amazonaws.com:5671 -> the host name and the port
  const url = broker.instances[0]?.endpoints.find((candidate) => candidate.startsWith("amqps://")) ?? "";
  const listening = /:(\d+)$/.exec(url);
  if (listening !== null) {
    checkPorts(reader, "mqBroker", id, origin, scope, [
      {
        configKey: "dataStores.mq.port",
        configured: port,
        reported: Number(listening[1]),
        reportedAs: "its AMQPS endpoint port",
      },
    ]);
  }
  const ids = nonEmpty(reader, "mqBroker", id, origin, scope, broker.subnetIds);
  return {
    subnets: await readSubnets(reader, ids, `broker ${id}`, origin, scope),
    endpoint: url.replace(/^amqps:\/\//, "").replace(/:\d+$/, ""),
    subnetOwner: `broker ${id}`,
  };
}
