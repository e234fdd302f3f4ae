/**
 * The guard against an attacker's edits (issue 18): each variant of a stack's full target in
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

/** Pulumi.<stack>.yaml with every rollout flag enforced: the stack's full target. */
function fullTargetConfig(stack: string, breakGlass: boolean): string {
  const text = fs
    .readFileSync(path.join(PROJECT_ROOT, `Pulumi.${stack}.yaml`), "utf8")
    .replace(/"off"/g, "enforce");
  const file = path.join(work, `Pulumi.${stack}${breakGlass ? ".break-glass" : ""}.yaml`);
  fs.writeFileSync(file, breakGlass ? `${text}  flash-netpol:breakGlass: true\n` : text);
  return file;
}

/** The stack's committed pack config with any rollout exemption removed: a stricter config. */
function packConfigWithoutExemption(stack: string): string {
  const config = JSON.parse(
    fs.readFileSync(path.join(PROJECT_ROOT, "policies", "config", `${stack}.json`), "utf8"),
  ) as Record<string, Record<string, unknown>>;
  delete config["namespace-default-deny"]!["exemptions"];
  const file = path.join(work, `${stack}-no-exemption.json`);
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

async function renderTarget(stack: string, breakGlass: boolean): Promise<string> {
  const result = await runCli(
    "cli/plan.ts",
    "--stack",
    stack,
    "--config-file",
    fullTargetConfig(stack, breakGlass),
    "--format",
    "yaml",
    "--no-policy-pack",
  );
  assert.equal(result.code, 0, result.stderr);
  return result.stdout;
}

async function check(stack: string, yamlText: string, name: string, packConfig: string) {
  const file = path.join(work, `${stack}-${name.replace(/[^a-z0-9]+/gi, "-")}.yaml`);
  fs.writeFileSync(file, yamlText);
  const result = await runCli("cli/check.ts", file, "--stack", stack, "--policy-pack-config", packConfig);
  let verdicts: PolicyVerdict[] = [];
  try {
    verdicts = JSON.parse(result.stdout) as PolicyVerdict[];
  } catch {
    assert.fail(`check printed no JSON for ${name}: ${result.stdout}\n${result.stderr}`);
  }
  return { code: result.code, verdicts, stderr: result.stderr };
}

/**
 * prod refuses each variant (mandatory, exit 1); dev, advisory by design, still reports every class
 * (exit 0). The variants' addresses are prod's; in dev they lie outside its VPC, refused all the same.
 */
const STACKS = [
  { stack: "prod", level: "mandatory", exit: 1 },
  { stack: "dev", level: "advisory", exit: 0 },
] as const;

after(() => fs.rmSync(work, { recursive: true, force: true }));

for (const { stack, level, exit } of STACKS) {
  describe(`policy pack against an attacker: ${stack}'s full target, edited @process`, function () {
    let target = "";
    let packConfig = "";
    before(async () => {
      target = await renderTarget(stack, false);
      packConfig = packConfigWithoutExemption(stack);
    });

    it("control: the unchanged full target passes, with the committed and the stricter config", async () => {
      const strict = await check(stack, target, "control", packConfig);
      assert.equal(strict.code, 0, JSON.stringify(strict.verdicts, null, 2) + strict.stderr);
      assert.deepEqual(strict.verdicts, []);
      const committed = path.join(PROJECT_ROOT, "policies", "config", `${stack}.json`);
      const withCommitted = await check(stack, target, "control-committed", committed);
      assert.equal(withCommitted.code, 0, JSON.stringify(withCommitted.verdicts, null, 2));
    });

    it("control: the program's own break-glass on top of the full target passes (advisory)", async () => {
      const result = await check(stack, await renderTarget(stack, true), "control-break-glass", packConfig);
      assert.equal(result.code, 0, JSON.stringify(result.verdicts, null, 2) + result.stderr);
      assert.ok(result.verdicts.some((verdict) => verdict.policy === "break-glass-active"));
      assert.ok(result.verdicts.every((verdict) => verdict.level === "advisory"));
    });

    for (const variant of ATTACKER_VARIANTS) {
      it(`refuses: ${variant.id}`, async () => {
        const policies = parseAllDocuments(target).map((document) => document.toJS() as ManifestPolicy);
        variant.apply(policies);
        const result = await check(
          stack,
          policies.map((policy) => stringify(policy)).join("---\n"),
          variant.id,
          packConfig,
        );
        assert.equal(
          result.code,
          exit,
          `exit ${result.code}: ${JSON.stringify(result.verdicts, null, 2)}${result.stderr}`,
        );
        const atLevel = result.verdicts.filter((verdict) => verdict.level === level);
        assert.ok(
          atLevel.some((verdict) => `${verdict.resource} ${verdict.message}`.includes(variant.names)),
          `no ${level} verdict names ${variant.names}: ${JSON.stringify(result.verdicts, null, 2)}`,
        );
      });
    }
  });
}
