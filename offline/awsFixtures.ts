/**
 * Answers the AWS provider's data-source calls from recorded aws CLI output.
 *
 * A fixture file holds the raw JSON the aws CLI printed for each command (docs/aws-discovery.md "AWS fixtures"),
 * so it stays checkable against a real account. This module plays the provider's part: it finds
 * the object the call asks for and returns it in the shape the provider's data source returns,
 * failing the way the provider fails when the object is missing.
 */
import type { AwsFixture, CliOutput } from "./awsFixtureFile";

/** The error text the provider gives for a missing object, so callers see what they would in a real preview. */
function notFound(what: string, id: string): Error {
  return new Error(`reading ${what} (${id}): couldn't find resource`);
}

type Answer = Record<string, unknown>;

/** Where a call was recorded: the --region of its command, and the role it ran as. */
interface RecordedOutput {
  readonly region: string;
  readonly assumedRole?: string;
  readonly output: CliOutput;
}

/** Who is asking: the provider's assumed role, when the program reads through one. */
export interface CallerIdentity {
  readonly assumedRole?: string;
}

/** Every object of every recorded call, indexed the way the data sources look them up. */
export class AwsFixtureAnswers {
  private readonly recorded: RecordedOutput[];
  /** The outputs visible to the current call (its region and account). */
  private outputs: CliOutput[] = [];

  constructor(readonly fixture: AwsFixture) {
    this.recorded = fixture.calls.map((call) => ({
      region: /--region\s+(\S+)/.exec(call.command)?.[1] ?? fixture.region,
      assumedRole: call.assumedRole,
      output: call.output,
    }));
  }

  private all<K extends keyof CliOutput>(
    key: K,
  ): NonNullable<CliOutput[K]> extends (infer T)[] ? T[] : never {
    return this.outputs.flatMap((output) =>
      Array.isArray(output[key]) ? (output[key] as unknown[]) : [],
    ) as never;
  }

  private subnet(id: string) {
    return this.all("Subnets").find((subnet) => subnet.SubnetId === id);
  }

  private tagsOf(arn: string): Record<string, string> {
    const description = this.all("TagDescriptions").find((found) => found.ResourceArn === arn);
    return Object.fromEntries((description?.Tags ?? []).map((tag) => [tag.Key, tag.Value]));
  }

