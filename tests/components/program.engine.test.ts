/**
 * The program behaves under the offline run as under the real engine (issue 9): the VPC CNI add-on
 * (version, adoption, configuration, destroy), the namespace read that proves the cluster is reachable,
 * the component's shape (inputs, outputs, ordering). Expected values come from the fixtures and the
 * upstream sources cited in docs/fidelity/engine.md, not from the program's output.
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { loadAwsFixture, type AwsFixture } from "../../offline/awsFixtureFile";
import { readStackConfig } from "../../offline/stackConfig";
import { networkPolicies, runStack, type ProgramRun } from "../../offline/runProgram";
import { type KubernetesFixture } from "../../offline/kubernetesFixture";
import { type RegisteredResource } from "../../offline/engineRegistrations";
import * as fs from "node:fs";
import {
  COMPONENT_TYPE,
  DEPLOYMENT_TYPE,
  EKS_ADDON_TYPE,
  NAMESPACE_TYPE,
  SERVICE_TYPE,
  VPC_CNI_ADDON_TYPE,
} from "../../core/resourceTypes";

function addonFixture(stack: string, configurationValues: string | null): AwsFixture {
  const fixture = loadAwsFixture(`fixtures/aws/${stack}.json`);
  const index = fixture.calls.findIndex((call) => call.output.addon);
  if (configurationValues === null) fixture.calls.splice(index, 1);
  else fixture.calls[index]!.output.addon!.configurationValues = configurationValues;
  return fixture;
}

function k8sFixture(stack: string, change: (fixture: KubernetesFixture) => void): KubernetesFixture {
  const fixture = JSON.parse(fs.readFileSync(`fixtures/k8s/${stack}.json`, "utf8")) as KubernetesFixture;
  change(fixture);
  return fixture;
}

const only = (run: ProgramRun, type: string): RegisteredResource[] =>
  run.resources.filter((resource) => resource.type === type);
const addonOf = (run: ProgramRun) => {
  const found = only(run, EKS_ADDON_TYPE);
  assert.equal(found.length, 1, `one ${EKS_ADDON_TYPE}: ${run.error?.message ?? ""}`);
  return found[0]!;
};
const configurationOf = (resource: RegisteredResource) =>
  JSON.parse(resource.inputs.configurationValues as string) as {
    env: Record<string, string>;
    nodeAgent: Record<string, string>;
    enableNetworkPolicy: string;
  };

describe("offline run: eks.VpcCniAddon's constructor contract", () => {
  const program = path.join(__dirname, "../fixtures", "programs", "vpcCniAddon.ts");
  const run = (config: Record<string, string>) =>
    runStack({
      stack: "dev",
      programFile: program,
      configOverrides: Object.fromEntries(
        Object.entries(config).map(([key, value]) => [`test:${key}`, value]),
      ),
    });

  it("refuses a VpcCniAddon without addonVersion or clusterVersion, with the component's message", async () => {
    const refused = await run({ clusterName: "flash-dev" });
    assert.ok(refused.error, "the real constructor throws; the offline run must fail too");
    assert.match(
      refused.error.message,
      /You need to specify either `addonVersion` or `clusterVersion` to determine the version of the vpc-cni addon to use\./,
    );
  });

  it("refuses one without clusterName, and accepts either version", async () => {
    assert.match((await run({ addonVersion: "v1.20.4-eksbuild.1" })).error?.message ?? "", /'clusterName'/);
    assert.equal((await run({ clusterName: "flash-dev", clusterVersion: "1.33" })).error, undefined);
    assert.equal(
      (await run({ clusterName: "flash-dev", addonVersion: "v1.20.4-eksbuild.1" })).error,
      undefined,
    );
  });
});

describe("manageVpcCni: the vpc-cni add-on under the real engine", () => {
  it("adopts the installed add-on: aws.eks.Addon with the import option, its installed version and the cluster's region", async () => {
    const run = await runStack({
      stack: "dev",
      configOverrides: { "flash-netpol:manageVpcCni": true, "aws:region": "us-east-1" },
    });
    assert.equal(run.error, undefined, run.error?.message);
    assert.equal(only(run, VPC_CNI_ADDON_TYPE).length, 0, "the remote component creates, it cannot adopt");
    const addon = addonOf(run);
    assert.equal(addon.name, "flash-ticket-vpc-cni");
    assert.equal(addon.inputs.clusterName, "flash-dev");
    assert.equal(addon.inputs.addonName, "vpc-cni");
    // fixtures/aws/dev.json: describe-addon says v1.20.4-eksbuild.1; the cluster is in ap-northeast-2.
    assert.equal(addon.inputs.addonVersion, "v1.20.4-eksbuild.1");
    assert.equal(addon.inputs.region, "ap-northeast-2");
    assert.equal(addon.options.importId, "flash-dev:vpc-cni");
    assert.equal(addon.options.retainOnDelete, true);
    assert.equal(addon.inputs.preserve, true);
  });

  it("sends the add-on's current configuration merged with ours, log levels explicit, no injected defaults", async () => {
    const current = {
      env: { WARM_IP_TARGET: "5", AWS_VPC_K8S_CNI_LOGLEVEL: "WARN" },
      nodeAgent: { enablePolicyEventLogs: "false", healthProbeBindAddr: "8163" },
      resources: { requests: { cpu: "50m" } },
    };
    const run = await runStack({
      stack: "dev",
      fixture: addonFixture("dev", JSON.stringify(current)),
      configOverrides: { "flash-netpol:manageVpcCni": true },
    });
    assert.equal(run.error, undefined, run.error?.message);
    assert.deepEqual(configurationOf(addonOf(run)), {
      env: {
        WARM_IP_TARGET: "5",
        AWS_VPC_K8S_CNI_LOGLEVEL: "WARN",
        AWS_VPC_K8S_PLUGIN_LOG_LEVEL: "INFO",
        NETWORK_POLICY_ENFORCING_MODE: "standard",
      },
      nodeAgent: { enablePolicyEventLogs: "true", enableCloudWatchLogs: "true", healthProbeBindAddr: "8163" },
      resources: { requests: { cpu: "50m" } },
      enableNetworkPolicy: "true",
    });
  });

  it("a self-managed CNI (no add-on): creates the add-on over it, nothing to import", async () => {
    const run = await runStack({
      stack: "prod",
      fixture: addonFixture("prod", null),
      configOverrides: { "flash-netpol:manageVpcCni": true },
    });
    assert.equal(run.error, undefined, run.error?.message);
    const addon = addonOf(run);
    assert.equal(addon.options.importId, undefined);
    assert.equal(addon.inputs.resolveConflictsOnCreate, "OVERWRITE");
  });

  it("is registered after every check and before every policy, each of which waits for it", async () => {
    const run = await runStack({
      stack: "dev",
      configOverrides: { "flash-netpol:manageVpcCni": true, "flash-netpol:verifySelectors": true },
    });
    assert.equal(run.error, undefined, run.error?.message);
    const addon = addonOf(run);
    const reads = run.resources.filter((resource) => resource.readId !== undefined);
    assert.deepEqual(reads.map((read) => read.type).sort(), [
      ...Array(3).fill(DEPLOYMENT_TYPE),
      NAMESPACE_TYPE,
      // the Services in front of flash-gateway and flash-api (flash-pay, reached by nobody, has none)
      ...Array(2).fill(SERVICE_TYPE),
    ]);
    for (const read of reads) assert.ok(addon.dependencies.includes(read.urn), read.name);
    const position = (resource: RegisteredResource) => run.resources.indexOf(resource);
    for (const policy of networkPolicies(run)) {
      assert.ok(policy.dependencies.includes(addon.urn), policy.name);
      assert.ok(position(policy) > position(addon), policy.name);
    }
  });

  it("refusing a check registers no add-on", async () => {
    const run = await runStack({
      stack: "dev",
      configOverrides: {
        "flash-netpol:manageVpcCni": true,
        "flash-netpol:verifySelectors": true,
        "flash-netpol:services": {
          ...(JSON.parse(readStackConfig("Pulumi.dev.yaml")["flash-netpol:services"]) as object),
          "flash-gateway": { podLabels: { app: "gateway" }, port: 3000 },
        },
      },
    });
    assert.ok(run.error);
    assert.match(
      run.error.message,
      /flash-netpol:services\.flash-gateway\.podLabels \(app=gateway\) matches no pod/,
    );
    assert.deepEqual(
      run.resources.filter((resource) => /addon|VpcCniAddon/i.test(resource.type)),
      [],
      "no add-on of either kind",
    );
    assert.deepEqual(networkPolicies(run), []);
  });

  it("pulumi destroy leaves the add-on as configured (retainOnDelete), so the next run, managed or not, accepts it", async () => {
    const managed = await runStack({ stack: "dev", configOverrides: { "flash-netpol:manageVpcCni": true } });
    const sent = addonOf(managed);
    assert.equal(sent.options.retainOnDelete, true, "destroy must not delete the add-on");
    // After destroy the add-on keeps the configuration this stack sent it.
    const afterDestroy = addonFixture("dev", sent.inputs.configurationValues as string);
    const unmanaged = await runStack({ stack: "dev", fixture: afterDestroy });
    assert.equal(unmanaged.error, undefined, unmanaged.error?.message);
    const again = await runStack({
      stack: "dev",
      fixture: afterDestroy,
      configOverrides: { "flash-netpol:manageVpcCni": true },
    });
    assert.equal(again.error, undefined, again.error?.message);
    assert.equal(addonOf(again).options.importId, "flash-dev:vpc-cni", "adopted again, never created twice");
  });
});

describe("the namespace read: an unreachable cluster or a missing namespace fails before any policy", () => {
  it("reads namespace flash-ticket through the stack's provider, and every policy waits for the read", async () => {
    const run = await runStack({ stack: "prod" });
    assert.equal(run.error, undefined, run.error?.message);
    const [namespace] = only(run, NAMESPACE_TYPE);
    assert.ok(namespace, "Namespace.get registered");
    assert.equal(namespace.readId, "flash-ticket");
    assert.ok(namespace.provider?.includes("pulumi:providers:kubernetes::flash-ticket-eks"));
    for (const policy of networkPolicies(run))
      assert.ok(policy.dependencies.includes(namespace.urn), policy.name);
  });

  it("an unreachable cluster fails the run with the provider's error and registers no policy", async () => {
    const run = await runStack({
      stack: "prod",
      kubernetesUnreachable:
        "unable to load schema information from the API server: getting credentials: exec: executable aws failed with exit code 255",
    });
    assert.ok(run.error, "a preview against an unreachable cluster must not pass");
    assert.match(run.error.message, /unreachable cluster/);
    assert.deepEqual(networkPolicies(run), []);
  });

  it("a cluster without the namespace fails the run naming it, and registers no policy", async () => {
    const run = await runStack({
      stack: "dev",
      kubernetesFixture: k8sFixture("dev", (fixture) => delete fixture.namespace),
    });
    assert.ok(run.error);
    assert.match(run.error.message, /resource 'flash-ticket' does not exist/);
    assert.deepEqual(networkPolicies(run), []);
  });
});

describe("FlashNetworkPolicies has the pulumi-eks component shape", () => {
  it("sends its real args to the engine as inputs, the kubeconfig as a secret", async () => {
    const kubeconfig = JSON.stringify({ clusters: [], contexts: [], users: [] });
    const run = await runStack({ stack: "dev", configOverrides: { "flash-netpol:kubeconfig": kubeconfig } });
    assert.equal(run.error, undefined, run.error?.message);
    const [component] = only(run, COMPONENT_TYPE);
    const config = component!.inputs.config as Record<string, unknown>;
    assert.deepEqual(config.cluster, { name: "flash-dev", region: "ap-northeast-2" });
    assert.equal(config.namespace, "flash-ticket");
    assert.equal(config.kubeconfig, undefined, "the kubeconfig is not part of the plain config");
    // A secret on the wire: the SDK's signature key and secret signature around the value.
    assert.deepEqual(component!.inputs.kubeconfig, {
      "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
      value: kubeconfig,
    });
  });

  it("records its outputs whatever checks ran (verifySelectors reads before registerOutputs)", async () => {
    const run = await runStack({ stack: "dev", configOverrides: { "flash-netpol:verifySelectors": true } });
    assert.equal(run.error, undefined, run.error?.message);
    const [component] = only(run, COMPONENT_TYPE);
    assert.equal(component!.outputs?.namespace, "flash-ticket");
    assert.ok(Array.isArray(component!.outputs?.flowTable), "the stack policy's model must be in state");
  });

  it("registers every child with the component as parent", async () => {
    const run = await runStack({ stack: "dev", configOverrides: { "flash-netpol:manageVpcCni": true } });
    const [component] = only(run, COMPONENT_TYPE);
    for (const resource of run.resources.filter((resource) => resource.type !== COMPONENT_TYPE))
      assert.equal(resource.parent, component!.urn, `${resource.type} ${resource.name}`);
  });
});
