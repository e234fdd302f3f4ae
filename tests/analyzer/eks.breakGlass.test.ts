/**
 * Break-glass must lift every isolation at once on the enforcer that runs it. Under the EKS VPC CNI
 * agent model, the allow-all's 0.0.0.0/0 merges with flash-pay-egress's 0.0.0.0/0 and its except
 * ranges become deny-all entries; the policy must list them so every probe opens, at every stage.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { breakGlassFamilyHolds, enumerateBreakGlassStages, proveBreakGlass } from "../../analyzer/flash";
import { clusterServicesOf } from "../../offline/clusterServices";
import { buildPlan } from "../../offline/planReport";
import { listStacks } from "../../offline/stacks";
import { writeScaleStack } from "../../bench/scaleStack";
import { forgetsExcepts } from "./breakGlassFaults";

const ENFORCERS = ["upstream", "eks-vpc-cni"] as const;

for (const stack of listStacks()) {
  describe(`break-glass under both enforcers: ${stack}`, function () {
    let plan: Awaited<ReturnType<typeof buildPlan>>;
    let clusterServices: ReturnType<typeof clusterServicesOf>;

    before(async () => {
      plan = await buildPlan({ stack });
      clusterServices = clusterServicesOf(stack);
    });

    for (const enforcer of ENFORCERS) {
      it(`${enforcer}: opens every probe of the flash model, both directions, at each of the 65 stages`, () => {
        const proof = proveBreakGlass(plan.config, plan.report.cidrs, { clusterServices, enforcer });
        // Three services: 2^6 flag combinations with defaultDeny off, plus full enforcement.
        assert.equal(proof.stageCount, 65n);
        assert.deepEqual(
          proof.failing.map((family) => `${family.condition}: ${family.example}`),
          [],
        );
        assert.equal(proof.stagesProven, 65n);
      });
    }

    it("a break-glass that forgets the excepted ranges fails exactly where flash-pay's egress is enforced, on EKS only", () => {
      // By hand: only flash-pay has a payment-api flow, so only flash-pay-egress excepts ranges
      // (0.0.0.0/0 except the VPC, RFC1918, 100.64/10 and the metadata address). Upstream, allows are
      // a union and the allow-all admits everything: nothing fails. Under the agent, those excepts
      // become deny-all entries in flash-pay's egress map whenever flash-pay-egress selects it, and
      // without B listing them, flash-pay's egress into the VPC on other ports stays blocked: every
      // stage with flash-pay egress enforced fails (2^5 with defaultDeny off, plus full enforcement).
      const options = { clusterServices };
      const upstream = proveBreakGlass(plan.config, plan.report.cidrs, options, { generate: forgetsExcepts });
      assert.deepEqual(upstream.failing, []);
      const eks = proveBreakGlass(
        plan.config,
        plan.report.cidrs,
        { ...options, enforcer: "eks-vpc-cni" },
        { generate: forgetsExcepts },
      );
      assert.deepEqual(
        eks.failing.map((family) => family.condition),
        [
          "defaultDeny off; enforced: flash-pay egress; off: none",
          "defaultDeny enforce; enforced: flash-gateway ingress, flash-gateway egress, flash-api ingress, flash-api egress, flash-pay ingress, flash-pay egress; off: none",
        ],
      );
      assert.equal(eks.stagesProven, 65n - 33n);
      // The enumeration (the oracle) agrees stage by stage.
      const stages = enumerateBreakGlassStages(
        plan.config,
        plan.report.cidrs,
        { ...options, enforcer: "eks-vpc-cni" },
        forgetsExcepts,
      );
      for (const { stage, blocked } of stages)
        assert.equal(
          eks.failing.some((family) => breakGlassFamilyHolds(family, eks.flags, stage.rollout)),
          blocked.length > 0,
          stage.name,
        );
    });
  });
}

describe("break-glass at 43 services, without enumerating 2^86 + 1 stages", function () {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "flash-breakglass-"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("opens everything at every stage, and a break-glass forgetting the excepts fails exactly where a payment caller's egress is enforced (EKS)", async () => {
    const { stackFile } = writeScaleStack(dir, 43);
    const { config, report } = await buildPlan({ stack: "dev", stackFile });
    const all = 2n ** 86n + 1n;
    for (const enforcer of ENFORCERS) {
      const proof = proveBreakGlass(config, report.cidrs, { enforcer });
      assert.equal(proof.stageCount, all);
      assert.deepEqual(proof.failing, []);
      assert.equal(proof.stagesProven, all);
    }
    // By hand (bench/scaleStack.ts): the payment-api callers are flash-pay and every fifth extra
    // service, svc-05 .. svc-40; each one's egress excepts the same ranges. On EKS, forgetting them
    // in break-glass blocks that caller's egress into the VPC whenever its egress is enforced, so
    // the failing stages are those with at least one of these 9 flags enforced (2^86 - 2^77), plus
    // full enforcement: 2^77 stages stay proven.
    const callers = [
      "flash-pay",
      ...[5, 10, 15, 20, 25, 30, 35, 40].map((n) => `svc-${String(n).padStart(2, "0")}`),
    ];
    const eks = proveBreakGlass(
      config,
      report.cidrs,
      { enforcer: "eks-vpc-cni" },
      { generate: forgetsExcepts },
    );
    assert.deepEqual(
      eks.failing
        .filter((family) => !family.fullEnforcement)
        .map((family) => family.condition)
        .sort(),
      callers.map((caller) => `defaultDeny off; enforced: ${caller} egress; off: none`).sort(),
    );
    assert.ok(eks.failing.some((family) => family.fullEnforcement));
    assert.equal(eks.stagesProven, 2n ** 77n);
  });
});
