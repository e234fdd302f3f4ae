/**
 * AWS discovery for the deployments platform teams run (issue 14): each shape is recorded aws CLI
 * output (fixtures/aws/*.json) merged into a stack's fixture, run through the real program under
 * mocks; the serverless-cache and RDS Proxy stacks are planned end to end with the rollout proofs.
 */
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { failingStages } from "../../analyzer/flash";
import { loadAwsFixture, type AwsFixture } from "../../offline/awsFixtureFile";
import { matrixRows, planConnectivity } from "../../offline/planConnectivity";
import { renderSummary } from "../../offline/planFormats";
import { PlanFailure, buildPlan } from "../../offline/planReport";
import { networkPolicies, runStack, type ProgramRun, type RunOptions } from "../../offline/runProgram";
import { AWS_PROVIDER_TYPE } from "../../core/resourceTypes";

const fixture = (name: string) => loadAwsFixture(`fixtures/aws/${name}.json`);

/** The stack's own fixture plus the recorded calls of the variants. */
function merged(stack: string, ...variants: string[]): AwsFixture {
  const base = fixture(stack);
  return { ...base, calls: [...base.calls, ...variants.flatMap((name) => fixture(name).calls)] };
}

const DEV_STORES = {
  redis: { replicationGroupId: "flash-dev-redis", port: 6379 },
  postgres: { dbInstanceIdentifier: "flash-dev-postgres", port: 15432 },
  mq: { brokerName: "flash-dev-mq", port: 5671 },
};
const stores = (changes: Record<string, unknown>) => ({
  "flash-netpol:dataStores": { ...DEV_STORES, ...changes },
});

function assertFailedCleanly(run: ProgramRun, ...expected: RegExp[]): string {
  assert.ok(run.error, "the program should have failed");
  for (const pattern of expected) assert.match(run.error.message, pattern);
  assert.ok(pulumi.RunError.isInstance(run.error), `not a RunError: ${run.error.stack}`);
  assert.deepEqual(
    networkPolicies(run).map((policy) => policy.name),
    [],
    "no policy may be registered when discovery fails",
  );
  return run.error.message;
}

/** An egress rule's ports for a CIDR, as the program rendered flash-api's egress. */
function egressPortsTo(run: ProgramRun, service: string, cidr: string): string[] {
  const policy = networkPolicies(run).find((found) => found.name === `${service}-egress`);
  assert.ok(policy, `${service}-egress not rendered`);
  return (policy.inputs.spec.egress ?? [])
    .filter((rule) => rule.to?.some((peer) => peer.ipBlock?.cidr === cidr))
    .flatMap((rule) => (rule.ports ?? []).map((port) => `${String(port.port)}/${port.protocol}`));
}

async function planEndToEnd(options: RunOptions) {
  const { report, config, run } = await buildPlan(options);
  const connectivity = planConnectivity(report, config, run);
  assert.deepEqual(
    failingStages(connectivity.proof).map((family) => family.condition),
    [],
    "every reachable rollout stage must be proven",
  );
  assert.deepEqual(connectivity.current.outages, []);
  return { report, connectivity, run };
}

