/**
 * The polynomial rollout proof (analyzer/flash/rolloutFamilies.ts) against the enumeration oracle
 * (every one of the 2^(2n) + 1 stages judged whole) on random stacks: random flow tables, services
 * wearing another service's labels plus one more (overlapping selectors), both enforcers. Agreement
 * is stage by stage: a stage fails in the oracle exactly when some failing family holds for it.
 * Deliberately wrong proofs must be caught by the same fuzz: deciding flags taken from the pod's own
 * service only (blind to overlapping selectors), and each side judged under the other direction's
 * flags (the proof judges the source's egress and the destination's ingress apart).
 */
import * as assert from "node:assert/strict";
import fc from "fast-check";
import {
  enumerateRolloutStages,
  failingEnumeratedStages,
  familyHolds,
  flashModelFor,
  proveRolloutFamilies,
  type EnforcerName,
  type FamilyProof,
  type NamedEndpoint,
  type RolloutFlagRef,
} from "../../analyzer/flash";
import type { Direction } from "../../core/kubernetes";
import type { StackConfig } from "../../core/config";
import type { ResolvedCidrs } from "../../core/networkPolicies";
import { countUnion, mergeCubes } from "../../analyzer/flash/stageFamilies";
import { buildPlan } from "../../offline/planReport";
import { configOf, stackArb, type RandomStack } from "./randomStacks";

type Override = (endpoint: NamedEndpoint, direction: Direction, flags: readonly RolloutFlagRef[]) => number[];

function familiesOf(
  config: StackConfig,
  cidrs: ResolvedCidrs,
  enforcer: EnforcerName,
  override?: Override,
): FamilyProof {
  const model = flashModelFor(config, cidrs);
  return proveRolloutFamilies(config, cidrs, model, { enforcer }, override);
}

/** Undefined when the two proofs agree on every stage; otherwise the first stage they disagree on. */
/** Cases whose oracle found failing stages: the fuzz must meet both kinds, or it proves little. */
let casesWithFailures = 0;
let casesClean = 0;

function disagreement(
  config: StackConfig,
  cidrs: ResolvedCidrs,
  enforcer: EnforcerName,
  override?: Override,
): string | undefined {
  const families = familiesOf(config, cidrs, enforcer, override);
  const stages = enumerateRolloutStages(config, cidrs, { enforcer });
  if (BigInt(stages.length) !== families.stageCount)
    return `stage count ${families.stageCount} vs ${stages.length} enumerated`;
  const failing = new Set(failingEnumeratedStages(stages));
  if (failing.size > 0) casesWithFailures++;
  else casesClean++;
  for (const stage of stages) {
    const oracle = failing.has(stage);
    const claimed = families.failing.some((family) =>
      familyHolds(family, families.flags, stage.stage.rollout),
    );
    if (oracle !== claimed)
      return `${stage.stage.name}: enumeration says ${oracle ? "fails" : "holds"}, families say ${claimed ? "fails" : "holds"}`;
  }
  const proven = BigInt(stages.length - failing.size);
  if (proven !== families.stagesProven) return `stagesProven ${families.stagesProven}, enumeration ${proven}`;
  return undefined;
}

/** The flags of the endpoint's own service in one direction ("svc-a egress" for flash-ticket/svc-a). */
const ownFlags = (endpoint: NamedEndpoint, direction: Direction, flags: readonly RolloutFlagRef[]) =>
  flags.flatMap((flag, index) =>
    endpoint.name.endsWith(`/${flag.service}`) && flag.direction === direction ? [index] : [],
  );

/** The wrong rule: a pod is decided by its own service's flags only (blind to overlapping selectors). */
const ownServiceOnly: Override = (endpoint, direction, flags) => ownFlags(endpoint, direction, flags);

/**
 * The wrong side: each side judged under the flags of the other direction (the source's egress under
 * its ingress flag). The proof judges sides apart, so it must take each side's flags from that side.
 */
const otherDirection: Override = (endpoint, direction, flags) =>
  ownFlags(endpoint, direction === "egress" ? "ingress" : "egress", flags);

