/**
 * Mutation tests: every operator mistake of the catalog, applied to the dev policy set the program
 * registers (the target state), must produce a NEW verdict from the named rule at the named level,
 * under prod's pack config, through the pack process and gRPC exactly as `pulumi preview` runs it.
 */
import { strict as assert } from "assert";
import {
  PolicyHarness,
  mandatoryVerdicts,
  stackPackConfigPath,
  type PolicyVerdict,
} from "../../offline/policyHarness";
import type { AnalyzedResource } from "../../offline/analyzerWire";
import { fromRegisteredResources } from "../../offline/policyResources";
import { runStack } from "../../offline/runProgram";
import {
  MUTATIONS,
  PROD_EXEMPTION_ACTIVE,
  PROD_EXEMPTION_UNTIL,
  prodEnforcementForDevSet,
} from "../fixtures/policies/mutationCatalog";

const key = (verdict: PolicyVerdict) =>
  `${verdict.policy}|${verdict.level}|${verdict.resource}|${verdict.message}`;

async function stackResources(stack: "dev" | "prod"): Promise<AnalyzedResource[]> {
  const run = await runStack({ stack });
  if (run.error !== undefined) throw run.error;
  return fromRegisteredResources(run.resources);
}

describe("policy pack: unmutated stacks through the gRPC harness @process", function () {
  let harness: PolicyHarness;
  let dev: AnalyzedResource[];
  let prod: AnalyzedResource[];

  before(async () => {
    [dev, prod] = [await stackResources("dev"), await stackResources("prod")];
    harness = await PolicyHarness.start({ stack: "prod" });
  });
  after(async () => harness?.close());

  it("dev under dev's pack config: no mandatory verdict", async () => {
    await harness.configure(stackPackConfigPath("dev"));
    assert.deepEqual(mandatoryVerdicts(await harness.preview(dev)), []);
  });

  it("dev (the target state) under prod's enforcement: no mandatory verdict", async () => {
    await harness.configure(prodEnforcementForDevSet());
    assert.deepEqual(mandatoryVerdicts(await harness.preview(dev)), []);
  });

  it("prod with the program's break-glass switch on (flash-netpol:breakGlass): reported as advisory, never mandatory", async () => {
    await harness.configure(stackPackConfigPath("prod"));
    const run = await runStack({ stack: "prod", configOverrides: { "flash-netpol:breakGlass": "true" } });
    if (run.error !== undefined) throw run.error;
    const verdicts = await harness.preview(fromRegisteredResources(run.resources));
    const breakGlass = verdicts.filter((verdict) => verdict.policy === "break-glass-active");
    assert.deepEqual(
      breakGlass.map((verdict) => [verdict.level, verdict.resource]),
      [["advisory", "NetworkPolicy flash-ticket/break-glass-allow-all"]],
    );
    assert.deepEqual(
      mandatoryVerdicts(verdicts).filter((verdict) => verdict.policy !== "namespace-default-deny"),
      [],
    );
  });

  // Until the rollout exemption in policies/config/prod.json expires, prod mid-rollout passes with an
  // advisory; afterwards the missing default deny is mandatory, which is the point of the deadline.
  it(`prod mid-rollout under prod's pack config: the missing default deny is ${PROD_EXEMPTION_ACTIVE ? "advisory (exempt)" : "mandatory (exemption expired)"} until ${PROD_EXEMPTION_UNTIL}`, async () => {
    await harness.configure(stackPackConfigPath("prod"));
    const verdicts = await harness.preview(prod);
    const deny = verdicts.filter((verdict) => verdict.policy === "namespace-default-deny");
    assert.equal(deny.length, 1);
    const others = verdicts.filter((verdict) => verdict.policy !== "namespace-default-deny");
    assert.deepEqual(mandatoryVerdicts(others), []);
    if (PROD_EXEMPTION_ACTIVE) {
      assert.deepEqual(mandatoryVerdicts(verdicts), []);
      assert.equal(deny[0]!.level, "advisory");
      assert.match(
        deny[0]!.message,
        /Namespace flash-ticket: .*exempt until \d{4}-\d{2}-\d{2}, reason: gradual rollout: default deny is the last stage/,
      );
    } else {
      assert.equal(deny[0]!.level, "mandatory");
      assert.match(deny[0]!.message, /rollout exemption expired/);
    }
  });
});

describe("policy pack: mutation catalog through the gRPC harness @process", function () {
  const prodConfig = prodEnforcementForDevSet();
  let harness: PolicyHarness;
  let base: AnalyzedResource[];
  let baseline: Set<string>;
  const caught: string[] = [];

  before(async () => {
    base = await stackResources("dev");
    harness = await PolicyHarness.start({ stack: "prod", packConfig: prodConfig });
    baseline = new Set((await harness.preview(base)).map(key));
  });
  after(async () => {
    await harness?.close();
    const rate = ((caught.length / MUTATIONS.length) * 100).toFixed(1);
    console.log(`      kill rate: ${caught.length}/${MUTATIONS.length} mutations caught (${rate}%)`);
  });

  it("has at least 25 mutations with distinct ids", () => {
    assert.ok(MUTATIONS.length >= 25, `only ${MUTATIONS.length} mutations`);
    assert.equal(new Set(MUTATIONS.map((mutation) => mutation.id)).size, MUTATIONS.length);
  });

  for (const mutation of MUTATIONS) {
    it(`${mutation.id}: ${mutation.mistake} → ${mutation.expect.policy} (${mutation.expect.level})`, async () => {
      const resources = structuredClone(base);
      mutation.apply(resources);
      const config = mutation.packConfig?.(prodConfig) ?? prodConfig;
      let verdicts: PolicyVerdict[];
      let baselineForConfig = baseline;
      if (config !== prodConfig) {
        await harness.configure(config);
        baselineForConfig = new Set((await harness.preview(base)).map(key));
        verdicts = await harness.preview(resources);
        await harness.configure(prodConfig);
      } else {
        verdicts = await harness.preview(resources);
      }
      const fresh = verdicts.filter((verdict) => !baselineForConfig.has(key(verdict)));
      const hit = fresh.find(
        (verdict) => verdict.policy === mutation.expect.policy && verdict.level === mutation.expect.level,
      );
      assert.ok(hit, `not caught; new verdicts:\n${JSON.stringify(fresh, null, 2)}`);
      // Every message says which resource, what is wrong and the fix.
      assert.match(hit.message, /(NetworkPolicy|Namespace) [a-z0-9-]+(\/[a-z0-9.-]+)?: .+\. Fix: .+/);
      if (mutation.noMandatory === true) assert.deepEqual(mandatoryVerdicts(verdicts), []);
      caught.push(mutation.id);
    });
  }
});