describe("discovery 5: ElastiCache Serverless, both ports, planned end to end", function () {
  const options: RunOptions = {
    stack: "dev",
    fixture: merged("dev", "dev-serverless-cache"),
    configOverrides: stores({ redis: { serverlessCacheName: "flash-dev-valkey" } }),
  };

  it("opens the endpoint port 6379 and the reader port 6380 to the cache's subnets", async () => {
    const run = await runStack(options);
    assert.equal(run.error, undefined, run.error?.message);
    assert.ok(run.awsCalls.some((call) => call.token.endsWith("getServerlessCache")));
    for (const cidr of ["10.20.64.0/24", "10.20.65.0/24"]) {
      const ports = egressPortsTo(run, "flash-gateway", cidr);
      assert.ok(ports.includes("6379/TCP") && ports.includes("6380/TCP"), `${cidr}: ${ports.join(" ")}`);
    }
  });

  it("the plan proves every stage, and the matrix allows and intends both ports", async () => {
    const { connectivity } = await planEndToEnd(options);
    const rows = matrixRows(connectivity.target);
    for (const port of [6379, 6380]) {
      const row = rows.find(
        (cell) => cell.from === "flash-ticket/flash-api" && cell.to === "redis" && cell.port === port,
      );
      assert.ok(row, `no matrix row flash-api -> redis ${port}`);
      assert.deepEqual([row.allowed, row.intended], [true, true]);
    }
  });

  it("a reader port that differs from AWS fails, naming the cache and the key", async () => {
    const run = await runStack({
      ...options,
      configOverrides: stores({ redis: { serverlessCacheName: "flash-dev-valkey", readerPort: 6390 } }),
    });
    assertFailedCleanly(
      run,
      /ElastiCache Serverless cache 'flash-dev-valkey'/,
      /reader endpoint port is 6380, but flash-netpol:dataStores\.redis\.readerPort is 6390/,
    );
  });

  it("a missing serverless cache fails the way the provider does, naming the key", async () => {
    const run = await runStack({
      ...options,
      configOverrides: stores({ redis: { serverlessCacheName: "flash-dev-nope" } }),
    });
    assertFailedCleanly(run, /flash-netpol:dataStores\.redis\.serverlessCacheName/, /not found/);
  });
});

describe("discovery 6: RDS Proxy, planned end to end", function () {
  const options: RunOptions = {
    stack: "dev",
    fixture: merged("dev", "dev-rds-proxy"),
    configOverrides: stores({ postgres: { dbProxyName: "flash-dev-pgproxy" } }),
  };

  it("reaches the proxy's own subnets on the proxy's port 5432, not the database's", async () => {
    const run = await runStack(options);
    assert.equal(run.error, undefined, run.error?.message);
    assert.deepEqual((run.outputs.cidrs as { postgres: string[] }).postgres, [
      "10.20.72.0/26",
      "10.20.72.64/26",
    ]);
    assert.deepEqual(egressPortsTo(run, "flash-api", "10.20.72.0/26"), ["5432/TCP"]);
    assert.ok(!run.awsCalls.some((call) => call.token === "aws:rds/getInstance:getInstance"));
  });

  it("the plan proves every stage with the proxy", async () => {
    const { connectivity } = await planEndToEnd(options);
    const row = matrixRows(connectivity.target).find(
      (cell) => cell.from === "flash-ticket/flash-api" && cell.to === "postgres" && cell.port === 5432,
    );
    assert.deepEqual([row?.allowed, row?.intended], [true, true]);
  });

  it("a configured port other than the proxy's fails, naming the proxy and the key", async () => {
    const run = await runStack({
      ...options,
      configOverrides: stores({ postgres: { dbProxyName: "flash-dev-pgproxy", port: 15432 } }),
    });
    assertFailedCleanly(
      run,
      /RDS Proxy 'flash-dev-pgproxy'/,
      /flash-netpol:dataStores\.postgres\.port is 15432/,
    );
  });
});