describe("flash rollout families: the polynomial proof equals the enumeration", function () {
  let base: StackConfig;
  let cidrs: ResolvedCidrs;
  before(async () => {
    const { config, report } = await buildPlan({ stack: "dev" });
    base = config;
    cidrs = report.cidrs;
  });

  for (const enforcer of ["upstream", "eks-vpc-cni"] as const) {
    it(`agrees stage by stage on random stacks with overlapping labels (${enforcer})`, () => {
      casesWithFailures = 0;
      casesClean = 0;
      fc.assert(
        fc.property(stackArb, (random) => {
          const found = disagreement(configOf(base, random), cidrs, enforcer);
          assert.equal(found, undefined, JSON.stringify(random.services));
        }),
        { numRuns: 30, seed: 20 },
      );
      assert.ok(
        casesWithFailures >= 3 && casesClean >= 3,
        `${casesWithFailures} failing, ${casesClean} clean`,
      );
    });
  }

  it("a hand-built overlap fault: svc-b wears svc-a's labels plus one; enforcing svc-a's ingress cuts the ALB's flow to svc-b", () => {
    // Expected by hand: svc-a's ingress policy selects app=svc-a, which svc-b's pod also wears; it
    // admits only the ALB on 8080, so the ALB's flow to svc-b on 9000 is cut whenever svc-a ingress
    // is enforced, unless... nothing else admits it (allows are a union over selecting policies, and
    // svc-b's own ingress admits the ALB on 9000). So the family is "svc-a ingress enforced, svc-b ingress off".
    const random: RandomStack = {
      services: {
        "svc-a": { podLabels: { app: "svc-a" }, port: 8080 },
        "svc-b": { podLabels: { app: "svc-a", role: "svc-b" }, port: 9000 },
      },
      flows: [
        { from: { kind: "alb" }, to: { kind: "service", service: "svc-a" }, purpose: "a" },
        { from: { kind: "alb" }, to: { kind: "service", service: "svc-b" }, purpose: "b" },
      ],
    };
    const config = configOf(base, random);
    for (const enforcer of ["upstream", "eks-vpc-cni"] as const) {
      const families = familiesOf(config, cidrs, enforcer);
      const conditions = families.failing.map((family) => family.condition);
      assert.ok(
        conditions.includes("defaultDeny off; enforced: svc-a ingress; off: svc-b ingress"),
        `${enforcer}: ${conditions.join(" | ")}`,
      );
      assert.equal(disagreement(config, cidrs, enforcer), undefined);
      // The wrong proof never enforces svc-a ingress for a probe into svc-b: it misses the family.
      assert.notEqual(disagreement(config, cidrs, enforcer, ownServiceOnly), undefined);
    }
  });

  it("the fuzz catches a wrong proof that ignores overlapping selectors", () => {
    const result = fc.check(
      fc.property(stackArb, (random) => {
        assert.equal(disagreement(configOf(base, random), cidrs, "upstream", ownServiceOnly), undefined);
      }),
      { numRuns: 40, seed: 20 },
    );
    assert.ok(result.failed, "the fuzz accepted a proof blind to overlapping selectors");
  });

  for (const enforcer of ["upstream", "eks-vpc-cni"] as const) {
    it(`the fuzz catches a wrong proof that judges a side under the other direction's flags (${enforcer})`, () => {
      const result = fc.check(
        fc.property(stackArb, (random) => {
          assert.equal(disagreement(configOf(base, random), cidrs, enforcer, otherDirection), undefined);
        }),
        { numRuns: 40, seed: 20 },
      );
      assert.ok(result.failed, "the fuzz accepted a proof that mixes up the sides' flags");
    });
  }
});

describe("flash rollout families: counting stage families without listing them", () => {
  const cube = (entries: [number, boolean][]) => new Map(entries);
  it("counts a union by hand: over 3 flags, 'flag 0 on' and 'flag 1 on' cover 4 + 4 - 2 = 6 stages", () => {
    assert.equal(countUnion([cube([[0, true]]), cube([[1, true]])], 3), 6n);
    assert.equal(countUnion([cube([[0, true]]), cube([[0, false]])], 3), 8n);
    assert.equal(
      countUnion(
        [
          cube([[0, true]]),
          cube([
            [0, true],
            [2, false],
          ]),
        ],
        3,
      ),
      4n,
    );
    assert.equal(countUnion([], 86), 0n);
    assert.equal(
      countUnion(
        [
          cube([
            [5, true],
            [9, false],
          ]),
        ],
        86,
      ),
      2n ** 84n,
    );
  });

  it("merges families that differ in one flag, and drops one inside another", () => {
    const merged = mergeCubes([
      cube([
        [0, true],
        [1, true],
      ]),
      cube([
        [0, true],
        [1, false],
      ]),
      cube([
        [0, true],
        [2, false],
      ]),
    ]);
    assert.deepEqual(
      merged.map((family) => [...family.entries()]),
      [[[0, true]]],
    );
  });
});
