/**
 * What an AWS fixture file is: the raw JSON the aws CLI printed for each command (docs/aws-discovery.md "AWS
 * fixtures"), so it stays checkable against a real account, and how it is loaded and checked.
 * awsFixtures.ts answers the provider's data-source calls from it.
 */
import * as fs from "node:fs";
import { z } from "zod";

const awsTag = z.object({ Key: z.string(), Value: z.string() });
const subnetRef = z.object({ SubnetIdentifier: z.string() });

/** Only the fields the data sources read are checked; the rest of the CLI output is kept as printed. */
const cliOutput = z
  .object({
    cluster: z
      .object({
        name: z.string(),
        endpoint: z.string(),
        certificateAuthority: z.object({ data: z.string() }),
        resourcesVpcConfig: z.object({ vpcId: z.string(), subnetIds: z.array(z.string()) }).passthrough(),
        kubernetesNetworkConfig: z
          .object({ serviceIpv4Cidr: z.string().optional(), ipFamily: z.string().optional() })
          .passthrough()
          .optional(),
      })
      .passthrough()
      .optional(),
    addon: z
      .object({
        addonName: z.string(),
        clusterName: z.string(),
        addonVersion: z.string(),
        configurationValues: z.string().optional(),
      })
      .passthrough()
      .optional(),
    Vpcs: z
      .array(
        z
          .object({
            VpcId: z.string(),
            CidrBlock: z.string(),
            CidrBlockAssociationSet: z
              .array(
                z
                  .object({ CidrBlock: z.string(), CidrBlockState: z.object({ State: z.string() }) })
                  .passthrough(),
              )
              .default([]),
          })
          .passthrough(),
      )
      .optional(),
    Subnets: z
      .array(
        z
          .object({
            SubnetId: z.string(),
            VpcId: z.string(),
            // An IPv6-only subnet has no IPv4 CIDR: the CLI prints no CidrBlock.
            CidrBlock: z.string().optional(),
            AvailabilityZone: z.string(),
            Tags: z.array(awsTag).default([]),
          })
          .passthrough(),
      )
      .optional(),
    ReplicationGroups: z
      .array(
        z
          .object({
            ReplicationGroupId: z.string(),
            MemberClusters: z.array(z.string()),
            NodeGroups: z
              .array(
                z
                  .object({ PrimaryEndpoint: z.object({ Address: z.string(), Port: z.number() }).optional() })
                  .passthrough(),
              )
              .optional(),
            ConfigurationEndpoint: z.object({ Address: z.string(), Port: z.number() }).optional(),
          })
          .passthrough(),
      )
      .optional(),
    CacheClusters: z
      .array(z.object({ CacheClusterId: z.string(), CacheSubnetGroupName: z.string() }).passthrough())
      .optional(),
    CacheSubnetGroups: z
      .array(z.object({ CacheSubnetGroupName: z.string(), Subnets: z.array(subnetRef) }).passthrough())
      .optional(),
    DBInstances: z
      .array(
        z
          .object({
            DBInstanceIdentifier: z.string(),
            DBSubnetGroup: z.object({ DBSubnetGroupName: z.string() }).passthrough(),
            Endpoint: z.object({ Address: z.string(), Port: z.number() }).passthrough().optional(),
          })
          .passthrough(),
      )
      .optional(),
    DBClusters: z
      .array(
        z
          .object({
            DBClusterIdentifier: z.string(),
            DBSubnetGroup: z.string(),
            Endpoint: z.string().optional(),
            Port: z.number(),
          })
          .passthrough(),
      )
      .optional(),
    DBSubnetGroups: z
      .array(z.object({ DBSubnetGroupName: z.string(), Subnets: z.array(subnetRef) }).passthrough())
      .optional(),
    BrokerSummaries: z
      .array(z.object({ BrokerId: z.string(), BrokerName: z.string() }).passthrough())
      .optional(),
    ServerlessCaches: z
      .array(
        z
          .object({
            ServerlessCacheName: z.string(),
            Engine: z.string(),
            Endpoint: z.object({ Address: z.string(), Port: z.number() }).optional(),
            ReaderEndpoint: z.object({ Address: z.string(), Port: z.number() }).optional(),
            SubnetIds: z.array(z.string()).default([]),
          })
          .passthrough(),
      )
      .optional(),
    DBProxies: z
      .array(
        z
          .object({
            DBProxyName: z.string(),
            EngineFamily: z.string(),
            Endpoint: z.string(),
            VpcId: z.string(),
            VpcSubnetIds: z.array(z.string()),
          })
          .passthrough(),
      )
      .optional(),
    LoadBalancers: z
      .array(
        z
          .object({
            LoadBalancerArn: z.string(),
            LoadBalancerName: z.string(),
            Scheme: z.string(),
            VpcId: z.string(),
            Type: z.string(),
            AvailabilityZones: z.array(
              z.object({ ZoneName: z.string(), SubnetId: z.string() }).passthrough(),
            ),
          })
          .passthrough(),
      )
      .optional(),
    TagDescriptions: z
      .array(z.object({ ResourceArn: z.string(), Tags: z.array(awsTag) }).passthrough())
      .optional(),
    nodegroups: z.array(z.string()).optional(),
    nodegroup: z
      .object({ nodegroupName: z.string(), clusterName: z.string(), subnets: z.array(z.string()) })
      .passthrough()
      .optional(),
    BrokerId: z.string().optional(),
    DeploymentMode: z.string().optional(),
    EngineType: z.string().optional(),
    PubliclyAccessible: z.boolean().optional(),
    BrokerName: z.string().optional(),
    SubnetIds: z.array(z.string()).optional(),
    BrokerInstances: z
      .array(
        z
          .object({
            Endpoints: z.array(z.string()).optional(),
            ConsoleURL: z.string().optional(),
            IpAddress: z.string().optional(),
          })
          .passthrough(),
      )
      .optional(),
  })
  .passthrough();

const fixtureFile = z.object({
  description: z.string().optional(),
  /** The region of every call whose command has no --region. */
  region: z.string(),
  calls: z.array(
    z.object({
      command: z.string(),
      /** The output was captured with credentials of this role (another account): only a provider assuming it sees it. */
      assumedRole: z.string().optional(),
      output: cliOutput,
    }),
  ),
});

export type AwsFixture = z.output<typeof fixtureFile>;
export type CliOutput = z.output<typeof cliOutput>;

export function loadAwsFixture(file: string): AwsFixture {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (cause) {
    throw new Error(
      `AWS fixture ${file} cannot be read (${(cause as Error).message}); expected a file like fixtures/aws/dev.json`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new Error(`AWS fixture ${file} is not JSON: ${(cause as Error).message}`);
  }
  const parsed = fixtureFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(
      `AWS fixture ${file}: at ${issue.path.join(".") || "the top"}: ${issue.message}; expected aws CLI output as docs/aws-discovery.md "AWS fixtures" shows`,
    );
  }
  return parsed.data;
}
