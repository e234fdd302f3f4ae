/**
 * The harness speaks to a pack as the engine does: these tests check what goes on the wire (with a
 * pack that echoes its requests), how config is reconciled and validated, how values unknown during
 * preview come back, and that the pack process is always stopped.
 */
import { strict as assert } from "assert";
import * as path from "path";
import { PREVIEW_UNKNOWN, providerCheckedInputs, type AnalyzedResource } from "../../offline/analyzerWire";
import { PolicyHarness, PolicyHarnessError, mandatoryVerdicts } from "../../offline/policyHarness";
import {
  PolicyPackConfigError,
  parsePolicyPackConfig,
  reconcilePolicyPackConfig,
  type PolicySummary,
} from "../../offline/policyPackConfig";
import { networkPolicyResource } from "../../offline/policyResources";
import { COMPONENT_TYPE, KUBERNETES_PROVIDER_TYPE, NETWORK_POLICY_TYPE } from "../../core/resourceTypes";

const FIXTURES = path.join(__dirname, "../fixtures", "policies");

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const provider = {
  type: KUBERNETES_PROVIDER_TYPE,
  name: "flash-ticket-eks",
  urn: "urn:pulumi:dev::flash-netpol::pulumi:providers:kubernetes::flash-ticket-eks",
  properties: { namespace: "flash-ticket", enableServerSideApply: true },
};
const componentUrn = "urn:pulumi:dev::flash-netpol::flash-netpol:index:FlashNetworkPolicies::flash-ticket";

describe("policy harness: what goes on the wire (echo pack) @process", function () {
  let harness: PolicyHarness;
  before(async () => {
    harness = await PolicyHarness.start({
      stack: "dev",
      packDir: path.join(FIXTURES, "echo-pack"),
      packConfig: new Map(),
    });
  });
  after(async () => harness?.close());

  const unnamed: AnalyzedResource = {
    type: NETWORK_POLICY_TYPE,
    name: "allow-dns",
    urn: `urn:pulumi:dev::flash-netpol::flash-netpol:index:FlashNetworkPolicies$${NETWORK_POLICY_TYPE}::allow-dns`,
    inputs: { metadata: { labels: { team: "platform" } }, spec: { podSelector: {} } },
    parent: componentUrn,
    dependencies: [provider.urn],
    provider,
    options: {
      protect: true,
      ignoreChanges: ["metadata.annotations"],
      deleteBeforeReplace: true,
      additionalSecretOutputs: ["data"],
      aliases: ["urn:pulumi:dev::flash-netpol::kubernetes:networking.k8s.io/v1:NetworkPolicy::old-name"],
      customTimeouts: { create: 300, update: 60, delete: 0 },
    },
  };

  it("Analyze gets provider-checked inputs: apiVersion, kind and an auto-name with the autonamed annotation", async () => {
    const [verdict] = await harness.analyze(unnamed);
    const echoed = JSON.parse(verdict!.message.split("\n").slice(1).join("\n"));
    assert.equal(echoed.props.apiVersion, "networking.k8s.io/v1");
    assert.equal(echoed.props.kind, "NetworkPolicy");
    assert.match(echoed.props.metadata.name, /^allow-dns-[0-9a-f]{8}$/);
    assert.equal(echoed.props.metadata.annotations["pulumi.com/autonamed"], "true");
    assert.deepEqual(echoed.props.metadata.labels, { team: "platform" });
    assert.equal(echoed.name, "allow-dns");
    assert.equal(echoed.urn, unnamed.urn);
    assert.match(verdict!.resource, /^NetworkPolicy flash-ticket\/allow-dns-[0-9a-f]{8}$/);
  });

  it("Analyze gets the resource options and the provider resource", async () => {
    const [verdict] = await harness.analyze(unnamed);
    const echoed = JSON.parse(verdict!.message.split("\n").slice(1).join("\n"));
    assert.deepEqual(echoed.opts, {
      protect: true,
      ignoreChanges: ["metadata.annotations"],
      aliases: unnamed.options!.aliases,
      customTimeouts: { createSeconds: 300, updateSeconds: 60, deleteSeconds: 0 },
      additionalSecretOutputs: ["data"],
      deleteBeforeReplace: true,
      parent: componentUrn,
    });
    assert.deepEqual(echoed.provider, {
      type: provider.type,
      name: provider.name,
      urn: provider.urn,
      props: provider.properties,
    });
  });

  it("keeps an explicit name and leaves an unknown name unknown (no auto-name)", () => {
    const named = providerCheckedInputs({ ...unnamed, inputs: { metadata: { name: "given" } } });
    assert.equal((named["metadata"] as { name: string }).name, "given");
    const unknown = providerCheckedInputs({ ...unnamed, inputs: { metadata: { name: PREVIEW_UNKNOWN } } });
    assert.equal((unknown["metadata"] as { name: string }).name, PREVIEW_UNKNOWN);
  });

  it("AnalyzeStack resolves parent, dependencies and provider into resources", async () => {
    const component: AnalyzedResource = {
      type: COMPONENT_TYPE,
      name: "flash-ticket",
      urn: componentUrn,
      inputs: {},
    };
    const providerResource: AnalyzedResource = {
      type: provider.type,
      name: provider.name,
      urn: provider.urn,
      inputs: provider.properties,
    };
    const verdicts = await harness.analyzeStack([component, providerResource, unnamed]);
    const stack = verdicts.find((verdict) => verdict.policy === "echo-stack")!;
    const echoed = JSON.parse(stack.message.split("\n").slice(1).join("\n")) as {
      urn: string;
      parent: string | null;
      dependencies: string[];
      provider: string | null;
    }[];
    const policy = echoed.find((resource) => resource.urn === unnamed.urn)!;
    assert.equal(policy.parent, componentUrn);
    assert.deepEqual(policy.dependencies, [provider.urn]);
    assert.equal(policy.provider, provider.urn);
  });
});

