/**
 * Operator safety under mocks: the CNI enforcement check, break-glass, and selectors checked
 * against the Deployments the cluster runs.
 */
import * as assert from "node:assert/strict";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { loadAwsFixture, type AwsFixture } from "../../offline/awsFixtureFile";
import { networkPolicies, runStack, type ProgramRun } from "../../offline/runProgram";
import { readStackConfig } from "../../offline/stackConfig";
import { listStacks } from "../../offline/stacks";
import * as fs from "node:fs";
import { EKS_ADDON_TYPE } from "../../core/resourceTypes";

const ADDON_TOKEN = "aws:eks/getAddon:getAddon";

function withAddonConfiguration(stack: string, configurationValues: string | null): AwsFixture {
  const fixture = loadAwsFixture(`fixtures/aws/${stack}.json`);
  const index = fixture.calls.findIndex((call) => call.output.addon);
  if (configurationValues === null) fixture.calls.splice(index, 1);
  else fixture.calls[index]!.output.addon!.configurationValues = configurationValues;
  return fixture;
}

const policyNamesOf = (run: ProgramRun) => networkPolicies(run).map((policy) => policy.name);

describe("NetworkPolicy enforcement by the VPC CNI", () => {
  it("dev's add-on has network policy enabled: the check passes after reading it once", async () => {
    const run = await runStack({ stack: "dev" });
    assert.equal(run.error, undefined);
    assert.equal(run.awsCalls.filter((call) => call.token === ADDON_TOKEN).length, 1);
  });

  it("fails with the exact fix when the add-on has network policy off, keeping its other settings", async () => {
    const run = await runStack({
      stack: "dev",
      fixture: withAddonConfiguration("dev", JSON.stringify({ env: { WARM_IP_TARGET: "5" } })),
    });
    assert.ok(run.error);
    assert.match(
      run.error.message,
      /vpc-cni add-on \(v1\.20\.4-eksbuild\.1\) on cluster flash-dev has network policy disabled/,
    );
    assert.ok(
      run.error.message.includes(
        `aws eks update-addon --cluster-name flash-dev --addon-name vpc-cni --region ap-northeast-2 --resolve-conflicts PRESERVE ` +
          `--configuration-values '{"env":{"WARM_IP_TARGET":"5","AWS_VPC_K8S_CNI_LOGLEVEL":"INFO","AWS_VPC_K8S_PLUGIN_LOG_LEVEL":"INFO",` +
          `"NETWORK_POLICY_ENFORCING_MODE":"standard"},"enableNetworkPolicy":"true",` +
          `"nodeAgent":{"enablePolicyEventLogs":"true","enableCloudWatchLogs":"true"}}'`,
      ),
      run.error.message,
    );
    assert.match(run.error.message, /or set flash-netpol:manageVpcCni: true/);
    assert.deepEqual(policyNamesOf(run), []);
  });

  it("fails when vpc-cni is not an EKS add-on at all (self-managed CNI), suggesting create-addon", async () => {
    const run = await runStack({ stack: "prod", fixture: withAddonConfiguration("prod", null) });
    assert.ok(run.error);
    assert.match(run.error.message, /vpc-cni is not installed as an EKS add-on on cluster flash-prod/);
    assert.match(run.error.message, /aws eks create-addon --cluster-name flash-prod --addon-name vpc-cni/);
    assert.deepEqual(policyNamesOf(run), []);
  });

  it("fails when the add-on enforces in another mode than the stack asks for", async () => {
    const run = await runStack({
      stack: "dev",
      configOverrides: { "flash-netpol:networkPolicyEnforcingMode": "strict" },
    });
    assert.ok(run.error);
    assert.match(
      run.error.message,
      /enforces in standard mode, but flash-netpol:networkPolicyEnforcingMode is strict/,
    );
  });

  it("does not look when nothing is enforced: an all-off stage needs no enforcement", async () => {
    const off = { ingress: "off", egress: "off" };
    const run = await runStack({
      stack: "dev",
      fixture: withAddonConfiguration("dev", "{}"),
      configOverrides: {
        "flash-netpol:rollout": {
          defaultDeny: "off",
          services: { "flash-gateway": off, "flash-api": off, "flash-pay": off },
        },
      },
    });
    assert.equal(run.error, undefined);
    assert.equal(run.awsCalls.filter((call) => call.token === ADDON_TOKEN).length, 0);
  });

  it("manageVpcCni: manages the add-on (network policy, event logs, mode) and the policies wait for it", async () => {
    const run = await runStack({
      stack: "prod",
      fixture: withAddonConfiguration("prod", "{}"),
      configOverrides: {
        "flash-netpol:manageVpcCni": true,
        // strict is refused while it cuts intended flows (see below), so the mode passed on is standard.
        "flash-netpol:networkPolicyEnforcingMode": "standard",
      },
    });
    assert.equal(run.error, undefined, run.error?.message);
    // Managed: read once for its version and current configuration, but not refused when it is off.
    assert.equal(run.awsCalls.filter((call) => call.token === ADDON_TOKEN).length, 1);
    const addon = run.resources.find((resource) => resource.type === EKS_ADDON_TYPE)!;
    assert.equal(addon.inputs.clusterName, "flash-prod");
    assert.deepEqual(JSON.parse(addon.inputs.configurationValues as string), {
      enableNetworkPolicy: "true",
      nodeAgent: { enablePolicyEventLogs: "true", enableCloudWatchLogs: "true" },
      env: {
        AWS_VPC_K8S_CNI_LOGLEVEL: "INFO",
        AWS_VPC_K8S_PLUGIN_LOG_LEVEL: "INFO",
        NETWORK_POLICY_ENFORCING_MODE: "standard",
      },
    });
    for (const policy of networkPolicies(run))
      assert.ok(policy.dependencies.includes(addon.urn), policy.name);
  });
});

