/**
 * Bad input fails with a message that names the key or AWS object, what was expected and the fix;
 * and nothing is registered, so no stack is ever half-applied.
 */
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { loadAwsFixture } from "../../offline/awsFixtureFile";
import { readStackConfig } from "../../offline/stackConfig";
import { runStack, type AwsFault, type ProgramRun, type RunOptions } from "../../offline/runProgram";

function assertFailedCleanly(run: ProgramRun, ...expected: RegExp[]): void {
  assert.ok(run.error, "the program should have failed");
  for (const pattern of expected) assert.match(run.error.message, pattern);
  // RunError: Pulumi prints the message alone, without a stack trace.
  assert.ok(pulumi.RunError.isInstance(run.error), `not a RunError: ${run.error.stack}`);
  assert.deepEqual(
    run.resources.map((resource) => `${resource.type} ${resource.name}`),
    [],
    "nothing may be registered when the program fails",
  );
}

const dev = (overrides: RunOptions["configOverrides"]) =>
  runStack({ stack: "dev", configOverrides: overrides });

// The inputs as written in Pulumi.yaml and Pulumi.dev.yaml, to extend in the cases below.
const DEV_CONFIG = readStackConfig("Pulumi.dev.yaml");
const DEFAULT_FLOWS = JSON.parse(DEV_CONFIG["flash-netpol:flows"]) as object[];
const DEFAULT_SERVICES = JSON.parse(DEV_CONFIG["flash-netpol:services"]) as Record<string, object>;
const DEV_ROLLOUT = JSON.parse(DEV_CONFIG["flash-netpol:rollout"]) as { services: Record<string, object> };
const OFF = { ingress: "off", egress: "off" };

const DEV_STORES = {
  redis: { replicationGroupId: "flash-dev-redis" },
  postgres: { dbInstanceIdentifier: "flash-dev-postgres" },
  mq: { brokerName: "flash-dev-mq" },
};

