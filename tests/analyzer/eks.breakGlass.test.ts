/**
 * Break-glass must lift every isolation at once on the enforcer that runs it. Under the EKS VPC CNI
 * agent model, the allow-all's 0.0.0.0/0 merges with flash-pay-egress's 0.0.0.0/0 and its except
 * ranges become deny-all entries; the policy must list them so every probe opens, at every stage.
 */
import * as assert from "node:assert/strict";
import { describeProbe, proveBreakGlass } from "../../analyzer/flash";
import { clusterServicesOf } from "../../offline/clusterServices";
import { buildPlan } from "../../offline/planReport";
import { listStacks } from "../../offline/stacks";

for (const stack of listStacks()) {
  describe(`break-glass under both enforcers: ${stack}`, function () {
    let proofs: Record<"upstream" | "eks-vpc-cni", ReturnType<typeof proveBreakGlass>>;

    before(async () => {
      const { report, config } = await buildPlan({ stack });
      const clusterServices = clusterServicesOf(stack);
      proofs = {
        upstream: proveBreakGlass(config, report.cidrs, { clusterServices, enforcer: "upstream" }),
        "eks-vpc-cni": proveBreakGlass(config, report.cidrs, { clusterServices, enforcer: "eks-vpc-cni" }),
      };
    });

    for (const enforcer of ["upstream", "eks-vpc-cni"] as const) {
      it(`${enforcer}: opens every probe of the flash model, both directions, at each of the 65 stages`, () => {
        const stages = proofs[enforcer];
        assert.equal(stages.length, 65);
        const failing = stages
          .filter((stage) => stage.blocked.length > 0)
          .map(
            (stage) =>
              `${stage.stage.name}: ${stage.blocked.length} blocked, e.g. ${stage.blocked.slice(0, 3).map(describeProbe).join(", ")}`,
          );
        assert.deepEqual(failing, []);
      });
    }
  });
}