describe("discovery 4: configured ports checked against AWS", () => {
  it("the plan fails on a Redis port that differs from the replication group's, naming both", async () => {
    await assert.rejects(
      buildPlan({
        stack: "dev",
        configOverrides: stores({ redis: { replicationGroupId: "flash-dev-redis", port: 6380 } }),
      }),
      (error: Error) => {
        assert.ok(error instanceof PlanFailure);
        assert.match(
          error.message,
          /ElastiCache replication group 'flash-dev-redis' \(flash-netpol:dataStores\.redis\.replicationGroupId\).*its port is 6379, but flash-netpol:dataStores\.redis\.port is 6380/,
        );
        console.log(`      port mismatch: ${error.message}`);
        return true;
      },
    );
  });

  it("checks the RDS instance's, the Aurora cluster's and the broker's ports too", async () => {
    const cases: [string, Record<string, unknown>, RegExp][] = [
      [
        "dev",
        stores({ postgres: { dbInstanceIdentifier: "flash-dev-postgres", port: 5432 } }),
        /RDS DB instance 'flash-dev-postgres'.*its port is 15432/,
      ],
      [
        "dev",
        stores({ mq: { brokerName: "flash-dev-mq", port: 5672 } }),
        /Amazon MQ broker 'flash-dev-mq'.*AMQPS endpoint port is 5671, but flash-netpol:dataStores\.mq\.port is 5672/,
      ],
      [
        "prod",
        {
          "flash-netpol:dataStores": {
            redis: { replicationGroupId: "flash-prod-redis" },
            postgres: { dbClusterIdentifier: "flash-prod-aurora", port: 5432 },
            mq: { brokerName: "flash-prod-mq" },
          },
        },
        /RDS DB cluster 'flash-prod-aurora'.*its port is 15432, but flash-netpol:dataStores\.postgres\.port is 5432/,
      ],
    ];
    for (const [stack, configOverrides, expected] of cases) {
      assertFailedCleanly(await runStack({ stack, configOverrides }), expected);
    }
  });
});

describe("discovery 7: Amazon MQ", () => {
  it("the plan fails on a publicly accessible broker, saying why and what to do", async () => {
    const publicBroker = fixture("dev");
    for (const call of publicBroker.calls) {
      if (call.output.BrokerId !== undefined) call.output.PubliclyAccessible = true;
    }
    await assert.rejects(buildPlan({ stack: "dev", fixture: publicBroker }), (error: Error) => {
      assert.ok(error instanceof PlanFailure);
      assert.match(
        error.message,
        /Amazon MQ broker 'flash-dev-mq' \(flash-netpol:dataStores\.mq\.brokerName\)/,
      );
      assert.match(error.message, /publicly accessible: its endpoint resolves to public addresses/);
      assert.match(error.message, /Fix: use a private broker/);
      console.log(`      public broker: ${error.message}`);
      return true;
    });
  });

  it("refuses an ActiveMQ broker", async () => {
    const activeMq = fixture("dev");
    for (const call of activeMq.calls)
      if (call.output.BrokerId !== undefined) call.output.EngineType = "ActiveMQ";
    assertFailedCleanly(await runStack({ stack: "dev", fixture: activeMq }), /its engine is ActiveMQ/);
  });

  it("prod's RabbitMQ broker is in a mode RabbitMQ has (not ActiveMQ's ACTIVE_STANDBY_MULTI_AZ)", () => {
    const modes = fixture("prod").calls.flatMap((call) => [
      ...(call.output.DeploymentMode !== undefined ? [call.output.DeploymentMode] : []),
      ...(call.output.BrokerSummaries ?? []).map(
        (summary) => (summary as { DeploymentMode?: string }).DeploymentMode,
      ),
    ]);
    assert.ok(modes.length >= 2);
    for (const mode of modes) assert.ok(["SINGLE_INSTANCE", "CLUSTER_MULTI_AZ"].includes(mode ?? ""), mode);
  });

  it("a CLUSTER_MULTI_AZ broker in three subnets gives three CIDRs", async () => {
    const run = await runStack({
      stack: "prod",
      fixture: merged("prod", "prod-mq-cluster-multi-az"),
      configOverrides: {
        "flash-netpol:dataStores": {
          redis: { replicationGroupId: "flash-prod-redis" },
          postgres: { dbClusterIdentifier: "flash-prod-aurora" },
          mq: { brokerName: "flash-prod-mq-cluster" },
        },
      },
    });
    assert.equal(run.error, undefined, run.error?.message);
    assert.deepEqual((run.outputs.cidrs as { mq: string[] }).mq, [
      "10.30.96.0/24",
      "10.30.97.0/24",
      "10.30.98.0/24",
    ]);
  });
});

