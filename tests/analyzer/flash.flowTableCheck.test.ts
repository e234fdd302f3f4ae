/**
 * checkFlowsAgainstTable, the logic of the stack rule flows-match-flow-table, fed exactly what a
 * stack policy sees: the NetworkPolicy resources' properties and the component's registered outputs.
 */
import * as assert from "node:assert/strict";
import { checkFlowsAgainstTable, type FlowTableViolation } from "../../analyzer/flash";
import type { NetworkPolicyManifest } from "../../core/networkPolicies";
import { networkPolicies, runStack, type ProgramRun } from "../../offline/runProgram";
import { listStacks } from "../../offline/stacks";
import { COMPONENT_TYPE } from "../../core/resourceTypes";

interface StackState {
  policies: NetworkPolicyManifest[];
  outputs: Record<string, unknown>;
}

function stateOf(run: ProgramRun): StackState {
  assert.equal(run.error, undefined, run.error?.message);
  const outputs = run.resources.find((resource) => resource.type === COMPONENT_TYPE)?.outputs;
  assert.ok(outputs, "the component registered no outputs");
  return { policies: networkPolicies(run).map((resource) => structuredClone(resource.inputs)), outputs };
}

function named(policies: NetworkPolicyManifest[], name: string): NetworkPolicyManifest {
  const found = policies.find((policy) => policy.metadata.name === name);
  assert.ok(found, `no policy ${name}`);
  return found;
}

const kinds = (violations: FlowTableViolation[]) => violations.map((violation) => violation.kind);

