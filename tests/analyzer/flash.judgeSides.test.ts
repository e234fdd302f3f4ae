/**
 * The Judge's side contract (analyzer/flash/enforcers.ts) that the rollout proof judges sides apart
 * by: for every probe of the dev and prod models, under the current stage, full enforcement and
 * break-glass, both enforcers, `side(probe, direction)` is what `explain` says of that side
 * (denied; allowed by a rule = admitted; anything else allowed = open) and `isAllowed` holds exactly
 * when neither side is denied. `explain` walks each isolating policy's rules itself; `side` is the
 * cheap path, so this is the check that the two never drift.
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { ENFORCERS, flashModelFor, fullEnforcement, judgeFor, type SideOutcome } from "../../analyzer/flash";
import type { DirectionVerdict } from "../../analyzer";
import { manifestsAt } from "../../analyzer/flash/proofs";
import { generatePolicies } from "../../core/networkPolicies";
import { clusterServicesOf } from "../../offline/clusterServices";
import { readEksClusterState } from "../../offline/eksClusterState";
import { buildPlan } from "../../offline/planReport";
import { PROJECT_ROOT } from "../../offline/stackConfig";

function outcomeOf(verdict: DirectionVerdict): SideOutcome {
  if (verdict.kind === "denied") return "denied";
  return verdict.kind === "allowed" && verdict.allowedBy.length > 0 ? "admitted" : "open";
}

describe("flash judges: each side alone, as explain describes it", function () {
  this.timeout(120_000);
  for (const stack of ["dev", "prod"]) {
    it(`${stack}: side() agrees with explain() and isAllowed() on every probe, both enforcers`, async () => {
      const { config, report } = await buildPlan({ stack });
      const model = flashModelFor(config, report.cidrs, { clusterServices: clusterServicesOf(stack) });
      const eks = readEksClusterState(
        stack,
        undefined,
        path.join(PROJECT_ROOT, "fixtures", "aws", `${stack}.json`),
      );
      const policySets = {
        current: report.manifests,
        full: manifestsAt(config, report.cidrs, fullEnforcement(Object.keys(config.services))),
        breakGlass: generatePolicies({ ...config, breakGlass: true }, report.cidrs).map((p) => p.manifest),
      };
      const seen = new Set<SideOutcome>();
      for (const enforcer of ENFORCERS) {
        for (const [name, policies] of Object.entries(policySets)) {
          const judge = judgeFor(model, policies, {
            enforcer,
            mode: config.networkPolicyEnforcingMode,
            ...(enforcer === "eks-vpc-cni" ? { eks: eks.state } : {}),
          });
          for (const probe of model.probes) {
            const explanation = judge.explain(probe);
            const egress = judge.side(probe, "egress");
            const ingress = judge.side(probe, "ingress");
            const where = `${enforcer} ${name}: ${probe.from.name} -> ${probe.to.name} ${probe.port}/${probe.protocol}`;
            assert.equal(egress, outcomeOf(explanation.egress), `${where} egress`);
            assert.equal(ingress, outcomeOf(explanation.ingress), `${where} ingress`);
            assert.equal(judge.isAllowed(probe), egress !== "denied" && ingress !== "denied", where);
            seen.add(egress).add(ingress);
          }
        }
      }
      // The comparison means something only if every outcome occurs.
      assert.deepEqual([...seen].sort(), ["admitted", "denied", "open"]);
    });
  }
});