describe("bad stack config: a clear error and nothing registered", () => {
  const cases: { title: string; overrides: Record<string, unknown>; expected: RegExp[] }[] = [
    {
      title: "namespace that is not a DNS label",
      overrides: { "flash-netpol:namespace": "Flash_Ticket" },
      expected: [
        /flash-netpol:namespace: got "Flash_Ticket"; expected a DNS-1123 label/,
        /Pulumi\.dev\.yaml/,
      ],
    },
    {
      title: "missing cluster",
      overrides: { "flash-netpol:cluster": undefined },
      expected: [/flash-netpol:cluster: got nothing; expected a value \(this key is required\)/],
    },
    {
      title: "region that is not an AWS region",
      overrides: { "flash-netpol:cluster": { name: "flash-dev", region: "seoul" } },
      expected: [/flash-netpol:cluster\.region: got "seoul"; expected an AWS region such as ap-northeast-2/],
    },
    {
      title: "service port out of range",
      overrides: {
        "flash-netpol:services": { "flash-api": { podLabels: { app: "flash-api" }, port: 70000 } },
      },
      expected: [/flash-netpol:services\.flash-api\.port: got 70000; expected a port number/],
    },
    {
      title: "service port given as text",
      overrides: {
        "flash-netpol:services": { "flash-gateway": { podLabels: { app: "flash-gateway" }, port: "3000" } },
      },
      expected: [/flash-netpol:services\.flash-gateway\.port: got "3000"; expected a port number/],
    },
    {
      title: "empty pod labels, which would select every pod",
      overrides: { "flash-netpol:services": { "flash-pay": { podLabels: {}, port: 8080 } } },
      expected: [/flash-netpol:services\.flash-pay\.podLabels: got \{\}; expected at least one label/],
    },
    {
      title: "label value with a space",
      overrides: { "flash-netpol:services": { "flash-api": { podLabels: { app: "flash api" } } } },
      expected: [
        /flash-netpol:services\.flash-api\.podLabels\.app: got "flash api"; expected a Kubernetes label value/,
      ],
    },
    {
      title: "misspelt service name",
      overrides: {
        "flash-netpol:services": {
          "flash-gatway": { port: 3000 },
          "flash-api": { port: 4000 },
          "flash-pay": { port: 8080 },
        },
      },
      expected: [
        /flash-netpol:flows\.0\.to, flash-netpol:flows\.1\.from, flash-netpol:flows\.2\.from, flash-netpol:flows\.3\.from: got "flash-gateway"; expected a service of flash-netpol:services \(flash-gatway, flash-api, flash-pay\) or one of redis, postgres, mq, alb, dns, payment-api\. Fix: did you mean flash-gatway\?/,
        /flash-netpol:services\.flash-gatway: got "flash-gatway"; expected a service that some entry of flash-netpol:flows mentions/,
        /flash-netpol:rollout\.services\.flash-gatway: got nothing; expected the rollout flags of service flash-gatway/,
      ],
    },
    {
      title: "postgres with both an instance and a cluster identifier",
      overrides: {
        "flash-netpol:dataStores": {
          ...DEV_STORES,
          postgres: { dbInstanceIdentifier: "a", dbClusterIdentifier: "b" },
        },
      },
      expected: [/flash-netpol:dataStores\.postgres: got .*; expected exactly one of dbInstanceIdentifier/],
    },
    {
      title: "mq without a broker name or id",
      overrides: { "flash-netpol:dataStores": { ...DEV_STORES, mq: { port: 5671 } } },
      expected: [/flash-netpol:dataStores\.mq: got .*; expected exactly one of brokerName or brokerId/],
    },
    {
      title: "redis without its replication group or serverless cache",
      overrides: { "flash-netpol:dataStores": { ...DEV_STORES, redis: { port: 6379 } } },
      expected: [
        /flash-netpol:dataStores\.redis: got \{"port":6379\}; expected exactly one of replicationGroupId or serverlessCacheName/,
      ],
    },
    {
      title: "ALB target type that does not exist",
      overrides: { "flash-netpol:alb": { targetType: "lambda" } },
      expected: [/flash-netpol:alb\.targetType: got "lambda"; expected 'ip' or 'instance'/],
    },
    {
      title: "ALB CIDR that is not a CIDR",
      overrides: { "flash-netpol:alb": { targetType: "ip", cidrs: ["10.20.0.0/33"] } },
      expected: [/flash-netpol:alb\.cidrs\.0: got "10\.20\.0\.0\/33"; expected a CIDR block/],
    },
    {
      title: "NodeLocal DNSCache address that is not an IPv4 address",
      overrides: { "flash-netpol:dns": { nodeLocalAddress: "169.254.20" } },
      expected: [/flash-netpol:dns\.nodeLocalAddress: got "169\.254\.20"; expected an IPv4 address/],
    },
    {
      title: "rollout flag that is neither off nor enforce",
      overrides: { "flash-netpol:rollout": { defaultDeny: "audit" } },
      expected: [/flash-netpol:rollout\.defaultDeny: got "audit"; expected 'off' or 'enforce'/],
    },
    {
      title: "a flow naming an unknown endpoint",
      overrides: {
        "flash-netpol:flows": [...DEFAULT_FLOWS, { from: "flash-api", to: "s3", purpose: "exports" }],
      },
      expected: [
        /flash-netpol:flows\.11\.to: got "s3"; expected a service of flash-netpol:services \(flash-gateway, flash-api, flash-pay\) or one of redis, postgres, mq, alb, dns, payment-api\. Fix: correct the name, or declare s3 under flash-netpol:services/,
      ],
    },
    {
      title: "a service no flow mentions",
      overrides: {
        "flash-netpol:services": { ...DEFAULT_SERVICES, "flash-notify": { port: 9090 } },
        "flash-netpol:rollout": {
          ...DEV_ROLLOUT,
          services: { ...DEV_ROLLOUT.services, "flash-notify": OFF },
        },
      },
      expected: [
        /flash-netpol:services\.flash-notify: got "flash-notify"; expected a service that some entry of flash-netpol:flows mentions .*Fix: add its flows to flash-netpol:flows/,
      ],
    },
    {
      title: "a duplicate flow",
      overrides: {
        "flash-netpol:flows": [...DEFAULT_FLOWS, { from: "flash-api", to: "dns", purpose: "again" }],
      },
      expected: [
        /flash-netpol:flows\.11: got \{"from":"flash-api","to":"dns","purpose":"again"\}; expected each \(from, to\) pair once; flash-api -> dns is already entry 7\. Fix: remove entry 11/,
      ],
    },
    {
      title: "alb as a destination",
      overrides: {
        "flash-netpol:flows": [...DEFAULT_FLOWS, { from: "flash-gateway", to: "alb", purpose: "replies" }],
      },
      expected: [
        /flash-netpol:flows\.11\.to: got "alb"; expected a destination other than alb .*Fix: write the flow the ALB starts as \{from: alb, to: <service>\}/,
      ],
    },
    {
      title: "a service named like a reserved endpoint",
      overrides: {
        "flash-netpol:services": { ...DEFAULT_SERVICES, dns: { port: 53 } },
        "flash-netpol:rollout": { ...DEV_ROLLOUT, services: { ...DEV_ROLLOUT.services, dns: OFF } },
      },
      expected: [
        /flash-netpol:services\.dns: got "dns"; expected a service name other than the reserved endpoint names \(redis, postgres, mq, alb, dns, payment-api\).*Fix: rename the service/,
      ],
    },
    {
      title: "a new service without its rollout flags",
      overrides: {
        "flash-netpol:services": { ...DEFAULT_SERVICES, "flash-notify": { port: 9090 } },
        "flash-netpol:flows": [
          ...DEFAULT_FLOWS,
          { from: "flash-notify", to: "dns", purpose: "name resolution" },
        ],
      },
      expected: [
        /flash-netpol:rollout\.services\.flash-notify: got nothing; expected the rollout flags of service flash-notify \(\{ingress: off\|enforce, egress: off\|enforce\}\).*Fix: add rollout\.services\.flash-notify/,
      ],
    },
    {
      title: "default deny while a service policy is still off",
      overrides: {
        "flash-netpol:rollout": {
          defaultDeny: "enforce",
          services: {
            "flash-gateway": { ingress: "enforce", egress: "enforce" },
            "flash-api": { ingress: "enforce", egress: "off" },
            "flash-pay": { ingress: "enforce", egress: "enforce" },
          },
        },
      },
      expected: [
        /flash-netpol:rollout\.services\.flash-api\.egress: got "off"; expected 'enforce' while defaultDeny is 'enforce'/,
      ],
    },
    {
      title: "payment CIDR inside the VPC",
      overrides: { "flash-netpol:paymentApi": { cidrs: ["10.20.64.0/24"], ports: [443] } },
      expected: [/flash-netpol:paymentApi\.cidrs: got 10\.20\.64\.0\/24, which lies inside 10\.0\.0\.0\/8/],
    },
    {
      title: "structured key given as plain text",
      overrides: { "flash-netpol:alb": "ip" },
      expected: [/flash-netpol:alb: got "ip"; expected a YAML map/],
    },
    {
      title: "unknown key (typo)",
      overrides: { "flash-netpol:namesapce": "flash-ticket" },
      expected: [/flash-netpol:namesapce: unknown key; expected one of namespace, cluster/],
    },
    {
      title: "lookup timeout of zero",
      overrides: { "flash-netpol:lookupTimeoutSeconds": "0" },
      expected: [/flash-netpol:lookupTimeoutSeconds: got "0"; expected a number of seconds from 1 to 600/],
    },
    {
      title: "kubeconfig that does not parse",
      overrides: { "flash-netpol:kubeconfig": "apiVersion: v1\nclusters: [\n  - name: x" },
      expected: [
        /flash-netpol:kubeconfig: the kubeconfig does not parse as YAML or JSON at line \d+/,
        /pulumi config set --secret kubeconfig/,
      ],
    },
    {
      title: "kubeconfig without users",
      overrides: {
        "flash-netpol:kubeconfig": JSON.stringify({ apiVersion: "v1", clusters: [], contexts: [] }),
      },
      expected: [/flash-netpol:kubeconfig: the kubeconfig has no users list/],
    },
  ];

  for (const { title, overrides, expected } of cases) {
    it(title, async () => assertFailedCleanly(await dev(overrides), ...expected));
  }

  it("lists every problem at once, not only the first", async () => {
    const run = await dev({ "flash-netpol:namespace": "UPPER", "flash-netpol:alb": { targetType: "nlb" } });
    assertFailedCleanly(run, /flash-netpol:namespace/, /flash-netpol:alb\.targetType/);
  });

  it("never echoes the kubeconfig secret in the error", async () => {
    const run = await dev({ "flash-netpol:kubeconfig": "token: s3cr3t-value\n  bad: [" });
    assertFailedCleanly(run, /kubeconfig/);
    assert.doesNotMatch(run.error!.message, /s3cr3t-value/);
  });
});

