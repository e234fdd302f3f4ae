/**
 * The offline plan as a reviewer compares it with `pulumi preview --json`: every registration in
 * order, secrets redacted; and the `--k8s-fixture` failure when the cluster lacks the namespace.
 * In process (the CLI's exported main), no child process.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { planJson } from "../../offline/planFormats";
import { buildPlan, type PlanResource } from "../../offline/planReport";
import { runCli } from "../support/runCli";
import {
  COMPONENT_TYPE,
  EKS_ADDON_TYPE,
  KUBERNETES_PROVIDER_TYPE,
  NAMESPACE_TYPE,
  NETWORK_POLICY_TYPE,
} from "../../core/resourceTypes";

describe("plan JSON: resources, in registration order", () => {
  let resources: PlanResource[];
  before(async () => {
    const { report } = await buildPlan({
      stack: "dev",
      configOverrides: {
        "flash-netpol:manageVpcCni": true,
        "flash-netpol:kubeconfig": JSON.stringify({ clusters: [], contexts: [], users: [] }),
      },
    });
    resources = planJson(report).resources as PlanResource[];
  });

  const index = (type: string, name?: string) =>
    resources.findIndex(
      (resource) => resource.type === type && (name === undefined || resource.name === name),
    );

  it("lists the component, its provider, the namespace read, the add-on, then the policies, deny last", () => {
    assert.deepEqual(
      resources.slice(0, 4).map((resource) => [resource.type, resource.name]),
      [
        [COMPONENT_TYPE, "flash-ticket"],
        [KUBERNETES_PROVIDER_TYPE, "flash-ticket-eks"],
        [NAMESPACE_TYPE, "flash-ticket-namespace"],
        [EKS_ADDON_TYPE, "flash-ticket-vpc-cni"],
      ],
    );
    const policies = resources.filter((resource) => resource.type === NETWORK_POLICY_TYPE);
    assert.equal(policies.length, 8);
    assert.equal(policies.at(-1)!.name, "default-deny-all");
    assert.equal(index(NETWORK_POLICY_TYPE, "default-deny-all"), resources.length - 1);
  });

  it("shows the add-on's version, import and dependencies, each with the keys of the contract", () => {
    const addon = resources[index(EKS_ADDON_TYPE)]!;
    const namespace = resources[index(NAMESPACE_TYPE)]!;
    const component = resources[index(COMPONENT_TYPE)]!;
    for (const key of ["type", "name", "parent", "dependsOn", "provider", "inputs"])
      assert.ok(key in addon || (key === "provider" && addon.provider === undefined), key);
    assert.equal(addon.inputs.addonVersion, "v1.20.4-eksbuild.1");
    assert.equal(addon.importId, "flash-dev:vpc-cni");
    assert.equal(addon.parent, component.urn);
    assert.deepEqual(addon.dependsOn, [namespace.urn]);
    assert.equal(namespace.readId, "flash-ticket");
    for (const policy of resources.filter((resource) => resource.type.endsWith("NetworkPolicy")))
      assert.ok(policy.dependsOn.includes(addon.urn), policy.name);
  });

  it("replaces every secret by [secret]", () => {
    const provider = resources[index(KUBERNETES_PROVIDER_TYPE)]!;
    const component = resources[index(COMPONENT_TYPE)]!;
    assert.equal(provider.inputs.kubeconfig, "[secret]");
    assert.equal(component.inputs.kubeconfig, "[secret]");
    assert.ok(!JSON.stringify(resources).includes('"clusters"'), "no kubeconfig text anywhere");
  });
});

describe("plan --k8s-fixture", () => {
  it("a fixture without the namespace fails the plan (exit 1) naming the namespace, the cluster and the fix", async () => {
    const recorded = JSON.parse(fs.readFileSync("fixtures/k8s/dev.json", "utf8")) as Record<string, unknown>;
    delete recorded.namespace;
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "plan-k8s-")), "dev-without-namespace.json");
    fs.writeFileSync(file, JSON.stringify(recorded));
    const result = await runCli("cli/plan.ts", "--stack", "dev", "--k8s-fixture", file, "--no-policy-pack");
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /namespace flash-ticket \(flash-netpol:namespace\) could not be read from EKS cluster flash-dev/,
    );
    assert.match(result.stderr, /resource 'flash-ticket' does not exist/);
    assert.match(result.stderr, /Fix: create the namespace/);
    assert.ok(result.stderr.includes(file), "names the fixture it read");
    assert.equal(result.stdout, "", "no plan is printed");
  });

  it("the recorded fixture with the namespace plans as before", async () => {
    const result = await runCli(
      "cli/plan.ts",
      "--stack",
      "dev",
      "--k8s-fixture",
      "fixtures/k8s/dev.json",
      "--no-policy-pack",
      "--format",
      "json",
    );
    assert.equal(result.code, 0, result.stderr);
    assert.ok(Array.isArray((JSON.parse(result.stdout) as { resources: unknown[] }).resources));
  });
});