describe("discovery 1: data-store subnets shared with the cluster", () => {
  /** dev's cache subnet group moved onto the EKS private subnets (the node group's): the single-tier layout. */
  function cacheOnNodeSubnets(): AwsFixture {
    const shared = fixture("dev");
    for (const call of shared.calls) {
      for (const group of call.output.CacheSubnetGroups ?? []) {
        group.Subnets = [
          { SubnetIdentifier: "subnet-8a5cb98097aad488f" },
          { SubnetIdentifier: "subnet-3b7ac5add897b5384" },
        ];
      }
    }
    return shared;
  }

  it("the plan fails, naming the cache subnet group, both subnets and the fix", async () => {
    await assert.rejects(buildPlan({ stack: "dev", fixture: cacheOnNodeSubnets() }), (error: Error) => {
      assert.ok(error instanceof PlanFailure);
      assert.match(
        error.message,
        /cache subnet group flash-dev-redis-subnets subnet subnet-8a5cb98097aad488f \(10\.20\.16\.0\/20\) is EKS (cluster flash-dev|node group flash-dev-general) subnet subnet-8a5cb98097aad488f/,
      );
      assert.match(error.message, /6379\/TCP/);
      assert.match(error.message, /flash-netpol:dataStores\.redis\.allowSharedSubnets: true/);
      console.log(`      shared subnets: ${error.message}`);
      return true;
    });
  });

  it("an overlapping (not identical) subnet counts, and so do the ALB's subnets", async () => {
    const overlapping = fixture("dev");
    for (const call of overlapping.calls) {
      for (const subnet of call.output.Subnets ?? []) {
        // A DB subnet carved inside the public ALB subnet 10.20.0.0/24.
        if (subnet.SubnetId === "subnet-b2d8fb4cbaa39675f") subnet.CidrBlock = "10.20.0.128/25";
      }
    }
    const run = await runStack({ stack: "dev", fixture: overlapping });
    assertFailedCleanly(
      run,
      /subnet-b2d8fb4cbaa39675f \(10\.20\.0\.128\/25\) overlaps the ALB subnet subnet-eabd2538099213127 \(10\.20\.0\.0\/24\)/,
    );
  });

  it("allowSharedSubnets accepts it: the plan shows a warning", async () => {
    const { report } = await buildPlan({
      stack: "dev",
      fixture: cacheOnNodeSubnets(),
      configOverrides: stores({ redis: { ...DEV_STORES.redis, allowSharedSubnets: true } }),
    });
    assert.ok(report.warnings.length > 0);
    assert.match(
      renderSummary(report),
      /WARNING: flash-netpol:dataStores\.redis: cache subnet group .* \(accepted: allowSharedSubnets is true\)/,
    );
  });

  it("custom networking's pod subnets count when configured", async () => {
    const run = await runStack({
      stack: "dev",
      configOverrides: {
        "flash-netpol:cluster": { name: "flash-dev", podSubnetIds: ["subnet-7a613135b3589c96d"] },
      },
    });
    assertFailedCleanly(
      run,
      /pod subnet \(flash-netpol:cluster\.podSubnetIds\) subnet subnet-7a613135b3589c96d/,
    );
  });
});

describe("discovery 2: alb.targetType instance reads the node groups' subnets", () => {
  it("uses the managed node groups' subnets", async () => {
    const run = await runStack({
      stack: "dev",
      configOverrides: { "flash-netpol:alb": { targetType: "instance" } },
    });
    assert.equal(run.error, undefined, run.error?.message);
    assert.deepEqual((run.outputs.cidrs as { alb: string[] }).alb, [
      "10.20.16.0/20",
      "10.20.32.0/20",
      "10.20.48.0/20",
    ]);
    assert.ok(run.awsCalls.some((call) => call.token === "aws:eks/getNodeGroup:getNodeGroup"));
  });

  it("without managed node groups (Karpenter) it requires alb.cidrs and says so", async () => {
    const noGroups = fixture("dev");
    for (const call of noGroups.calls) if (call.output.nodegroups !== undefined) call.output.nodegroups = [];
    const run = await runStack({
      stack: "dev",
      fixture: noGroups,
      configOverrides: { "flash-netpol:alb": { targetType: "instance" } },
    });
    assertFailedCleanly(run, /no managed node groups/, /Karpenter/, /flash-netpol:alb\.cidrs/);
  });
});