describe("policy harness: the flash-netpol pack @process", function () {
  let harness: PolicyHarness;
  before(async () => {
    harness = await PolicyHarness.start({ stack: "prod" });
  });
  after(async () => harness?.close());

  it("GetAnalyzerInfo lists every rule, with config schemas the CLI can validate", () => {
    assert.equal(harness.info.name, "flash-netpol");
    assert.equal(harness.info.supportsConfig, true);
    assert.deepEqual(harness.info.policies.map((policy) => policy.name).sort(), [
      "accepted-risks",
      "break-glass-active",
      "cluster-infrastructure",
      "cluster-tier-policies",
      "data-store-egress",
      "dns-egress-kube-dns-only",
      "eks-vpc-cni-lints",
      "eks-vpc-cni-pod-maps",
      "explicit-policy-types",
      "flows-match-flow-table",
      "isolated-workloads-no-ingress",
      "known-peers-only",
      "link-local-egress",
      "namespace-default-deny",
      "no-allow-all-peers",
      "pack-config-not-weakened",
      "ports-explicit",
      "public-egress",
      "public-ingress",
    ]);
    const deny = harness.info.policies.find((policy) => policy.name === "namespace-default-deny")!;
    assert.ok(deny.configSchema?.properties["exemptions"]);
  });

  it("prod's pack config is mandatory for every rule but the EKS lints, break-glass and accepted risks", () => {
    const advisory = ["eks-vpc-cni-lints", "eks-vpc-cni-pod-maps", "break-glass-active", "accepted-risks"];
    for (const [name, entry] of harness.config) {
      if (name === "all") continue;
      const expected = advisory.includes(name) ? "advisory" : "mandatory";
      assert.equal(entry.enforcementLevel, expected, name);
    }
  });

  it("a value unknown during preview gives an advisory 'can't be known during preview', not a crash", async () => {
    const resource = networkPolicyResource(
      {
        metadata: { name: "flash-api-ingress", namespace: "flash-ticket" },
        spec: { podSelector: PREVIEW_UNKNOWN, policyTypes: ["Ingress"], ingress: PREVIEW_UNKNOWN },
      },
      "prod",
      "flash-api-ingress",
    );
    const verdicts = await harness.preview([resource]);
    assert.deepEqual(
      mandatoryVerdicts(verdicts.filter((verdict) => verdict.policy !== "namespace-default-deny")),
      [],
    );
    const unknown = verdicts.filter((verdict) => /can't be known during preview/.test(verdict.message));
    assert.ok(unknown.length > 0, JSON.stringify(verdicts, null, 2));
    for (const verdict of unknown) assert.equal(verdict.level, "advisory");
  });

  it("an unknown namespace makes the stack rule advisory for this preview", async () => {
    const resource = networkPolicyResource(
      {
        metadata: { name: "x", namespace: PREVIEW_UNKNOWN },
        spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
      },
      "prod",
      "x",
    );
    const verdicts = await harness.analyzeStack([resource]);
    const deny = verdicts.filter((verdict) => verdict.policy === "namespace-default-deny");
    assert.equal(deny.length, 1);
    assert.equal(deny[0]!.level, "advisory");
    assert.match(deny[0]!.message, /can't be known during preview/);
  });

  it('the program\'s own break-glass stays advisory under "all": "mandatory"; the label on another policy exempts nothing', async () => {
    await harness.configure(parsePolicyPackConfig(JSON.stringify({ all: "mandatory" }), "test"));
    // What core/networkPolicies.ts breakGlassPolicy renders, in the stack's namespace.
    const programs = {
      metadata: {
        name: "break-glass-allow-all",
        namespace: "flash-ticket",
        labels: {
          "app.kubernetes.io/managed-by": "pulumi",
          "app.kubernetes.io/part-of": "flash-netpol",
          "flash-netpol/break-glass": "true",
        },
      },
      spec: {
        podSelector: {},
        policyTypes: ["Ingress" as const, "Egress" as const],
        ingress: [{}],
        egress: [{}],
      },
    };
    try {
      const verdicts = await harness.analyze(
        networkPolicyResource(programs, "prod", "break-glass-allow-all"),
      );
      assert.deepEqual(
        verdicts.map((verdict) => [verdict.policy, verdict.level, verdict.resource]),
        [["break-glass-active", "advisory", "NetworkPolicy flash-ticket/break-glass-allow-all"]],
      );
      const renamed = { ...programs, metadata: { ...programs.metadata, name: "break-glass" } };
      const judged = await harness.analyze(networkPolicyResource(renamed, "prod", "break-glass"));
      assert.ok(
        judged.some((verdict) => verdict.policy === "no-allow-all-peers" && verdict.level === "mandatory"),
        JSON.stringify(judged),
      );
    } finally {
      await harness.configure(path.join(__dirname, "..", "..", "policies", "config", "prod.json"));
    }
  });

  it("rejects pack config the schema forbids, naming the policy and the field", async () => {
    const bad = parsePolicyPackConfig(
      JSON.stringify({
        "namespace-default-deny": {
          exemptions: [{ namespace: "flash-ticket", until: "next week", reason: "x" }],
        },
      }),
      "bad.json",
    );
    await assert.rejects(harness.configure(bad), (error: Error) => {
      assert.ok(error instanceof PolicyPackConfigError);
      assert.match(
        error.message,
        /namespace-default-deny: exemptions\.0\.until: Invalid string: must match pattern/,
      );
      return true;
    });
    const typo = parsePolicyPackConfig(JSON.stringify({ "namespace-defaultdeny": "advisory" }), "typo.json");
    await assert.rejects(harness.configure(typo), /namespace-defaultdeny: no such policy in the pack/);
  });
});

describe("policy pack config: parsed and reconciled like the CLI", () => {
  const policies: PolicySummary[] = [
    {
      name: "a",
      enforcementLevel: "advisory",
      configSchema: { properties: { ports: { type: "array", default: [443] } }, required: [] },
    },
    { name: "b", enforcementLevel: "advisory" },
  ];

  it('applies schema defaults, then "all", then per-policy entries', () => {
    const config = reconcilePolicyPackConfig(
      policies,
      new Map(),
      parsePolicyPackConfig(
        JSON.stringify({ all: "mandatory", b: { enforcementLevel: "advisory", x: 1 } }),
        "t",
      ),
    );
    assert.deepEqual(config.get("a"), { enforcementLevel: "mandatory", properties: { ports: [443] } });
    assert.deepEqual(config.get("b"), { enforcementLevel: "advisory", properties: { x: 1 } });
  });

  it("rejects an invalid enforcement level and a non-object value like the CLI", () => {
    assert.throws(
      () => parsePolicyPackConfig('{"a": "strict"}', "t.json"),
      /"strict" is not a valid enforcement level/,
    );
    assert.throws(() => parsePolicyPackConfig('{"a": 3}', "t.json"), /must be a string or object/);
    assert.throws(() => parsePolicyPackConfig("{", "t.json"), /t\.json: not valid JSON/);
  });
});

describe("policy harness: the pack process lifecycle @process", function () {
  it("close() stops the pack process", async () => {
    const harness = await PolicyHarness.start({ stack: "dev" });
    const pid = harness.pid!;
    assert.ok(isAlive(pid));
    await harness.close();
    assert.equal(isAlive(pid), false);
    await harness.close();
    await assert.rejects(harness.analyzeStack([]), PolicyHarnessError);
  });

  it("gives up on a hung pack with an error naming what it waited for, and kills the process", async () => {
    // The limit guards against a hang; the stuck pack never prints a port, however fast the machine.
    let pid: number | undefined;
    await assert.rejects(
      PolicyHarness.start({
        stack: "dev",
        packDir: path.join(FIXTURES, "stuck-pack"),
        packConfig: new Map(),
        startTimeoutMs: 1_000,
      }),
      (error: PolicyHarnessError) => {
        assert.match(error.message, /stuck-pack did not print its gRPC port within 1 s/);
        assert.match(error.message, /waiting for run-policy-pack to load the package's main and listen/);
        pid = error.pid;
        return true;
      },
    );
    assert.ok(pid !== undefined, "the error names the pack process");
    while (isAlive(pid)) await new Promise((resolve) => setTimeout(resolve, 20));
  });

  it("reports a pack that dies while loading, with its stderr", async () => {
    await assert.rejects(
      PolicyHarness.start({
        stack: "dev",
        packDir: path.join(FIXTURES, "crash-pack"),
        packConfig: new Map(),
      }),
      (error: Error) => {
        assert.match(error.message, /policy pack exited \(code \d+/);
        assert.match(error.message, /crash-pack: failed while loading the rules/);
        return true;
      },
    );
  });
});
