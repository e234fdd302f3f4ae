/**
 * Rollout flags, ordering, the Kubernetes provider and the AWS lookups of the program under mocks.
 */
import * as assert from "node:assert/strict";
import { loadAwsFixture } from "../../offline/awsFixtureFile";
import { networkPolicies, runStack, type ProgramRun } from "../../offline/runProgram";
import { type RegisteredResource } from "../../offline/engineRegistrations";
import { COMPONENT_TYPE, KUBERNETES_PROVIDER_TYPE, NAMESPACE_TYPE } from "../../core/resourceTypes";

const ALL_ENFORCED = {
  "flash-gateway": { ingress: "enforce", egress: "enforce" },
  "flash-api": { ingress: "enforce", egress: "enforce" },
  "flash-pay": { ingress: "enforce", egress: "enforce" },
};

const policyNames = (run: ProgramRun) => {
  assert.equal(run.error, undefined, run.error?.message);
  return networkPolicies(run)
    .map((policy) => policy.name)
    .sort();
};

const rollout = (defaultDeny: "off" | "enforce", services: Record<string, Record<string, string>>) => ({
  "flash-netpol:rollout": { defaultDeny, services },
});

describe("rollout flags", () => {
  let baseline: string[];
  before(async () => {
    baseline = policyNames(await runStack({ stack: "dev", configOverrides: rollout("off", ALL_ENFORCED) }));
  });

  for (const service of ["flash-gateway", "flash-api", "flash-pay"]) {
    for (const direction of ["ingress", "egress"]) {
      it(`${service}.${direction}: off removes exactly the policy ${service}-${direction}`, async () => {
        const services = {
          ...ALL_ENFORCED,
          [service]: { ...ALL_ENFORCED[service as keyof typeof ALL_ENFORCED], [direction]: "off" },
        };
        const names = policyNames(
          await runStack({ stack: "dev", configOverrides: rollout("off", services) }),
        );
        assert.deepEqual(
          baseline.filter((name) => !names.includes(name)),
          [`${service}-${direction}`],
        );
        assert.deepEqual(
          names.filter((name) => !baseline.includes(name)),
          [],
        );
      });
    }
  }

  it("defaultDeny: enforce adds exactly the default deny and the namespace-wide DNS allow", async () => {
    const names = policyNames(
      await runStack({ stack: "dev", configOverrides: rollout("enforce", ALL_ENFORCED) }),
    );
    assert.deepEqual(
      names.filter((name) => !baseline.includes(name)),
      ["allow-dns-egress", "default-deny-all"],
    );
  });

  it("everything off registers no NetworkPolicy at all", async () => {
    const off = { ingress: "off", egress: "off" };
    const names = policyNames(
      await runStack({
        stack: "dev",
        configOverrides: rollout("off", { "flash-gateway": off, "flash-api": off, "flash-pay": off }),
      }),
    );
    assert.deepEqual(names, []);
  });
});

describe("ordering: the default deny comes after every allow", () => {
  let run: ProgramRun;
  before(async () => {
    run = await runStack({ stack: "dev" });
  });

  it("the default deny depends on every allow policy, so up creates it last and destroy deletes it first", () => {
    const policies = networkPolicies(run);
    const deny = policies.find((policy) => policy.name === "default-deny-all")!;
    const allows = policies.filter((policy) => policy !== deny);
    assert.equal(allows.length, 7);
    const namespaceRead = run.resources.find((resource) => resource.type === NAMESPACE_TYPE)!;
    assert.deepEqual(
      [...deny.dependencies].sort(),
      [...allows.map((allow) => allow.urn), namespaceRead.urn].sort(),
    );
  });

  it("no allow depends on the deny", () => {
    const deny = networkPolicies(run).find((policy) => policy.name === "default-deny-all")!;
    for (const policy of networkPolicies(run))
      assert.ok(!policy.dependencies.includes(deny.urn), policy.name);
  });

  it("every policy is a child of the component and uses the EKS Kubernetes provider", () => {
    const component = run.resources.find((resource) => resource.type === COMPONENT_TYPE)!;
    const provider = run.resources.find((resource) => resource.type === KUBERNETES_PROVIDER_TYPE)!;
    for (const policy of networkPolicies(run)) {
      assert.equal(policy.parent, component.urn);
      assert.ok(policy.provider?.startsWith(`${provider.urn}::`), `${policy.name} uses ${policy.provider}`);
    }
  });
});