describe("discovery 3: the ALB itself", () => {
  const withAlbs = merged("dev", "dev-alb");

  it("by name: the ALB's own subnets", async () => {
    const run = await runStack({
      stack: "dev",
      fixture: withAlbs,
      configOverrides: { "flash-netpol:alb": { loadBalancerName: "k8s-flashticketpub-4f1c2a9e07" } },
    });
    assert.equal(run.error, undefined, run.error?.message);
    assert.deepEqual((run.outputs.cidrs as { alb: string[] }).alb, [
      "10.20.0.0/24",
      "10.20.1.0/24",
      "10.20.2.0/24",
    ]);
    assert.ok(!run.awsCalls.some((call) => call.token === "aws:ec2/getSubnets:getSubnets"));
  });

  it("by the controller's tags: an internal ALB of an IngressGroup, in its private subnets", async () => {
    const run = await runStack({
      stack: "dev",
      fixture: withAlbs,
      configOverrides: {
        "flash-netpol:alb": { ingressGroup: "flash-ticket/admin", scheme: "internal" },
        // The internal ALB sits in the node subnets; nothing stored there, so no shared-subnet finding.
      },
    });
    assert.equal(run.error, undefined, run.error?.message);
    const call = run.awsCalls.find((found) => found.token === "aws:lb/getLoadBalancer:getLoadBalancer");
    assert.deepEqual(call?.args.tags, {
      "elbv2.k8s.aws/cluster": "flash-dev",
      "ingress.k8s.aws/stack": "flash-ticket/admin",
    });
    assert.deepEqual((run.outputs.cidrs as { alb: string[] }).alb, ["10.20.16.0/20", "10.20.32.0/20"]);
  });

  it("a scheme that differs from alb.scheme fails, naming the ALB", async () => {
    const run = await runStack({
      stack: "dev",
      fixture: withAlbs,
      configOverrides: { "flash-netpol:alb": { ingressGroup: "flash-ticket/admin" } },
    });
    assertFailedCleanly(
      run,
      /load balancer 'elbv2\.k8s\.aws\/cluster=flash-dev, ingress\.k8s\.aws\/stack=flash-ticket\/admin'/,
      /scheme is internal/,
    );
  });

  it("an unknown IngressGroup fails the way the data source does", async () => {
    const run = await runStack({
      stack: "dev",
      fixture: withAlbs,
      configOverrides: { "flash-netpol:alb": { ingressGroup: "nobody" } },
    });
    assertFailedCleanly(run, /flash-netpol:alb\.ingressGroup/, /Search returned 0 results/);
  });

  it("the tag fallback skips a subnet tagged for another cluster, as the controller does", async () => {
    const run = await runStack({ stack: "dev", fixture: withAlbs });
    assert.equal(run.error, undefined, run.error?.message);
    assert.deepEqual((run.outputs.cidrs as { alb: string[] }).alb, [
      "10.20.0.0/24",
      "10.20.1.0/24",
      "10.20.2.0/24",
    ]);
    const query = run.awsCalls.find((found) => found.token === "aws:ec2/getSubnets:getSubnets");
    assert.deepEqual(query?.args.filters, [
      { name: "vpc-id", values: ["vpc-e739c5661719b31a4"] },
      { name: "tag:kubernetes.io/role/elb", values: ["", "1"] },
    ]);
  });
});

