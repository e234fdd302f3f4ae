/**
 * ConnectivityEvaluator keeps whole reports by policy set, so a plan whose current stage is its
 * target judges it once. The key is each policy's content, in order: a policy of the same name with
 * other content is another set, and the same set asked again answers as before.
 */
import * as assert from "node:assert/strict";
import { ConnectivityEvaluator, flashModelFor, fullEnforcement } from "../../analyzer/flash";
import { manifestsAt } from "../../analyzer/flash/proofs";
import type { NetworkPolicyManifest } from "../../core/networkPolicies";
import { buildPlan } from "../../offline/planReport";

describe("flash evaluator: one report per policy set", () => {
  it("same names, other content: judged anew; the same set again: the same verdicts", async () => {
    const { config, report } = await buildPlan({ stack: "dev" });
    const evaluator = new ConnectivityEvaluator(flashModelFor(config, report.cidrs));
    const full = () => manifestsAt(config, report.cidrs, fullEnforcement(Object.keys(config.services)));
    const first = evaluator.evaluate(full());
    assert.deepEqual(first.outages, []);
    // flash-api's ingress admitting nothing, same name: the gateway's flow to the API is cut.
    const cut: NetworkPolicyManifest[] = full();
    const api = cut.find((policy) => policy.metadata.name === "flash-api-ingress");
    assert.ok(api);
    api.spec.ingress = [];
    const blocked = evaluator.evaluate(cut);
    assert.ok(
      blocked.outages.some(
        (outage) =>
          outage.probe.from.name === "flash-ticket/flash-gateway" &&
          outage.probe.to.name === "flash-ticket/flash-api",
      ),
      "the edited policy was answered from the unedited set's report",
    );
    const again = evaluator.evaluate(full());
    assert.deepEqual(
      again.verdicts.map((verdict) => verdict.allowed),
      first.verdicts.map((verdict) => verdict.allowed),
    );
    assert.deepEqual(again.outages, []);
  });
});