describe("missing AWS objects: the kind and id, and nothing registered", () => {
  it("an ElastiCache replication group that does not exist", async () => {
    const run = await dev({
      "flash-netpol:dataStores": { ...DEV_STORES, redis: { replicationGroupId: "flash-dev-cache" } },
    });
    assertFailedCleanly(
      run,
      /ElastiCache replication group 'flash-dev-cache' \(flash-netpol:dataStores\.redis\.replicationGroupId\)/,
      /could not be read in ap-northeast-2: not found/,
      /Fix: check the identifier and the region/,
    );
  });

  it("an RDS instance that does not exist", async () => {
    const run = await dev({
      "flash-netpol:dataStores": { ...DEV_STORES, postgres: { dbInstanceIdentifier: "flash-dev-pg" } },
    });
    assertFailedCleanly(
      run,
      /RDS DB instance 'flash-dev-pg' \(flash-netpol:dataStores\.postgres\.dbInstanceIdentifier\)/,
      /not found/,
    );
  });

  it("an Amazon MQ broker name that does not exist", async () => {
    const run = await dev({
      "flash-netpol:dataStores": { ...DEV_STORES, mq: { brokerName: "flash-dev-rabbit" } },
    });
    assertFailedCleanly(
      run,
      /Amazon MQ broker 'flash-dev-rabbit' \(flash-netpol:dataStores\.mq\.brokerName\)/,
      /not found/,
    );
  });

  it("an EKS cluster that does not exist", async () => {
    const run = await dev({ "flash-netpol:cluster": { name: "flash-staging", region: "ap-northeast-2" } });
    assertFailedCleanly(run, /EKS cluster 'flash-staging' \(flash-netpol:cluster\.name\)/, /not found/);
  });

  it("a subnet a subnet group lists but EC2 does not know", async () => {
    const fixture = loadAwsFixture("fixtures/aws/dev.json");
    const subnets = fixture.calls.find((call) => call.output.Subnets)!.output.Subnets!;
    const dataSubnet = subnets.find((subnet) => subnet.CidrBlock === "10.20.65.0/24")!;
    subnets.splice(subnets.indexOf(dataSubnet), 1);
    const run = await runStack({ stack: "dev", fixture });
    assertFailedCleanly(run, new RegExp(`subnet '${dataSubnet.SubnetId}'`), /not found/);
  });
});