describe("discovery 8: a store in another region or account", () => {
  it("reads the Aurora secondary in its region and the broker through a provider assuming the role", async () => {
    const run = await runStack({
      stack: "dev",
      fixture: merged("dev", "dev-other-region-account"),
      configOverrides: stores({
        postgres: { dbClusterIdentifier: "flash-dr-aurora", region: "ap-northeast-1" },
        mq: {
          brokerName: "flash-shared-mq",
          roleArn: "arn:aws:iam::345678901234:role/flash-netpol-discovery",
        },
      }),
    });
    assert.equal(run.error, undefined, run.error?.message);
    const cidrs = run.outputs.cidrs as { postgres: string[]; mq: string[] };
    assert.deepEqual(cidrs.postgres, ["10.40.80.0/24", "10.40.81.0/24"]);
    assert.deepEqual(cidrs.mq, ["10.50.0.0/24"]);
    const aurora = run.awsCalls.find((call) => call.token === "aws:rds/getCluster:getCluster");
    assert.equal(aurora?.args.region, "ap-northeast-1");
    const provider = run.resources.find((resource) => resource.type === AWS_PROVIDER_TYPE);
    assert.deepEqual(JSON.parse(String(provider?.inputs.assumeRoles)), [
      {
        roleArn: "arn:aws:iam::345678901234:role/flash-netpol-discovery",
        sessionName: "flash-netpol-discovery",
      },
    ]);
  });

  it("without the role, the other account's broker is not found", async () => {
    const run = await runStack({
      stack: "dev",
      fixture: merged("dev", "dev-other-region-account"),
      configOverrides: stores({ mq: { brokerName: "flash-shared-mq" } }),
    });
    assert.ok(run.error);
    assert.match(run.error.message, /Amazon MQ broker 'flash-shared-mq'.*not found/);
  });

  it("a role that is not an IAM role ARN is a config error naming the key", async () => {
    const run = await runStack({
      stack: "dev",
      configOverrides: stores({ mq: { brokerName: "flash-dev-mq", roleArn: "shared" } }),
    });
    assertFailedCleanly(run, /flash-netpol:dataStores\.mq\.roleArn: got "shared"; expected an IAM role ARN/);
  });
});

describe("discovery 9: IPv6", () => {
  it("refuses an ipv6 cluster with a clear message", async () => {
    const ipv6 = fixture("dev");
    const cluster = ipv6.calls[0]!.output.cluster!;
    cluster.kubernetesNetworkConfig = { ...cluster.kubernetesNetworkConfig, ipFamily: "ipv6" };
    assertFailedCleanly(
      await runStack({ stack: "dev", fixture: ipv6 }),
      /EKS cluster 'flash-dev' \(flash-netpol:cluster\.name\).*ipFamily is ipv6.*IPv4 only/,
    );
  });

  it("an IPv6-only data-store subnet is named with its config key, not a bare ipaddr error", async () => {
    const ipv6Only = fixture("dev");
    for (const call of ipv6Only.calls) {
      for (const subnet of call.output.Subnets ?? []) {
        if (subnet.SubnetId === "subnet-7a613135b3589c96d") {
          delete subnet.CidrBlock;
          Object.assign(subnet, {
            Ipv6Native: true,
            Ipv6CidrBlockAssociationSet: [
              {
                AssociationId: "subnet-cidr-assoc-0a1b2c3d",
                Ipv6CidrBlock: "2406:da12:b1c:4000::/64",
                Ipv6CidrBlockState: { State: "associated" },
              },
            ],
          });
        }
      }
    }
    assertFailedCleanly(
      await runStack({ stack: "dev", fixture: ipv6Only }),
      /subnet 'subnet-7a613135b3589c96d'/,
      /no IPv4 CIDR \(an IPv6-only subnet\)/,
      /flash-netpol:dataStores\.(redis\.replicationGroupId|postgres\.dbInstanceIdentifier|mq\.brokerName)/,
    );
  });
});

describe("discovery 10: carrier-grade NAT space", () => {
  it("public egress always excepts 100.64.0.0/10, whatever the VPC", async () => {
    const run = await runStack({ stack: "dev" });
    const pay = networkPolicies(run).find((policy) => policy.name === "flash-pay-egress");
    const publicBlock = pay?.inputs.spec.egress
      ?.flatMap((rule) => rule.to ?? [])
      .find((peer) => peer.ipBlock?.cidr === "0.0.0.0/0");
    assert.ok(publicBlock?.ipBlock?.except?.includes("100.64.0.0/10"), JSON.stringify(publicBlock));
  });
});
