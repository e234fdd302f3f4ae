/**
 * `--candidate next` walks the documented stage plan (README "Staged rollout": every ingress, then
 * flash-pay egress, flash-gateway egress, flash-api egress, then defaultDeny), whatever order the
 * stack file lists the services in. The expected steps are read off the README's table by hand.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { RolloutConfig } from "../../core/config";
import { STAGED_EGRESS_ORDER } from "../../analyzer/flash/stages";
import { resolveCandidate } from "../../replay/candidate";

/** A rollout whose services are listed gateway, api, pay: the stack file's order, not the plan's. */
function rollout(
  egress: Partial<Record<"flash-gateway" | "flash-api" | "flash-pay", "off" | "enforce">>,
): RolloutConfig {
  const flags = (service: "flash-gateway" | "flash-api" | "flash-pay") => ({
    ingress: "enforce" as const,
    egress: egress[service] ?? ("off" as const),
  });
  return {
    defaultDeny: "off",
    services: {
      "flash-gateway": flags("flash-gateway"),
      "flash-api": flags("flash-api"),
      "flash-pay": flags("flash-pay"),
    },
  };
}

describe("replay: --candidate next follows the documented stage plan", () => {
  it("after stage 1 comes flash-pay's egress (stage 2), though the stack lists flash-gateway first", () => {
    const next = resolveCandidate("next", rollout({}));
    assert.ok(next.ok);
    assert.equal(next.description, "next stage: flash-pay egress");
    assert.deepEqual(next.rollout.services["flash-pay"], { ingress: "enforce", egress: "enforce" });
    assert.equal(next.rollout.services["flash-gateway"].egress, "off");
  });

  it("then flash-gateway's (stage 3), then flash-api's (stage 4), then defaultDeny (stage 5)", () => {
    const stage3 = resolveCandidate("next", rollout({ "flash-pay": "enforce" }));
    assert.ok(stage3.ok);
    assert.equal(stage3.description, "next stage: flash-gateway egress");
    const stage4 = resolveCandidate("next", rollout({ "flash-pay": "enforce", "flash-gateway": "enforce" }));
    assert.ok(stage4.ok);
    assert.equal(stage4.description, "next stage: flash-api egress");
    const stage5 = resolveCandidate(
      "next",
      rollout({ "flash-pay": "enforce", "flash-gateway": "enforce", "flash-api": "enforce" }),
    );
    assert.ok(stage5.ok);
    assert.equal(stage5.description, "next stage: defaultDeny");
    assert.equal(stage5.rollout.defaultDeny, "enforce");
  });

  it("the rollout page's stage table lists the egress stages in the order the replay walks", () => {
    const page = fs.readFileSync(path.join("docs", "rollout.md"), "utf8");
    const section = page.slice(page.indexOf("## Stages"));
    const listed = [...section.matchAll(/^\| \d+\s+\| `([a-z-]+)\.egress`/gm)].map((match) => match[1]);
    assert.deepEqual(listed, ["flash-pay", "flash-gateway", "flash-api"]);
    assert.deepEqual(STAGED_EGRESS_ORDER, listed);
  });
});