describe("AWS faults: time-outs, denied access, empty answers", () => {
  const failing = (token: string, fault: AwsFault, overrides: Record<string, unknown> = {}) =>
    runStack({
      stack: "dev",
      configOverrides: overrides,
      awsFault: (called) => (called === token ? fault : undefined),
    });

  it("a lookup that never answers fails after the configured time-out, naming the object", async () => {
    const run = await failing(
      "aws:rds/getInstance:getInstance",
      { kind: "hang" },
      { "flash-netpol:lookupTimeoutSeconds": "1" },
    );
    assertFailedCleanly(
      run,
      /RDS DB instance 'flash-dev-postgres'/,
      /timed out after 1 s/,
      /Fix: check the AWS endpoint is reachable/,
    );
  });

  it("AccessDenied names the IAM action the deploying role needs", async () => {
    const run = await failing("aws:elasticache/getReplicationGroup:getReplicationGroup", {
      kind: "error",
      message:
        "operation error ElastiCache: DescribeReplicationGroups, https response error StatusCode: 403, RequestID: 1f7c, api error AccessDenied: User: arn:aws:sts::123456789012:assumed-role/ci/deploy is not authorized to perform: elasticache:DescribeReplicationGroups",
    });
    assertFailedCleanly(
      run,
      /access denied/,
      /Fix: grant the deploying role elasticache:DescribeReplicationGroups/,
    );
  });

  it("an empty cache subnet group", async () => {
    const fixture = loadAwsFixture("fixtures/aws/dev.json");
    fixture.calls.find((call) => call.output.CacheSubnetGroups)!.output.CacheSubnetGroups![0]!.Subnets = [];
    const run = await runStack({ stack: "dev", fixture });
    assertFailedCleanly(
      run,
      /ElastiCache cache subnet group 'flash-dev-redis-subnets'/,
      /it lists no subnets/,
    );
  });

  it("a broker with no subnets", async () => {
    const fixture = loadAwsFixture("fixtures/aws/dev.json");
    fixture.calls.find((call) => call.output.BrokerId)!.output.SubnetIds = [];
    const run = await runStack({ stack: "dev", fixture });
    assertFailedCleanly(
      run,
      /Amazon MQ broker 'flash-dev-mq' \(flash-netpol:dataStores\.mq\.brokerName\)/,
      /it lists no subnets/,
    );
  });

  it("no subnet tagged for the ALB in the cluster VPC", async () => {
    const fixture = loadAwsFixture("fixtures/aws/dev.json");
    for (const subnet of fixture.calls.find((call) => call.output.Subnets)!.output.Subnets!) {
      subnet.Tags = subnet.Tags.filter((tag) => tag.Key !== "kubernetes.io/role/elb");
    }
    const run = await runStack({ stack: "dev", fixture });
    assertFailedCleanly(
      run,
      /no subnet in the cluster VPC carries the tag kubernetes\.io\/role\/elb/,
      /or set flash-netpol:alb\.cidrs/,
    );
  });
});