describe("checkFlowsAgainstTable (flows-match-flow-table)", () => {
  const states: Record<string, StackState> = {};
  before(async () => {
    states.dev = stateOf(await runStack({ stack: "dev" }));
    states.prod = stateOf(await runStack({ stack: "prod" }));
  });
  const fresh = (stack: string): StackState => structuredClone(states[stack]);

  it("dev (fully enforced) and prod (mid-rollout) match the flow table", () => {
    assert.deepEqual(checkFlowsAgainstTable(states.dev.policies, states.dev.outputs), []);
    // prod leaves flash-api's egress open: that is no violation, only isolated pods are judged.
    assert.deepEqual(checkFlowsAgainstTable(states.prod.policies, states.prod.outputs), []);
  });

  it("without the component's outputs, reports one problem: the model is unavailable", () => {
    for (const outputs of [undefined, {}]) {
      const violations = checkFlowsAgainstTable(states.dev.policies, outputs);
      assert.deepEqual(kinds(violations), ["model-unavailable"]);
      assert.match(violations[0].message, /model is unavailable/);
    }
  });

  it("outputs that do not describe the model (no flow table, an unknown endpoint) are unavailable too", () => {
    const withoutTable = fresh("dev").outputs;
    delete withoutTable.flowTable;
    assert.deepEqual(kinds(checkFlowsAgainstTable(states.dev.policies, withoutTable)), ["model-unavailable"]);
    const renamed = fresh("dev").outputs;
    (renamed.flowTable as { to: string }[])[0].to = "flash-web";
    const violations = checkFlowsAgainstTable(states.dev.policies, renamed);
    assert.deepEqual(kinds(violations), ["model-unavailable"]);
    assert.match(violations[0].message, /flash-web/);
  });

  it("prod: a dropped gateway -> api port is an outage naming the flow and the isolating policy", () => {
    const { policies, outputs } = fresh("prod");
    const toApi = named(policies, "flash-gateway-egress").spec.egress?.[0];
    assert.ok(toApi);
    toApi.ports = [{ protocol: "TCP", port: 4001 }];
    const violations = checkFlowsAgainstTable(policies, outputs);
    // The rule now admits 4001, which flash-api's ingress blocks today: an over-wide egress rule too.
    assert.deepEqual(kinds(violations), ["outage", "exposure"]);
    assert.deepEqual(violations[1].policies, ["flash-ticket/flash-gateway-egress"]);
    assert.match(violations[1].message, /over-wide rule .* flash-ticket\/flash-api 4001\/TCP/);
    assert.deepEqual(violations[0].flows, ["flash-gateway -> flash-api"]);
    assert.deepEqual(violations[0].policies, ["flash-ticket/flash-gateway-egress"]);
    assert.match(violations[0].message, /defaultDeny off/);
  });

  it("prod: flash-pay without its DNS rule is an outage of flash-pay -> dns (no default deny covers it yet)", () => {
    const { policies, outputs } = fresh("prod");
    const pay = named(policies, "flash-pay-egress").spec;
    pay.egress = pay.egress?.filter((rule) => !rule.ports?.some((port) => port.port === 53));
    const violations = checkFlowsAgainstTable(policies, outputs);
    assert.deepEqual(kinds(violations), ["outage"]);
    assert.deepEqual(violations[0].flows, ["flash-pay -> dns", "every pod -> dns"]);
  });

  it("dev: without allow-dns-egress the unlabelled pod loses DNS: outage of every pod -> dns", () => {
    const { policies, outputs } = fresh("dev");
    const violations = checkFlowsAgainstTable(
      policies.filter((policy) => policy.metadata.name !== "allow-dns-egress"),
      outputs,
    );
    assert.deepEqual(kinds(violations), ["outage"]);
    assert.deepEqual(violations[0].flows, ["every pod -> dns"]);
    assert.match(violations[0].message, /flash-ticket\/unlabelled/);
  });

  for (const stack of listStacks()) {
    it(`${stack}: a widened flash-pay ingress is one exposure, attached to flash-pay-ingress`, () => {
      const { policies, outputs } = fresh(stack);
      named(policies, "flash-pay-ingress").spec.ingress = [{}];
      const violations = checkFlowsAgainstTable(policies, outputs);
      // Open connections, and (where the source's egress blocks them today) the rule's own over-width.
      assert.ok(violations.length > 0);
      for (const found of violations) {
        assert.equal(found.kind, "exposure");
        assert.deepEqual(found.policies, ["flash-ticket/flash-pay-ingress"]);
      }
      assert.match(
        violations[0].message,
        /flash-ticket\/flash-pay-ingress ingress\[0\] admits \d+ connection/,
      );
      assert.match(violations[0].message, /-> flash-ticket\/flash-pay/);
    });
  }

  it("prod: an extra allow-all policy for flash-api egress is an exposure (the pod is now isolated)", () => {
    const { policies, outputs } = fresh("prod");
    const allowAll: NetworkPolicyManifest = {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "api-anything", namespace: "flash-ticket", labels: {} },
      spec: { podSelector: { matchLabels: { app: "flash-api" } }, policyTypes: ["Egress"], egress: [{}] },
    };
    const violations = checkFlowsAgainstTable([...policies, allowAll], outputs);
    assert.ok(violations.length > 0);
    for (const found of violations) {
      assert.equal(found.kind, "exposure");
      assert.deepEqual(found.policies, ["flash-ticket/api-anything"]);
    }
  });

  it("an active break-glass shows as exposures attributed to break-glass-allow-all alone", async () => {
    const { policies, outputs } = stateOf(
      await runStack({ stack: "dev", configOverrides: { "flash-netpol:breakGlass": true } }),
    );
    assert.ok(policies.some((policy) => policy.metadata.name === "break-glass-allow-all"));
    const violations = checkFlowsAgainstTable(policies, outputs);
    assert.ok(violations.length > 0);
    assert.deepEqual([...new Set(kinds(violations))], ["exposure"]);
    for (const violation of violations) {
      assert.deepEqual(violation.policies, ["flash-ticket/break-glass-allow-all"]);
    }
  });

  it("a policy the analyzer cannot read is reported, and the rest is still judged", () => {
    const { policies, outputs } = fresh("dev");
    const broken = { metadata: { name: "half-written", namespace: "flash-ticket" }, spec: { ingress: "x" } };
    const violations = checkFlowsAgainstTable([...policies, broken], outputs);
    assert.deepEqual(kinds(violations), ["unreadable-policy"]);
    assert.deepEqual(violations[0].policies, ["flash-ticket/half-written"]);
  });
});
