/**
 * The rollout proofs for dev and prod, and proof that the proofs can fail: mutated manifests must
 * be reported as the outage or exposure they cause, naming the flow or the rule.
 *
 * Expectations come from the README's flow table and staged rollout: every combination of the six
 * service flags with defaultDeny off, plus full enforcement (the config refuses the rest).
 */
import * as assert from "node:assert/strict";
import {
  ConnectivityEvaluator,
  buildFlashModel,
  describeExposure,
  describeOutage,
  enumerateRolloutStages,
  fullEnforcement,
  isPolicedExposure,
  proveRollout,
  reachableRolloutStages,
  topologyFromConfig,
  type ConnectivityReport,
  type FlashModel,
} from "../../analyzer/flash";
import type { StackConfig } from "../../core/config";
import { generatePolicies, type NetworkPolicyManifest, type ResolvedCidrs } from "../../core/networkPolicies";
import { buildPlan } from "../../offline/planReport";
import { listStacks } from "../../offline/stacks";

interface StackUnderTest {
  config: StackConfig;
  cidrs: ResolvedCidrs;
  manifests: NetworkPolicyManifest[];
  model: FlashModel;
}

async function load(stack: string): Promise<StackUnderTest> {
  const { report, config } = await buildPlan({ stack });
  return {
    config,
    cidrs: report.cidrs,
    manifests: report.manifests,
    model: buildFlashModel(topologyFromConfig(config, report.cidrs)),
  };
}

const ALL_SERVICES_NO_DEFAULT_DENY: StackConfig["rollout"] = {
  defaultDeny: "off",
  services: {
    "flash-gateway": { ingress: "enforce", egress: "enforce" },
    "flash-api": { ingress: "enforce", egress: "enforce" },
    "flash-pay": { ingress: "enforce", egress: "enforce" },
  },
};

function manifestsAt(stack: StackUnderTest, rollout: StackConfig["rollout"]): NetworkPolicyManifest[] {
  return generatePolicies({ ...stack.config, rollout }, stack.cidrs).map((policy) =>
    structuredClone(policy.manifest),
  );
}

function policy(manifests: NetworkPolicyManifest[], name: string): NetworkPolicyManifest {
  const found = manifests.find((manifest) => manifest.metadata.name === name);
  assert.ok(found, `no policy ${name}`);
  return found;
}

function evaluate(stack: StackUnderTest, manifests: NetworkPolicyManifest[]): ConnectivityReport {
  return new ConnectivityEvaluator(stack.model).evaluate(manifests);
}

const outageFlows = (report: ConnectivityReport) =>
  [...new Set(report.outages.flatMap((outage) => outage.probe.intendedBy.map((flow) => flow.name)))].sort();

const THREE_SERVICES = ["flash-gateway", "flash-api", "flash-pay"];

describe("flash proofs: the reachable rollout stages", () => {
  it("are the 64 combinations of the six service flags with defaultDeny off, plus full enforcement", () => {
    const stages = reachableRolloutStages(THREE_SERVICES);
    assert.equal(stages.length, 65);
    assert.equal(stages.filter((stage) => stage.rollout.defaultDeny === "off").length, 64);
    const withDeny = stages.filter((stage) => stage.rollout.defaultDeny === "enforce");
    assert.equal(withDeny.length, 1);
    assert.deepEqual(withDeny[0].rollout, fullEnforcement(THREE_SERVICES));
    const distinct = new Set(stages.map((stage) => JSON.stringify(stage.rollout)));
    assert.equal(distinct.size, 65);
  });
});