describe("networkPolicyEnforcingMode: strict", () => {
  it("is refused while it would cut intended flows: kube-dns is selected by no policy this program deploys", async () => {
    const run = await runStack({
      stack: "dev",
      configOverrides: {
        "flash-netpol:networkPolicyEnforcingMode": "strict",
        "flash-netpol:manageVpcCni": true,
      },
    });
    assert.ok(run.error);
    assert.match(
      run.error.message,
      /networkPolicyEnforcingMode is strict, but in strict mode the VPC CNI agent denies everything to and from pods no NetworkPolicy selects, which cuts \d+ intended connection\(s\) at this rollout stage: flash-ticket\/flash-gateway -> kube-system\/kube-dns 53\/TCP/,
    );
    assert.match(run.error.message, /Fix: keep networkPolicyEnforcingMode: standard/);
    assert.deepEqual(policyNamesOf(run), [], "nothing is registered");
  });
});

describe("break-glass", () => {
  it("adds exactly one allow-all policy for the namespace and removes nothing", async () => {
    const normal = await runStack({ stack: "dev" });
    const broken = await runStack({ stack: "dev", configOverrides: { "flash-netpol:breakGlass": true } });
    assert.equal(broken.error, undefined);
    const added = policyNamesOf(broken).filter((name) => !policyNamesOf(normal).includes(name));
    assert.deepEqual(added, ["break-glass-allow-all"]);
    assert.deepEqual(
      policyNamesOf(normal).filter((name) => !policyNamesOf(broken).includes(name)),
      [],
    );
    const policy = networkPolicies(broken).find((resource) => resource.name === "break-glass-allow-all")!;
    // An empty rule matches every peer on every port: the union of allows then opens everything.
    // On EKS an `except` range of another policy is a deny-all map entry unless some rule lists it
    // as a CIDR, so the allow-all also lists every excepted range as a plain ipBlock.
    const excepted = networkPolicies(broken)
      .filter((resource) => resource.name !== "break-glass-allow-all")
      .flatMap((resource) => [
        ...(resource.inputs.spec.egress ?? []),
        ...(resource.inputs.spec.ingress ?? []),
      ])
      .flatMap(
        (rule: {
          to?: { ipBlock?: { except?: string[] } }[];
          from?: { ipBlock?: { except?: string[] } }[];
        }) => [...(rule.to ?? []), ...(rule.from ?? [])],
      )
      .flatMap((peer) => peer.ipBlock?.except ?? []);
    assert.deepEqual([...new Set(excepted)].sort(), [
      "10.0.0.0/8",
      "100.64.0.0/10",
      "169.254.0.0/16",
      "172.16.0.0/12",
      "192.168.0.0/16",
    ]);
    assert.deepEqual(policy.inputs.spec, {
      podSelector: {},
      policyTypes: ["Ingress", "Egress"],
      ingress: [{}],
      egress: [{}, { to: [...new Set(excepted)].sort().map((cidr) => ({ ipBlock: { cidr } })) }],
    });
    assert.equal(policy.inputs.metadata.labels["flash-netpol/break-glass"], "true");
    assert.doesNotThrow(() => new NetworkPolicy(policy.inputs as never).validate());
  });

  it("setting it back to false removes only that policy", async () => {
    const run = await runStack({ stack: "dev", configOverrides: { "flash-netpol:breakGlass": "false" } });
    assert.ok(!policyNamesOf(run).includes("break-glass-allow-all"));
    assert.equal(policyNamesOf(run).length, 8);
  });
});

