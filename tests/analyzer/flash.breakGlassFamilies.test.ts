/**
 * The polynomial break-glass proof (analyzer/flash/breakGlassFamilies.ts) against the enumeration
 * oracle (every one of the 2^(2n) + 1 stages judged whole with the break-glass policy) on random
 * stacks with payment-api flows (so egress policies except ranges and break-glass must list them),
 * overlapping labels, both enforcers. A correct break-glass never fails, so agreement on it alone
 * proves little: the same fuzz runs faulty generators (breakGlassFaults.ts), where the proof must
 * find exactly the oracle's failing stages, and must catch wrong proofs that render the break-glass
 * policy from one fixed stage, or from the side's own flags only (blind to the other flags' excepts).
 */
import * as assert from "node:assert/strict";
import fc from "fast-check";
import {
  breakGlassFamilyHolds,
  enumerateBreakGlassStages,
  proveBreakGlass,
  type BreakGlassHooks,
  type EnforcerName,
  type PolicyGenerator,
} from "../../analyzer/flash";
import type { StackConfig } from "../../core/config";
import type { ResolvedCidrs } from "../../core/networkPolicies";
import { buildPlan } from "../../offline/planReport";
import {
  exceptsInsteadOfAllowAll,
  forgetsExcepts,
  forgetsPorts,
  ingressFromEgressExcepts,
} from "./breakGlassFaults";
import { configOf, stackArb } from "./randomStacks";

const ENFORCERS = ["upstream", "eks-vpc-cni"] as const;

interface Tally {
  failing: number;
  clean: number;
  /** Cases with a failing family that needs some flag outside a side's own flags enforced. */
  unionMatters: number;
}

/** Undefined when the proof and the oracle agree on every stage; otherwise the first disagreement. */
function disagreement(
  config: StackConfig,
  cidrs: ResolvedCidrs,
  enforcer: EnforcerName,
  hooks: BreakGlassHooks = {},
  tally?: Tally,
): string | undefined {
  const proof = proveBreakGlass(config, cidrs, { enforcer }, hooks);
  const stages = enumerateBreakGlassStages(config, cidrs, { enforcer }, hooks.generate);
  if (BigInt(stages.length) !== proof.stageCount)
    return `stage count ${proof.stageCount} vs ${stages.length} enumerated`;
  const failing = stages.filter(({ blocked }) => blocked.length > 0);
  if (tally !== undefined) {
    if (failing.length > 0) tally.failing++;
    else tally.clean++;
    if (proof.failing.some((family) => family.someOf.length > 0)) tally.unionMatters++;
  }
  for (const { stage, blocked } of stages) {
    const claimed = proof.failing.some((family) => breakGlassFamilyHolds(family, proof.flags, stage.rollout));
    if (claimed !== blocked.length > 0)
      return `${stage.name}: enumeration says ${blocked.length > 0 ? "blocked" : "open"}, families say ${claimed ? "blocked" : "open"}`;
  }
  const proven = BigInt(stages.length - failing.length);
  if (proven !== proof.stagesProven) return `stagesProven ${proof.stagesProven}, enumeration ${proven}`;
  return undefined;
}

const FAULTS: Record<string, PolicyGenerator> = { forgetsExcepts, forgetsPorts, exceptsInsteadOfAllowAll };

/** Wrong proofs: B rendered from a stage other than the judged one. */
const nothingEnforced: BreakGlassHooks["breakGlassFrom"] = () => [];
const everythingEnforced: BreakGlassHooks["breakGlassFrom"] = (_, __, flags) =>
  flags.map((_, index) => index);
const ownFlagsOnly: BreakGlassHooks["breakGlassFrom"] = (enforced, deciding) =>
  enforced.filter((flag) => deciding.includes(flag));

describe("flash break-glass families: the polynomial proof equals the enumeration", function () {
  let base: StackConfig;
  let cidrs: ResolvedCidrs;
  before(async () => {
    const { config, report } = await buildPlan({ stack: "dev" });
    base = config;
    cidrs = report.cidrs;
  });

  for (const enforcer of ENFORCERS) {
    it(`agrees stage by stage with the generator as it is: nothing fails (${enforcer})`, () => {
      const tally: Tally = { failing: 0, clean: 0, unionMatters: 0 };
      fc.assert(
        fc.property(stackArb, (random) => {
          assert.equal(disagreement(configOf(base, random), cidrs, enforcer, {}, tally), undefined);
        }),
        { numRuns: 15, seed: 20 },
      );
      assert.deepEqual(tally, { failing: 0, clean: 15, unionMatters: 0 });
    });

    for (const [name, generate] of Object.entries(FAULTS)) {
      it(`finds exactly the oracle's failing stages under a faulty break-glass: ${name} (${enforcer})`, function () {
        const tally: Tally = { failing: 0, clean: 0, unionMatters: 0 };
        fc.assert(
          fc.property(stackArb, (random) => {
            const config = configOf(base, random);
            assert.equal(disagreement(config, cidrs, enforcer, { generate }, tally), undefined);
          }),
          { numRuns: 12, seed: 20 },
        );
        // forgetsExcepts and forgetsPorts only matter where the agent turns excepts into denials.
        if (enforcer === "eks-vpc-cni" || name === "exceptsInsteadOfAllowAll")
          assert.ok(tally.failing >= 3, JSON.stringify(tally));
        if (name === "exceptsInsteadOfAllowAll") assert.ok(tally.unionMatters >= 1, JSON.stringify(tally));
      });
    }
  }

  const caught = (enforcer: EnforcerName, hooks: BreakGlassHooks) =>
    fc.check(
      fc.property(stackArb, (random) => {
        assert.equal(disagreement(configOf(base, random), cidrs, enforcer, hooks), undefined);
      }),
      { numRuns: 30, seed: 20 },
    ).failed;

  it("catches a wrong proof that renders break-glass from the nothing-enforced stage (EKS, the generator as it is)", () => {
    assert.ok(caught("eks-vpc-cni", { breakGlassFrom: nothingEnforced }));
  });

  for (const enforcer of ENFORCERS) {
    it(`catches a wrong proof that renders break-glass from full enforcement (${enforcer}, a faulty break-glass)`, () => {
      assert.ok(caught(enforcer, { generate: exceptsInsteadOfAllowAll, breakGlassFrom: everythingEnforced }));
    });
  }

  // Blind to u: the oracle fails where every pod's ingress is cut by other services' egress excepts.
  // Under the EKS agent this wrong proof is not observable with these faults: there every side of
  // the pod that excepts a range holds that pod's own egress flag, and that pod's side fails at the
  // same stages, so the failing stages coincide (the families above with `someOf` are still checked).
  it("catches a wrong proof blind to the excepts of flags outside a side's own (upstream, a faulty break-glass)", () => {
    assert.ok(caught("upstream", { generate: ingressFromEgressExcepts, breakGlassFrom: ownFlagsOnly }));
    // ...and the same fault is proven exactly by the right proof.
    fc.assert(
      fc.property(stackArb, (random) => {
        assert.equal(
          disagreement(configOf(base, random), cidrs, "upstream", { generate: ingressFromEgressExcepts }),
          undefined,
        );
      }),
      { numRuns: 10, seed: 20 },
    );
  });
});
