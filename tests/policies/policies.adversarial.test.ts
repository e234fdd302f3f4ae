/**
 * The guard against an attacker's edits (issue 18): each variant of prod's full target in
 * tests/fixtures/policies/attackerVariants.ts must make `check --stack prod` exit 1 with a mandatory
 * verdict naming the policy, under prod's pack config without its time-boxed exemption; the
 * unchanged target, with and without the program's own break-glass, must pass.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseAllDocuments, stringify } from "yaml";
import type { PolicyVerdict } from "../../offline/policyHarness";
import { ATTACKER_VARIANTS, type ManifestPolicy } from "../fixtures/policies/attackerVariants";
import { PROJECT_ROOT, runCli } from "../support/runCli";

const work = fs.mkdtempSync(path.join(os.tmpdir(), "flash-adversarial-"));

/** Pulumi.prod.yaml with every rollout flag enforced: prod's full target. */
function fullTargetConfig(breakGlass: boolean): string {
  const text = fs
    .readFileSync(path.join(PROJECT_ROOT, "Pulumi.prod.yaml"), "utf8")
    .replace(/"off"/g, "enforce");
  const file = path.join(work, `Pulumi.prod${breakGlass ? ".break-glass" : ""}.yaml`);
  fs.writeFileSync(file, breakGlass ? `${text}  flash-netpol:breakGlass: true\n` : text);
  return file;
}

/** prod's committed pack config with the rollout exemption removed: a stricter config. */
function packConfigWithoutExemption(): string {
  const config = JSON.parse(
    fs.readFileSync(path.join(PROJECT_ROOT, "policies", "config", "prod.json"), "utf8"),
  ) as Record<string, Record<string, unknown>>;
  delete config["namespace-default-deny"]!["exemptions"];
  const file = path.join(work, "prod-no-exemption.json");
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

async function renderTarget(breakGlass: boolean): Promise<string> {
  const result = await runCli(
    "cli/plan.ts",
    "--stack",
    "prod",
    "--config-file",
    fullTargetConfig(breakGlass),
    "--format",
    "yaml",
    "--no-policy-pack",
  );
  assert.equal(result.code, 0, result.stderr);
  return result.stdout;
}

async function check(yamlText: string, name: string, packConfig: string) {
  const file = path.join(work, `${name.replace(/[^a-z0-9]+/gi, "-")}.yaml`);
  fs.writeFileSync(file, yamlText);
  const result = await runCli("cli/check.ts", file, "--stack", "prod", "--policy-pack-config", packConfig);
  let verdicts: PolicyVerdict[] = [];
  try {
    verdicts = JSON.parse(result.stdout) as PolicyVerdict[];
  } catch {
    assert.fail(`check printed no JSON for ${name}: ${result.stdout}\n${result.stderr}`);
  }
  return { code: result.code, verdicts, stderr: result.stderr };
}

describe("policy pack against an attacker: prod's full target, edited @process", function () {
  let target = "";
  let packConfig = "";
  before(async () => {
    target = await renderTarget(false);
    packConfig = packConfigWithoutExemption();
  });
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  it("control: the unchanged full target passes, with the committed and the stricter config", async () => {
    const strict = await check(target, "control", packConfig);
    assert.equal(strict.code, 0, JSON.stringify(strict.verdicts, null, 2) + strict.stderr);
    const committed = path.join(PROJECT_ROOT, "policies", "config", "prod.json");
    const withCommitted = await check(target, "control-committed", committed);
    assert.equal(withCommitted.code, 0, JSON.stringify(withCommitted.verdicts, null, 2));
  });

  it("control: the program's own break-glass on top of the full target passes (advisory)", async () => {
    const result = await check(await renderTarget(true), "control-break-glass", packConfig);
    assert.equal(result.code, 0, JSON.stringify(result.verdicts, null, 2) + result.stderr);
    assert.ok(result.verdicts.some((verdict) => verdict.level === "advisory"));
  });

  for (const variant of ATTACKER_VARIANTS) {
    it(`refuses: ${variant.id}`, async () => {
      const policies = parseAllDocuments(target).map((document) => document.toJS() as ManifestPolicy);
      variant.apply(policies);
      const result = await check(
        policies.map((policy) => stringify(policy)).join("---\n"),
        variant.id,
        packConfig,
      );
      const mandatory = result.verdicts.filter((verdict) => verdict.level === "mandatory");
      assert.equal(
        result.code,
        1,
        `exit ${result.code}: ${JSON.stringify(result.verdicts, null, 2)}${result.stderr}`,
      );
      assert.ok(
        mandatory.some((verdict) => `${verdict.resource} ${verdict.message}`.includes(variant.names)),
        `no mandatory verdict names ${variant.names}: ${JSON.stringify(mandatory, null, 2)}`,
      );
    });
  }
});
