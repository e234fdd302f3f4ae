/**
 * The rollout proof at 43 services (issue 20): a stack written as data only (bench/scaleStack.ts:
 * the project's three services plus svc-01..svc-40, about 190 flows) plans green with the pack,
 * with the stage count 2^86 + 1 as a decimal string (beyond Number.MAX_SAFE_INTEGER); and the overlap
 * fault (svc-02 wears svc-01's labels plus one) is found at n = 43 exactly as at n = 5, for both
 * enforcers, as the condition under which it bites.
 *
 * Expected by hand: svc-01 -> svc-02 is a declared flow (each extra service calls the next one).
 * svc-01's ingress policy selects app=svc-01, which svc-02's pod also wears, and admits only
 * svc-01's own clients; allows are a union over the policies selecting a pod, so while svc-02's own
 * ingress is off, enforcing svc-01's ingress cuts svc-01 -> svc-02. Once svc-02's ingress is on, its
 * rule admits svc-01 again. Hence the family "defaultDeny off; enforced: svc-01 ingress; off: svc-02 ingress".
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { proveRollout } from "../../analyzer/flash";
import { writeScaleStack } from "../../bench/scaleStack";
import { buildPlan } from "../../offline/planReport";
import { runCli } from "../support/runCli";

const FAULT_FAMILY = "defaultDeny off; enforced: svc-01 ingress; off: svc-02 ingress";
/** 2^86 + 1: 43 services, two flags each, defaultDeny off; plus full enforcement. */
const STAGES_43 = "77371252455336267181195265";

describe("flash proofs at scale: the overlap fault at n = 5 and n = 43", function () {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "flash-scale-"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const count of [5, 43]) {
    it(`n = ${count}: both enforcers name the family where svc-01's ingress cuts svc-02's flow`, async () => {
      const stackDir = fs.mkdtempSync(path.join(dir, `fault-${count}-`));
      const { stackFile } = writeScaleStack(stackDir, count, { overlapFault: true });
      const { config, report } = await buildPlan({ stack: "dev", stackFile });
      assert.equal(Object.keys(config.services).length, count);
      for (const enforcer of ["upstream", "eks-vpc-cni"] as const) {
        const proof = proveRollout(config, report.cidrs, { enforcer });
        const conditions = proof.stages.failing.map((family) => family.condition);
        assert.ok(conditions.includes(FAULT_FAMILY), `${enforcer}: ${conditions.join(" | ")}`);
        assert.equal(proof.stages.stageCount, 2n ** BigInt(2 * count) + 1n);
        // A quarter of the defaultDeny-off stages at least (svc-01 ingress on, svc-02 ingress off).
        assert.ok(proof.stages.stagesProven <= proof.stages.stageCount - 2n ** BigInt(2 * count - 2));
      }
    });
  }

  it("n = 43 without the fault: every stage proven, for both enforcers", async () => {
    const stackDir = fs.mkdtempSync(path.join(dir, "clean-"));
    const { stackFile } = writeScaleStack(stackDir, 43);
    const { config, report } = await buildPlan({ stack: "dev", stackFile });
    for (const enforcer of ["upstream", "eks-vpc-cni"] as const) {
      const proof = proveRollout(config, report.cidrs, { enforcer });
      assert.deepEqual(
        proof.stages.failing.map((family) => family.condition),
        [],
      );
      assert.equal(proof.stages.stagesProven.toString(), STAGES_43);
    }
  });
});

describe("plan contract at 43 services @process", function () {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "flash-scale-plan-"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("plans green with the pack: stages as a decimal string, all proven, no failing family, no outage", async () => {
    const { stackFile, packConfig } = writeScaleStack(dir, 43);
    const { code, stdout, stderr } = await runCli(
      "cli/plan.ts",
      ...["--stack", "dev", "--config-file", stackFile, "--fixture", "fixtures/aws/dev.json"],
      ...["--k8s-fixture", "fixtures/k8s/dev.json", "--policy-pack-config", packConfig, "--format", "json"],
    );
    assert.equal(code, 0, stderr);
    type Summary = {
      stages: number | string;
      stagesProven: number | string;
      failingStages: string[];
      outages: string[];
      targetOutages: number;
    };
    const json = JSON.parse(stdout) as {
      connectivity: Summary & { byEnforcer: Record<string, Summary> };
      policyViolations: { policy: string; level: string }[];
    };
    const summaries = [json.connectivity, ...Object.values(json.connectivity.byEnforcer)];
    assert.deepEqual(Object.keys(json.connectivity.byEnforcer).sort(), ["eks-vpc-cni", "upstream"]);
    for (const summary of summaries) {
      assert.equal(summary.stages, STAGES_43);
      assert.equal(summary.stagesProven, STAGES_43);
      assert.deepEqual(summary.failingStages, []);
      assert.deepEqual(summary.outages, []);
      assert.equal(summary.targetOutages, 0);
    }
    const mandatory = json.policyViolations.filter((verdict) => verdict.level === "mandatory");
    assert.deepEqual(mandatory, []);
  });
});