describe("verifySelectors: selectors and ports against the Deployments", () => {
  interface DeploymentList {
    deployments: {
      items: {
        metadata: { name: string; namespace: string };
        spec: { template: { metadata: { labels: Record<string, string> } } };
      }[];
    };
  }
  const deployments = (stack: string) =>
    JSON.parse(fs.readFileSync(`fixtures/k8s/${stack}.json`, "utf8")) as DeploymentList;

  it("passes for every stack (dev and prod), whose Deployments carry the configured labels and ports", async () => {
    for (const stack of listStacks()) {
      const run = await runStack({ stack, configOverrides: { "flash-netpol:verifySelectors": true } });
      assert.equal(run.error, undefined, `${stack}: ${run.error?.message}`);
    }
  });

  it("fails when a Deployment's pod labels drifted from the selector, listing the labels found", async () => {
    const cluster = deployments("prod");
    cluster.deployments.items.find(
      (item) => item.metadata.name === "flash-api",
    )!.spec.template.metadata.labels = {
      app: "flash-api-v3",
      "app.kubernetes.io/part-of": "flash-ticket",
    };
    const run = await runStack({
      stack: "prod",
      kubernetesFixture: cluster,
      configOverrides: { "flash-netpol:verifySelectors": true },
    });
    assert.ok(run.error);
    assert.match(
      run.error.message,
      /flash-netpol:services\.flash-api\.podLabels \(app=flash-api\) matches no pod of Deployment flash-ticket\/flash-api, whose pod template has labels app=flash-api-v3,app\.kubernetes\.io\/part-of=flash-ticket/,
    );
    assert.match(run.error.message, /covered by no policy at all/);
    assert.deepEqual(policyNamesOf(run), [], "no policy is registered when the check fails");
  });

  it("with the default deny on, a drifted pod is still covered by it, and the message says so", async () => {
    const cluster = deployments("dev");
    cluster.deployments.items.find(
      (item) => item.metadata.name === "flash-gateway",
    )!.spec.template.metadata.labels = {
      app: "gateway",
    };
    const run = await runStack({
      stack: "dev",
      kubernetesFixture: cluster,
      configOverrides: { "flash-netpol:verifySelectors": true },
    });
    assert.ok(run.error);
    assert.match(run.error.message, /covered by only allow-dns-egress, default-deny-all/);
  });

  it("fails when the configured port is not a container port", async () => {
    const run = await runStack({
      stack: "dev",
      configOverrides: {
        "flash-netpol:verifySelectors": true,
        "flash-netpol:services": {
          ...(JSON.parse(readStackConfig("Pulumi.dev.yaml")["flash-netpol:services"]) as object),
          "flash-gateway": { podLabels: { app: "flash-gateway" }, port: 8443 },
        },
      },
    });
    assert.ok(run.error);
    assert.match(
      run.error.message,
      /flash-netpol:services\.flash-gateway\.port is 8443\/TCP, but no container of Deployment flash-ticket\/flash-gateway declares it \(declared: 3000\/TCP\)/,
    );
  });

  interface ServiceList {
    services: {
      items: {
        metadata: { name: string };
        spec: {
          clusterIP: string;
          selector: Record<string, string>;
          ports: { port: number; protocol: string; targetPort: number | string }[];
        };
      }[];
    };
  }
  const withService = (
    stack: string,
    name: string,
    change: (spec: ServiceList["services"]["items"][0]["spec"]) => void,
  ) => {
    const cluster = JSON.parse(fs.readFileSync(`fixtures/k8s/${stack}.json`, "utf8")) as ServiceList;
    change(cluster.services.items.find((item) => item.metadata.name === name)!.spec);
    return cluster as never;
  };
  const runWith = (stack: string, kubernetesFixture: never) =>
    runStack({ stack, kubernetesFixture, configOverrides: { "flash-netpol:verifySelectors": true } });

  it("fails when a Service's selector is not matched by the service's podLabels, naming the Service and the fix", async () => {
    const run = await runWith(
      "prod",
      withService("prod", "flash-api", (spec) => (spec.selector = { "app.kubernetes.io/name": "flash-api" })),
    );
    assert.ok(run.error);
    assert.match(
      run.error.message,
      /Service flash-ticket\/flash-api \(selector app\.kubernetes\.io\/name=flash-api; ports 80->4000\/TCP\): its selector does not contain flash-netpol:services\.flash-api\.podLabels \(app=flash-api\), so the EKS network policy controller adds its ClusterIP to no egress policy, and flash-gateway -> flash-api through the Service is dropped on EKS\. Fix: add app=flash-api to the Service's selector/,
    );
    assert.deepEqual(policyNamesOf(run), [], "no policy is registered when the check fails");
  });

  it("fails on a headless Service", async () => {
    const run = await runWith(
      "dev",
      withService("dev", "flash-api", (spec) => (spec.clusterIP = "None")),
    );
    assert.ok(run.error);
    assert.match(run.error.message, /Service flash-ticket\/flash-api \(.*\) is headless \(clusterIP None\)/);
  });

  it("fails when no Service port targets the configured port, listing the ports", async () => {
    const run = await runWith(
      "dev",
      withService("dev", "flash-gateway", (spec) => (spec.ports[0].targetPort = 8080)),
    );
    assert.ok(run.error);
    assert.match(
      run.error.message,
      /Service flash-ticket\/flash-gateway \(selector app=flash-gateway; ports 80->8080\/TCP\): no port targets flash-netpol:services\.flash-gateway\.port 3000\/TCP/,
    );
  });

  it("accepts a named targetPort that is the container port of that name", async () => {
    const run = await runWith(
      "dev",
      withService("dev", "flash-gateway", (spec) => (spec.ports[0].targetPort = "http")),
    );
    assert.equal(run.error, undefined, run.error?.message);
  });

  it("reads no Service for flash-pay: a worker nobody connects to needs none (the fixtures have none)", async () => {
    const cluster = JSON.parse(fs.readFileSync("fixtures/k8s/dev.json", "utf8")) as ServiceList;
    assert.ok(!cluster.services.items.some((item) => item.metadata.name === "flash-pay"));
    const run = await runWith("dev", cluster as never);
    assert.equal(run.error, undefined, run.error?.message);
  });

  it("fails clearly when the Deployment does not exist", async () => {
    const run = await runStack({
      stack: "dev",
      configOverrides: {
        "flash-netpol:verifySelectors": true,
        "flash-netpol:deployments": { "flash-pay": "payment-worker" },
      },
    });
    assert.ok(run.error);
    // What the SDK (runtime/resource.js readResource) and the engine (step.go ReadStep) report: the
    // read resource's name says which service's Deployment it was.
    assert.match(
      run.error.message,
      /failed to read resource #flash-ticket\/payment-worker 'flash-pay-deployment' \[kubernetes:apps\/v1:Deployment\]: resource 'flash-ticket\/payment-worker' does not exist/,
    );
    assert.deepEqual(policyNamesOf(run), []);
  });
});