for (const stackName of listStacks()) {
  describe(`flash proofs: ${stackName}`, () => {
    let stack: StackUnderTest;
    before(async () => {
      stack = await load(stackName);
    });

    it("(a) no outage at any of the 2^(2n) + 1 stages (65 for three services), and no deployed rule wider than the table", () => {
      const proof = proveRollout(stack.config, stack.cidrs);
      const expected = 2n ** BigInt(2 * Object.keys(stack.config.services).length) + 1n;
      assert.equal(proof.stages.stageCount, expected);
      assert.deepEqual(
        proof.stages.failing.map((family) => family.condition),
        [],
      );
      assert.equal(proof.stages.stagesProven, expected);
      // The oracle agrees stage by stage.
      for (const stage of enumerateRolloutStages(stack.config, stack.cidrs)) {
        assert.deepEqual(stage.outages.map(describeOutage), [], stage.stage.name);
        assert.deepEqual(stage.policedExposures.map(describeExposure), [], stage.stage.name);
      }
    });

    it("(b) the full target allows exactly the intended probes: nothing beyond the flow table and DNS", () => {
      const { target, model } = proveRollout(stack.config, stack.cidrs);
      assert.deepEqual(target.outages.map(describeOutage), []);
      assert.deepEqual(target.exposures.map(describeExposure), []);
      const allowed = target.verdicts.filter((verdict) => verdict.allowed).length;
      assert.equal(allowed, model.probes.filter((probe) => probe.intendedBy.length > 0).length);
      assert.equal(allowed, 34, "34 intended probes per stack, see tests/analyzer/flash.model.test.ts");
    });

    it("(c) the current stage blocks no intended flow", () => {
      const { current } = proveRollout(stack.config, stack.cidrs, { currentManifests: stack.manifests });
      assert.deepEqual(current.outages.map(describeOutage), []);
      assert.deepEqual(current.exposures.filter(isPolicedExposure).map(describeExposure), []);
      // Mid-rollout exposure only where nothing isolates yet: prod leaves flash-api's egress and
      // the namespace default deny off, so flash-api may reach anything and the unlabelled pod is open.
      const open = (exposure: (typeof current.exposures)[number]) =>
        exposure.probe.from.name === "flash-ticket/flash-api" ||
        exposure.probe.from.name === "flash-ticket/unlabelled" ||
        exposure.probe.to.name === "flash-ticket/unlabelled";
      assert.deepEqual(current.exposures.filter((exposure) => !open(exposure)).map(describeExposure), []);
      if (stackName === "dev") assert.equal(current.exposures.length, 0);
      else {
        assert.ok(
          current.exposures.some((exposure) => exposure.probe.from.name === "flash-ticket/flash-api"),
        );
        assert.ok(current.exposures.some((exposure) => exposure.probe.to.name === "flash-ticket/unlabelled"));
      }
    });

    it("break-glass is outside the rollout: the stage proofs hold, the current stage shows the allow-all", () => {
      const emergency: StackConfig = { ...stack.config, breakGlass: true };
      const deployed = generatePolicies(emergency, stack.cidrs).map((generated) => generated.manifest);
      const proof = proveRollout(emergency, stack.cidrs, { currentManifests: deployed });
      assert.ok(proof.stages.failing.length === 0 && proof.stages.stagesProven === proof.stages.stageCount);
      assert.deepEqual(proof.target.exposures, []);
      assert.deepEqual(proof.current.outages, []);
      const admitting = new Set(
        proof.current.exposures.flatMap((exposure) => exposure.admittedBy.map((rule) => rule.policy)),
      );
      assert.ok(admitting.has("flash-ticket/break-glass-allow-all"));
    });

    it("a dropped gateway -> api port is an outage of flow flash-gateway -> flash-api", () => {
      const manifests = manifestsAt(stack, fullEnforcement(Object.keys(stack.config.services)));
      const toApi = policy(manifests, "flash-gateway-egress").spec.egress?.[0];
      assert.deepEqual(toApi?.to, [{ podSelector: { matchLabels: { app: "flash-api" } } }]);
      toApi.ports = [{ protocol: "TCP", port: 4001 }];
      const report = evaluate(stack, manifests);
      assert.deepEqual(outageFlows(report), ["flash-gateway -> flash-api"]);
      assert.match(describeOutage(report.outages[0]), /flash-ticket\/flash-gateway-egress/);
    });

    it("without flash-api's DNS rule, the stage before the default deny loses flow flash-api -> dns", () => {
      const manifests = manifestsAt(stack, ALL_SERVICES_NO_DEFAULT_DENY);
      const egress = policy(manifests, "flash-api-egress").spec;
      egress.egress = egress.egress?.filter((rule) => !rule.ports?.some((port) => port.port === 53));
      const report = evaluate(stack, manifests);
      assert.deepEqual(outageFlows(report), ["every pod -> dns", "flash-api -> dns"]);
      assert.ok(report.outages.every((outage) => outage.probe.from.name === "flash-ticket/flash-api"));
    });

    it("at full enforcement the namespace-wide allow-dns-egress still covers flash-api's missing DNS rule", () => {
      const manifests = manifestsAt(stack, fullEnforcement(Object.keys(stack.config.services)));
      const egress = policy(manifests, "flash-api-egress").spec;
      egress.egress = egress.egress?.filter((rule) => !rule.ports?.some((port) => port.port === 53));
      assert.deepEqual(evaluate(stack, manifests).outages.map(describeOutage), []);
    });

    it("without allow-dns-egress the unlabelled pod cannot resolve names: outage of every pod -> dns", () => {
      const manifests = manifestsAt(stack, fullEnforcement(Object.keys(stack.config.services))).filter(
        (manifest) => manifest.metadata.name !== "allow-dns-egress",
      );
      const report = evaluate(stack, manifests);
      assert.deepEqual(outageFlows(report), ["every pod -> dns"]);
      assert.deepEqual(
        [...new Set(report.outages.map((outage) => outage.probe.from.name))],
        ["flash-ticket/unlabelled"],
      );
    });

    it("a widened flash-pay ingress is an exposure admitted by flash-pay-ingress, and no outage", () => {
      const manifests = manifestsAt(stack, fullEnforcement(Object.keys(stack.config.services)));
      policy(manifests, "flash-pay-ingress").spec.ingress = [{}];
      const report = evaluate(stack, manifests);
      assert.deepEqual(report.outages, []);
      assert.ok(report.exposures.length > 0);
      for (const exposure of report.exposures) {
        assert.equal(exposure.probe.to.name, "flash-ticket/flash-pay");
        assert.deepEqual(
          exposure.admittedBy.map((rule) => `${rule.policy} ${rule.direction}[${rule.ruleIndex}]`),
          ["flash-ticket/flash-pay-ingress ingress[0]"],
        );
      }
      const sources = new Set(report.exposures.map((exposure) => exposure.probe.from.name));
      // Pods of the namespace stay egress-isolated; everything outside it now reaches the worker.
      assert.ok(sources.has("alb") && sources.has("internet") && sources.has("other-app/lookalike"));
      assert.ok(![...sources].some((source) => source.startsWith("flash-ticket/")));
    });

    it("a DNS peer matching kube-dns labels in any namespace exposes the look-alike in other-app", () => {
      const manifests = manifestsAt(stack, fullEnforcement(Object.keys(stack.config.services)));
      for (const rule of policy(manifests, "allow-dns-egress").spec.egress ?? []) {
        for (const peer of rule.to ?? []) if (peer.namespaceSelector) peer.namespaceSelector = {};
      }
      const report = evaluate(stack, manifests);
      assert.deepEqual(report.outages, []);
      const exposed = new Set(
        report.exposures.map((exposure) => `${exposure.probe.to.name} ${exposure.probe.port}`),
      );
      assert.deepEqual([...exposed].sort(), ["other-app/lookalike 53"]);
    });

    it("a pay egress to 0.0.0.0/0 without the excepts exposes the VPC and the metadata service on 443", () => {
      const manifests = manifestsAt(stack, fullEnforcement(Object.keys(stack.config.services)));
      for (const rule of policy(manifests, "flash-pay-egress").spec.egress ?? []) {
        for (const peer of rule.to ?? []) if (peer.ipBlock?.cidr === "0.0.0.0/0") delete peer.ipBlock.except;
      }
      const report = evaluate(stack, manifests);
      const exposed = new Set(report.exposures.map((exposure) => exposure.probe.to.name));
      for (const name of ["metadata-service", "vpc-other", "alb", "redis", "kube-system/kube-dns"]) {
        assert.ok(exposed.has(name), `${name} not reported as exposed`);
      }
      assert.ok(
        report.exposures.every(
          (exposure) => exposure.probe.from.name === "flash-ticket/flash-pay" && exposure.probe.port === 443,
        ),
      );
    });
  });
}