  /** The provider data-source token and its arguments, answered as that data source would. */
  answer(token: string, args: Record<string, unknown>, caller: CallerIdentity = {}): Answer {
    const region = typeof args.region === "string" ? args.region : this.fixture.region;
    if (!this.recorded.some((recorded) => recorded.region === region)) {
      throw new Error(
        `the fixture was recorded in ${[...new Set(this.recorded.map((recorded) => recorded.region))].join(", ")}, but the program asked ${token} in ${region}`,
      );
    }
    // AWS answers from the region asked and the account of the credentials: nothing else is visible.
    this.outputs = this.recorded
      .filter((recorded) => recorded.region === region && recorded.assumedRole === caller.assumedRole)
      .map((recorded) => recorded.output);
    switch (token) {
      case "aws:eks/getCluster:getCluster": {
        const cluster = this.outputs
          .map((output) => output.cluster)
          .find((found) => found?.name === args.name);
        if (cluster === undefined) throw notFound("EKS Cluster", String(args.name));
        return {
          id: cluster.name,
          name: cluster.name,
          endpoint: cluster.endpoint,
          certificateAuthorities: [{ data: cluster.certificateAuthority.data }],
          vpcConfig: {
            vpcId: cluster.resourcesVpcConfig.vpcId,
            subnetIds: cluster.resourcesVpcConfig.subnetIds,
          },
          kubernetesNetworkConfigs: [
            {
              serviceIpv4Cidr: cluster.kubernetesNetworkConfig?.serviceIpv4Cidr ?? "",
              ipFamily: cluster.kubernetesNetworkConfig?.ipFamily ?? "",
            },
          ],
          region,
        };
      }
      case "aws:eks/getAddon:getAddon": {
        const addon = this.outputs
          .map((output) => output.addon)
          .find((found) => found?.clusterName === args.clusterName && found?.addonName === args.addonName);
        if (addon === undefined)
          throw notFound("EKS Add-On", `${String(args.clusterName)}:${String(args.addonName)}`);
        return {
          id: `${addon.clusterName}:${addon.addonName}`,
          addonName: addon.addonName,
          clusterName: addon.clusterName,
          addonVersion: addon.addonVersion,
          configurationValues: addon.configurationValues ?? "",
          region,
        };
      }
      case "aws:ec2/getVpc:getVpc": {
        const vpc = this.all("Vpcs").find((found) => found.VpcId === args.id);
        if (vpc === undefined) throw new Error("no matching EC2 VPC found");
        return {
          id: vpc.VpcId,
          cidrBlock: vpc.CidrBlock,
          cidrBlockAssociations: vpc.CidrBlockAssociationSet.map((association) => ({
            cidrBlock: association.CidrBlock,
            state: association.CidrBlockState.State,
          })),
          region,
        };
      }
      case "aws:ec2/getSubnet:getSubnet": {
        const subnet = this.subnet(String(args.id));
        if (subnet === undefined) throw new Error("no matching EC2 Subnet found");
        return {
          id: subnet.SubnetId,
          cidrBlock: subnet.CidrBlock ?? "",
          vpcId: subnet.VpcId,
          availabilityZone: subnet.AvailabilityZone,
          tags: Object.fromEntries(subnet.Tags.map((tag) => [tag.Key, tag.Value])),
          region,
        };
      }
      case "aws:ec2/getSubnets:getSubnets": {
        const filters = (args.filters ?? []) as { name: string; values: string[] }[];
        const matches = this.all("Subnets").filter((subnet) =>
          filters.every((filter) => {
            if (filter.name === "vpc-id") return filter.values.includes(subnet.VpcId);
            if (filter.name === "tag-key") return subnet.Tags.some((tag) => filter.values.includes(tag.Key));
            if (filter.name.startsWith("tag:")) {
              const key = filter.name.slice("tag:".length);
              return subnet.Tags.some((tag) => tag.Key === key && filter.values.includes(tag.Value));
            }
            throw new Error(
              `the fixture answers getSubnets filters vpc-id, tag-key and tag:<key> only, not ${filter.name}`,
            );
          }),
        );
        return { id: region, ids: matches.map((subnet) => subnet.SubnetId), region };
      }
      case "aws:elasticache/getReplicationGroup:getReplicationGroup": {
        const group = this.all("ReplicationGroups").find(
          (found) => found.ReplicationGroupId === args.replicationGroupId,
        );
        if (group === undefined)
          throw notFound("ElastiCache Replication Group", String(args.replicationGroupId));
        return {
          id: group.ReplicationGroupId,
          replicationGroupId: group.ReplicationGroupId,
          memberClusters: group.MemberClusters,
          // The provider reads the port from the configuration endpoint (cluster mode) or the first node group's primary.
          port: group.ConfigurationEndpoint?.Port ?? group.NodeGroups?.[0]?.PrimaryEndpoint?.Port ?? 0,
          primaryEndpointAddress: group.ConfigurationEndpoint
            ? ""
            : (group.NodeGroups?.[0]?.PrimaryEndpoint?.Address ?? ""),
          configurationEndpointAddress: group.ConfigurationEndpoint?.Address ?? "",
          region,
        };
      }
      case "aws:elasticache/getCluster:getCluster": {
        const cluster = this.all("CacheClusters").find((found) => found.CacheClusterId === args.clusterId);
        if (cluster === undefined) throw notFound("ElastiCache Cache Cluster", String(args.clusterId));
        return {
          id: cluster.CacheClusterId,
          clusterId: cluster.CacheClusterId,
          subnetGroupName: cluster.CacheSubnetGroupName,
          region,
        };
      }
      case "aws:elasticache/getSubnetGroup:getSubnetGroup": {
        const group = this.all("CacheSubnetGroups").find((found) => found.CacheSubnetGroupName === args.name);
        if (group === undefined) throw notFound("ElastiCache Subnet Group", String(args.name));
        return {
          id: group.CacheSubnetGroupName,
          name: group.CacheSubnetGroupName,
          subnetIds: group.Subnets.map((s) => s.SubnetIdentifier),
          region,
        };
      }
      case "aws:rds/getInstance:getInstance": {
        const instance = this.all("DBInstances").find(
          (found) => found.DBInstanceIdentifier === args.dbInstanceIdentifier,
        );
        if (instance === undefined) throw notFound("RDS DB Instance", String(args.dbInstanceIdentifier));
        return {
          id: instance.DBInstanceIdentifier,
          dbInstanceIdentifier: instance.DBInstanceIdentifier,
          dbSubnetGroup: instance.DBSubnetGroup.DBSubnetGroupName,
          address: instance.Endpoint?.Address ?? "",
          port: instance.Endpoint?.Port ?? 0,
          region,
        };
      }
      case "aws:rds/getCluster:getCluster": {
        const cluster = this.all("DBClusters").find(
          (found) => found.DBClusterIdentifier === args.clusterIdentifier,
        );
        if (cluster === undefined) throw notFound("RDS Cluster", String(args.clusterIdentifier));
        return {
          id: cluster.DBClusterIdentifier,
          clusterIdentifier: cluster.DBClusterIdentifier,
          dbSubnetGroupName: cluster.DBSubnetGroup,
          endpoint: cluster.Endpoint ?? "",
          port: cluster.Port,
          region,
        };
      }
      case "aws:rds/getSubnetGroup:getSubnetGroup": {
        const group = this.all("DBSubnetGroups").find((found) => found.DBSubnetGroupName === args.name);
        if (group === undefined) throw notFound("RDS DB Subnet Group", String(args.name));
        return {
          id: group.DBSubnetGroupName,
          name: group.DBSubnetGroupName,
          subnetIds: group.Subnets.map((s) => s.SubnetIdentifier),
          region,
        };
      }
      case "aws:mq/getBroker:getBroker": {
        const brokerId =
          typeof args.brokerId === "string"
            ? args.brokerId
            : this.all("BrokerSummaries").find((summary) => summary.BrokerName === args.brokerName)?.BrokerId;
        const broker = this.outputs.find(
          (output) => output.BrokerId !== undefined && output.BrokerId === brokerId,
        );
        if (broker === undefined) throw notFound("MQ Broker", String(args.brokerId ?? args.brokerName));
        return {
          id: broker.BrokerId,
          brokerId: broker.BrokerId,
          brokerName: broker.BrokerName,
          deploymentMode: broker.DeploymentMode ?? "",
          engineType: broker.EngineType ?? "",
          publiclyAccessible: broker.PubliclyAccessible ?? false,
          subnetIds: broker.SubnetIds ?? [],
          instances: (broker.BrokerInstances ?? []).map((instance) => ({
            endpoints: instance.Endpoints ?? [],
            consoleUrl: instance.ConsoleURL ?? "",
            ipAddress: instance.IpAddress ?? "",
          })),
          region,
        };
      }
      case "aws:elasticache/getServerlessCache:getServerlessCache": {
        const cache = this.all("ServerlessCaches").find((found) => found.ServerlessCacheName === args.name);
        if (cache === undefined) throw notFound("ElastiCache Serverless Cache", String(args.name));
        return {
          id: cache.ServerlessCacheName,
          name: cache.ServerlessCacheName,
          engine: cache.Engine,
          endpoint: { address: cache.Endpoint?.Address ?? "", port: cache.Endpoint?.Port ?? 0 },
          readerEndpoint: {
            address: cache.ReaderEndpoint?.Address ?? "",
            port: cache.ReaderEndpoint?.Port ?? 0,
          },
          subnetIds: cache.SubnetIds,
          region,
        };
      }
      case "aws:rds/getProxy:getProxy": {
        const proxy = this.all("DBProxies").find((found) => found.DBProxyName === args.name);
        if (proxy === undefined) throw notFound("RDS DB Proxy", String(args.name));
        return {
          id: proxy.DBProxyName,
          name: proxy.DBProxyName,
          endpoint: proxy.Endpoint,
          engineFamily: proxy.EngineFamily,
          vpcId: proxy.VpcId,
          vpcSubnetIds: proxy.VpcSubnetIds,
          region,
        };
      }
      case "aws:lb/getLoadBalancer:getLoadBalancer": {
        // DescribeLoadBalancers by arn or name (or all), then DescribeTags filters; exactly one must remain.
        const wanted = (args.tags ?? {}) as Record<string, string>;
        const matches = this.all("LoadBalancers").filter(
          (lb) =>
            (typeof args.arn !== "string" || lb.LoadBalancerArn === args.arn) &&
            (typeof args.name !== "string" || lb.LoadBalancerName === args.name) &&
            Object.entries(wanted).every(([key, value]) => this.tagsOf(lb.LoadBalancerArn)[key] === value),
        );
        if (
          typeof args.name === "string" &&
          !this.all("LoadBalancers").some((lb) => lb.LoadBalancerName === args.name)
        ) {
          throw new Error(
            `reading ELBv2 Load Balancers: couldn't find resource (LoadBalancerNotFound: Load balancers '[${args.name}]' not found)`,
          );
        }
        if (matches.length !== 1) {
          throw new Error(`Search returned ${matches.length} results, please revise so only one is returned`);
        }
        const lb = matches[0]!;
        return {
          id: lb.LoadBalancerArn,
          arn: lb.LoadBalancerArn,
          name: lb.LoadBalancerName,
          internal: lb.Scheme === "internal",
          loadBalancerType: lb.Type,
          vpcId: lb.VpcId,
          subnets: lb.AvailabilityZones.map((zone) => zone.SubnetId),
          tags: this.tagsOf(lb.LoadBalancerArn),
          region,
        };
      }
      case "aws:eks/getNodeGroups:getNodeGroups": {
        // eks list-nodegroups answers for one cluster; the fixture records it next to that cluster's describe-cluster.
        const listed = this.recorded.find(
          (recorded) =>
            recorded.region === region &&
            recorded.output.nodegroups !== undefined &&
            this.fixture.calls.some(
              (call) =>
                call.output === recorded.output &&
                call.command.includes(`--cluster-name ${String(args.clusterName)}`),
            ),
        );
        return {
          id: String(args.clusterName),
          clusterName: args.clusterName,
          names: listed?.output.nodegroups ?? [],
          region,
        };
      }
      case "aws:eks/getNodeGroup:getNodeGroup": {
        const group = this.outputs
          .map((output) => output.nodegroup)
          .find(
            (found) => found?.clusterName === args.clusterName && found?.nodegroupName === args.nodeGroupName,
          );
        if (group === undefined)
          throw notFound("EKS Node Group", `${String(args.clusterName)}:${String(args.nodeGroupName)}`);
        return {
          id: `${group.clusterName}:${group.nodegroupName}`,
          clusterName: group.clusterName,
          nodeGroupName: group.nodegroupName,
          subnetIds: group.subnets,
          region,
        };
      }
      default:
        throw new Error(
          `the offline AWS fixture has no answer for ${token}; add the aws CLI output it needs to the fixture`,
        );
    }
  }
}
