/**
 * `npm run plan` runs the policy pack over the plan, as `pulumi preview --policy-pack` would, adds
 * the verdicts to the JSON and fails (exit 4) on a violation that is mandatory for the stack.
 */
import * as assert from "node:assert/strict";
import { PROJECT_ROOT, runCli, type CliResult } from "../support/runCli";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROD_EXEMPTION_ACTIVE, PROD_EXEMPTION_UNTIL } from "../fixtures/policies/mutationCatalog";

const plan = (...args: string[]): Promise<CliResult> => runCli("cli/plan.ts", ...args);

interface Verdict {
  policy: string;
  level: string;
  message: string;
  resource: string;
}

describe("plan: policy pack verdicts @process", function () {
  it("dev: policyViolations is an empty list; prod: only the rollout exemption of the default deny", async () => {
    const [dev, prod] = await Promise.all([
      plan("--stack", "dev", "--format", "json"),
      plan("--stack", "prod", "--format", "json"),
    ]);
    assert.equal(dev.code, 0, dev.stderr);
    assert.deepEqual(JSON.parse(dev.stdout).policyViolations, []);
    // Advisory until the exemption's date; after it, prod's plan must fail until the rollout finishes.
    assert.equal(prod.code, PROD_EXEMPTION_ACTIVE ? 0 : 4, prod.stderr);
    const verdicts = JSON.parse(prod.stdout).policyViolations as Verdict[];
    assert.deepEqual(
      verdicts.map((verdict) => [verdict.policy, verdict.level, verdict.resource]),
      [["namespace-default-deny", PROD_EXEMPTION_ACTIVE ? "advisory" : "mandatory", "stack"]],
    );
    assert.match(
      verdicts[0]!.message,
      new RegExp(PROD_EXEMPTION_ACTIVE ? `exempt until ${PROD_EXEMPTION_UNTIL}` : "expired"),
    );
  });

  it("exits 4 naming the rule when a violation is mandatory for the stack (the rollout exemption expired)", async () => {
    const prodConfig = JSON.parse(
      fs.readFileSync(path.join(PROJECT_ROOT, "policies/config/prod.json"), "utf8"),
    ) as {
      "namespace-default-deny": { exemptions: { until: string }[] };
    };
    prodConfig["namespace-default-deny"].exemptions[0]!.until = "2020-01-31";
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "flash-netpol-")), "prod-expired.json");
    fs.writeFileSync(file, JSON.stringify(prodConfig));
    const result = await plan("--stack", "prod", "--format", "json", "--policy-pack-config", file);
    assert.equal(result.code, 4, result.stderr);
    const verdicts = JSON.parse(result.stdout).policyViolations as Verdict[];
    assert.deepEqual(
      verdicts.map((verdict) => [verdict.policy, verdict.level]),
      [["namespace-default-deny", "mandatory"]],
    );
    assert.match(
      result.stderr,
      /1 mandatory violation\(s\).*\n\s+namespace-default-deny: Namespace flash-ticket: .*expired on 2020-01-31/,
    );
  });

  it("--no-policy-pack skips the pack and leaves the key out", async () => {
    const result = await plan("--stack", "dev", "--format", "json", "--no-policy-pack");
    assert.equal(result.code, 0, result.stderr);
    assert.equal("policyViolations" in JSON.parse(result.stdout), false);
  });
});