describe("Kubernetes provider", () => {
  const kubeconfigOf = (provider: RegisteredResource) => {
    const value = provider.inputs.kubeconfig;
    // Marked secret by the program: arrives as a secret wrapper or as its plain value.
    return JSON.parse(typeof value === "string" ? value : (value as { value: string }).value) as {
      clusters: { cluster: { server: string; "certificate-authority-data": string } }[];
      users: { user: { exec: { command: string; args: string[] } } }[];
    };
  };

  it("is built from the EKS cluster: endpoint and CA from the lookup, token from aws eks get-token", async () => {
    const run = await runStack({ stack: "prod" });
    const fixture = loadAwsFixture("fixtures/aws/prod.json");
    const recorded = fixture.calls.find((call) => call.output.cluster)!.output.cluster!;
    const provider = run.resources.find((resource) => resource.type === KUBERNETES_PROVIDER_TYPE)!;
    const kubeconfig = kubeconfigOf(provider);
    assert.equal(kubeconfig.clusters[0]!.cluster.server, recorded.endpoint);
    assert.equal(
      kubeconfig.clusters[0]!.cluster["certificate-authority-data"],
      recorded.certificateAuthority.data,
    );
    assert.equal(kubeconfig.users[0]!.user.exec.command, "aws");
    assert.deepEqual(kubeconfig.users[0]!.user.exec.args.slice(0, 6), [
      "eks",
      "get-token",
      "--cluster-name",
      "flash-prod",
      "--region",
      "ap-northeast-2",
    ]);
    assert.equal(provider.inputs.namespace, "flash-ticket");
  });

  it("uses an explicit kubeconfig from config instead", async () => {
    const explicit = JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "c", cluster: { server: "https://k8s.example.internal" } }],
      contexts: [{ name: "c", context: { cluster: "c", user: "u" } }],
      users: [{ name: "u", user: { token: "t" } }],
      "current-context": "c",
    });
    const run = await runStack({ stack: "dev", configOverrides: { "flash-netpol:kubeconfig": explicit } });
    const provider = run.resources.find((resource) => resource.type === KUBERNETES_PROVIDER_TYPE)!;
    assert.equal(kubeconfigOf(provider).clusters[0]!.cluster.server, "https://k8s.example.internal");
  });

  it("never creates or deletes the namespace: it belongs to the application", async () => {
    const run = await runStack({ stack: "dev" });
    // It only reads it (Namespace.get), which proves the cluster answers and the namespace exists.
    const namespaces = run.resources.filter((resource) => resource.type === NAMESPACE_TYPE);
    assert.deepEqual(
      namespaces.map((namespace) => namespace.readId),
      ["flash-ticket"],
    );
  });
});

describe("AWS lookups", () => {
  it("reads each distinct AWS object once, even a subnet shared by three data stores", async () => {
    const run = await runStack({ stack: "dev" });
    const keys = run.awsCalls.map(
      (call) => `${call.token} ${JSON.stringify({ ...call.args, region: undefined })}`,
    );
    assert.equal(
      new Set(keys).size,
      keys.length,
      `repeated lookups: ${keys.filter((key, index) => keys.indexOf(key) !== index)}`,
    );
    const subnetIds = run.awsCalls
      .filter((call) => call.token === "aws:ec2/getSubnet:getSubnet")
      .map((call) => call.args.id);
    // dev: 3 ALB subnets + 3 cluster subnets (also the node group's) + 2 data subnets that Redis, RDS and MQ share.
    assert.equal(subnetIds.length, 8);
  });

  it("makes the expected prod lookups: 1 cluster, its node groups, 1 VPC, 1 ALB subnet query, 4+3+2 store objects, 14 subnets", async () => {
    const run = await runStack({ stack: "prod" });
    const count = (token: string) => run.awsCalls.filter((call) => call.token === token).length;
    assert.equal(count("aws:eks/getCluster:getCluster"), 1);
    assert.equal(count("aws:ec2/getVpc:getVpc"), 1);
    assert.equal(count("aws:ec2/getSubnets:getSubnets"), 1);
    assert.equal(count("aws:elasticache/getReplicationGroup:getReplicationGroup"), 1);
    assert.equal(count("aws:elasticache/getCluster:getCluster"), 1);
    assert.equal(count("aws:elasticache/getSubnetGroup:getSubnetGroup"), 1);
    assert.equal(count("aws:rds/getCluster:getCluster"), 1);
    assert.equal(count("aws:rds/getSubnetGroup:getSubnetGroup"), 1);
    assert.equal(count("aws:mq/getBroker:getBroker"), 1);
    assert.equal(count("aws:eks/getNodeGroups:getNodeGroups"), 1);
    assert.equal(count("aws:eks/getNodeGroup:getNodeGroup"), 1);
    // ALB, cluster (the node group's too), cache, DB and broker subnets.
    assert.equal(count("aws:ec2/getSubnet:getSubnet"), 3 + 3 + 3 + 3 + 2);
  });

  it("runs independent chains concurrently: with 20 ms per answer, the chains overlap", async () => {
    const run = await runStack({ stack: "prod", awsDelayMs: 20 });
    const starts = run.awsCalls.map((call) => call.startedMs).sort((a, b) => a - b);
    const inFirstRound = starts.filter((start) => start - starts[0]! < 10).length;
    // The EKS cluster, the replication group, the DB cluster and the broker need nothing before them.
    assert.ok(inFirstRound >= 4, `only ${inFirstRound} lookups started together`);
  });

  it("a reordered AWS answer never shows as a diff", async () => {
    const fixture = loadAwsFixture("fixtures/aws/prod.json");
    const reversed = structuredClone(fixture);
    for (const call of reversed.calls) {
      call.output.Subnets?.reverse();
      for (const group of [...(call.output.DBSubnetGroups ?? []), ...(call.output.CacheSubnetGroups ?? [])])
        group.Subnets.reverse();
      call.output.SubnetIds?.reverse();
    }
    const inOrder = networkPolicies(await runStack({ stack: "prod" })).map((policy) => policy.inputs);
    const reordered = networkPolicies(await runStack({ stack: "prod", fixture: reversed })).map(
      (policy) => policy.inputs,
    );
    const byName = (policies: { metadata: { name: string } }[]) =>
      [...policies].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    assert.deepEqual(byName(reordered), byName(inOrder));
  });
});
