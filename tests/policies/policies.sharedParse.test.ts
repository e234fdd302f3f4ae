/**
 * The pack memoises per resource and per config (policies/rules/sharedProps.ts, memo.ts): these
 * tests say that a memoised answer is never another resource's or another config's. Each resource
 * goes in through the SDK's own unknown-checking proxy, as @pulumi/policy 1.21.0's server hands it
 * to every rule (server.js:255-256). Expected verdicts are stated by hand from the rules' text.
 */
import { strict as assert } from "assert";
import { UnknownValueError, unknownCheckingProxy } from "@pulumi/policy";
import { PREVIEW_UNKNOWN } from "../../offline/analyzerWire";
import { PolicyHarness } from "../../offline/policyHarness";
import { networkPolicyResource } from "../../offline/policyResources";
import { stackConfigOf } from "../../offline/stacks";
import { clusterInfrastructure } from "../../policies/rules/clusterInfrastructure";
import type { NetworkPolicyView } from "../../policies/rules/k8s";
import { knownPeersOnly } from "../../policies/rules/knownPeersOnly";
import { sharedProps } from "../../policies/rules/sharedProps";
import { stackFlowTableOf } from "../../policies/rules/stackConfig";
import { runRule } from "../support/ruleArgs";

/** Two NetworkPolicies with the same name and namespace (the key a careless cache would use). */
function ingressOnPort(port: number | string, name = "flash-api-ingress"): NetworkPolicyView {
  return {
    metadata: { name, namespace: "flash-ticket" },
    spec: {
      podSelector: { matchLabels: { app: "flash-api" } },
      policyTypes: ["Ingress"],
      ingress: [
        {
          from: [{ podSelector: { matchLabels: { app: "flash-gateway" } } }],
          ports: [{ protocol: "TCP", port: port as number }],
        },
      ],
    },
  };
}

/** The props as the SDK's server passes them: a fresh deserialised copy behind a fresh proxy. */
const asServerPasses = (policy: NetworkPolicyView) =>
  unknownCheckingProxy(structuredClone(policy)) as NetworkPolicyView;

/** cluster-infrastructure's verdicts on a policy, under its default protected ports unless given. */
const kubeletVerdicts = (policy: NetworkPolicyView, config: Record<string, unknown> = {}) =>
  runRule(clusterInfrastructure, asServerPasses(policy), config).map((reported) => reported.message);

describe("policy pack: memoised parses and configs never answer for another resource or config", () => {
  const savedStackConfig = process.env.PULUMI_CONFIG;
  afterEach(() => {
    if (savedStackConfig === undefined) delete process.env.PULUMI_CONFIG;
    else process.env.PULUMI_CONFIG = savedStackConfig;
  });

  it("two policies with the same name but different ports get their own verdicts, in either order", () => {
    // 10250 is the kubelet API, in cluster-infrastructure's default protectedPorts; 4000 is not.
    const kubelet = ingressOnPort(10250);
    const api = ingressOnPort(4000);
    for (const order of [
      [kubelet, api, kubelet, api],
      [api, kubelet, api, kubelet],
    ]) {
      const counts = order.map((policy) => kubeletVerdicts(policy).length);
      assert.deepEqual(
        counts,
        order.map((policy) => (policy === kubelet ? 1 : 0)),
      );
    }
    assert.match(kubeletVerdicts(kubelet)[0]!, /spec\.ingress\[0\]\.ports\[0\] \(10250\/TCP\) covers 10250/);
  });

  it("equal content shares one frozen parse; any difference, even deep in a rule, does not", () => {
    const first = sharedProps(asServerPasses(ingressOnPort(4000)));
    assert.equal(sharedProps(asServerPasses(ingressOnPort(4000))), first);
    assert.ok(Object.isFrozen(first) && Object.isFrozen(first.spec?.ingress?.[0]?.ports?.[0]));
    assert.notEqual(sharedProps(asServerPasses(ingressOnPort(4001))), first);
    assert.notEqual(sharedProps(asServerPasses(ingressOnPort(4000, "other-name"))), first);
    assert.equal(sharedProps(asServerPasses(ingressOnPort(4001))).spec?.ingress?.[0]?.ports?.[0]?.port, 4001);
  });

  it("the same policy under a changed rule config gets the new config's verdict, and back", () => {
    const api = ingressOnPort(4000);
    const guardingApiPort = { protectedPorts: [4000] };
    assert.deepEqual(
      [kubeletVerdicts(api), kubeletVerdicts(api, guardingApiPort), kubeletVerdicts(api)].map(
        (messages) => messages.length,
      ),
      [0, 1, 0],
    );
  });

  it("defaults derived from the stack config follow PULUMI_CONFIG when it changes", () => {
    // flash-gateway is a service of the prod flow table (Pulumi.yaml), so known-peers-only accepts it
    // as a peer; with no stack config the pack knows no workload and refuses every selector peer.
    const api = ingressOnPort(4000);
    const verdictsUnder = (stackConfig: Record<string, string>) => {
      process.env.PULUMI_CONFIG = JSON.stringify(stackConfig);
      return runRule(knownPeersOnly, asServerPasses(api)).length;
    };
    const prod = stackConfigOf("prod");
    assert.deepEqual([verdictsUnder(prod), verdictsUnder({}), verdictsUnder(prod)], [0, 1, 0]);
  });

  it("a value unknown during preview still throws for the rule reading it, even after a known twin", () => {
    kubeletVerdicts(ingressOnPort(4000));
    assert.throws(() => kubeletVerdicts(ingressOnPort(PREVIEW_UNKNOWN)), UnknownValueError);
    assert.equal(kubeletVerdicts(ingressOnPort(10250)).length, 1);
  });

  it("a stack config object that is not frozen is read afresh, so changing it changes the table", () => {
    const stackConfig: Record<string, string> = { ...stackConfigOf("prod") };
    assert.equal(stackFlowTableOf(stackConfig)?.namespace, "flash-ticket");
    stackConfig["flash-netpol:namespace"] = "flash-other";
    assert.equal(stackFlowTableOf(stackConfig)?.namespace, "flash-other");
  });
});

describe("policy pack: one pack process judges same-named resources apart @process", function () {
  let harness: PolicyHarness;
  before(async () => {
    harness = await PolicyHarness.start({ stack: "prod" });
  });
  after(async () => harness?.close());

  it("Analyze answers each resource from its own content, whatever was analysed before", async () => {
    const resource = (port: number, urnSuffix: string) => {
      const analysed = networkPolicyResource(
        { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", ...ingressOnPort(port) },
        "prod",
        "flash-api-ingress",
      );
      analysed.urn = `${analysed.urn}-${urnSuffix}`;
      return analysed;
    };
    const kubelet = resource(10250, "kubelet");
    const api = resource(4000, "api");
    const kubeletRule = (verdicts: { policy: string }[]) =>
      verdicts.filter((verdict) => verdict.policy === "cluster-infrastructure").length;
    const counts: number[] = [];
    for (const next of [kubelet, api, api, kubelet, api])
      counts.push(kubeletRule(await harness.analyze(next)));
    assert.deepEqual(counts, [1, 0, 0, 1, 0]);
  });
});
