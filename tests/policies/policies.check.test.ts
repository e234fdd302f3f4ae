/**
 * `npm run -s check -- FILE --stack STACK [--policy-pack-config FILE]` end to end: the command,
 * the real pack, real gRPC; once as the child process npm starts.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { PolicyVerdict } from "../../offline/policyHarness";
import { runCli, spawnCli } from "../support/runCli";
import { listStacks } from "../../offline/stacks";

const FIXTURES = path.join("tests", "fixtures", "policies");

/**
 * The stack's full target (every rollout flag enforced) as `npm run plan --format yaml` renders it,
 * with a Service appended to show other kinds are skipped: the file a compliant change produces.
 */
async function fullTarget(stack: string, dir: string): Promise<string> {
  const config = path.join(dir, `Pulumi.${stack}-full.yaml`);
  fs.writeFileSync(config, fs.readFileSync(`Pulumi.${stack}.yaml`, "utf8").replace(/"off"/g, "enforce"));
  const plan = await runCli(
    "cli/plan.ts",
    "--stack",
    stack,
    "--config-file",
    config,
    "--format",
    "yaml",
    "--no-policy-pack",
  );
  assert.equal(plan.code, 0, plan.stderr);
  const file = path.join(dir, `${stack}-full.yaml`);
  const service =
    "apiVersion: v1\nkind: Service\nmetadata: { name: flash-api, namespace: flash-ticket }\nspec: { selector: { app: flash-api }, ports: [{ port: 4000 }] }\n";
  fs.writeFileSync(file, `${plan.stdout}---\n${service}`);
  return file;
}

/** `npm run -s check -- ARGS`: in this process, or (spawn) as the child process npm would start. */
async function check(...args: string[]): Promise<{
  status: number | null;
  verdicts: PolicyVerdict[] | undefined;
  stderr: string;
}> {
  const spawn = args[0] === "--spawn";
  const result = spawn
    ? await spawnCli("cli/check.ts", ...args.slice(1))
    : await runCli("cli/check.ts", ...args);
  let verdicts: PolicyVerdict[] | undefined;
  try {
    verdicts = JSON.parse(result.stdout) as PolicyVerdict[];
  } catch {
    verdicts = undefined;
  }
  return { status: result.code, verdicts, stderr: result.stderr };
}

describe("check CLI: the pack over a YAML file @process", function () {
  it("a compliant file, the stack's own full target: exit 0, [] on stdout (other kinds skipped)", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flash-netpol-check-"));
    try {
      for (const stack of listStacks()) {
        const result = await check(await fullTarget(stack, dir), "--stack", stack);
        assert.equal(result.status, 0, result.stderr);
        assert.deepEqual(result.verdicts, []);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a partial set (default deny, DNS, one allow) blocks the other flows: refused as outages under prod", async () => {
    // compliant.yaml was enough while check judged policies one by one; the flow table says the
    // gateway's, the API's and the pay worker's other flows are then blocked.
    const result = await check(path.join(FIXTURES, "compliant.yaml"), "--stack", "prod");
    assert.equal(result.status, 1, result.stderr);
    const outages = result.verdicts!.filter(
      (verdict) => verdict.policy === "flows-match-flow-table" && verdict.level === "mandatory",
    );
    assert.ok(outages.some((verdict) => /outage .*alb -> flash-gateway/.test(verdict.message)));
  });

  it("without --stack: exit 2, naming --stack (a file cannot tell its stack)", async () => {
    const result = await check(path.join(FIXTURES, "violations.yaml"));
    assert.equal(result.status, 2);
    assert.match(result.stderr, /--stack is required.*Fix: pass --stack STACK \(stacks: dev, prod\)/);
    assert.equal(result.verdicts, undefined);
  });

  it("--stack inferred from --config-file Pulumi.<stack>.yaml; a missing --fixture is exit 2 naming the flag", async () => {
    const file = path.join(FIXTURES, "violations.yaml");
    const inferred = await check(file, "--config-file", "Pulumi.prod.yaml");
    assert.equal(inferred.status, 1, inferred.stderr);
    assert.match(inferred.stderr, /judging as stack prod, from --config-file Pulumi\.prod\.yaml/);
    const conflict = await check(
      file,
      "--config-file",
      "Pulumi.prod.yaml",
      "--policy-pack-config",
      "policies/config/dev.json",
    );
    assert.equal(conflict.status, 2);
    assert.match(
      conflict.stderr,
      /--stack is required.*says prod.*says dev|--stack is required.*says dev.*says prod/,
    );
    const missing = await check(file, "--stack", "prod", "--fixture", "fixtures/aws/nope.json");
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /--fixture fixtures\/aws\/nope\.json: no such file/);
  });

  it("mandatory violations under prod: exit 1, verdicts as JSON with policy, level, message, resource", async () => {
    // As a process: the exit code and the JSON on stdout are what other tools read.
    const result = await check("--spawn", path.join(FIXTURES, "violations.yaml"), "--stack", "prod");
    assert.equal(result.status, 1, result.stderr);
    const found = new Set(
      result.verdicts!.map((verdict) => `${verdict.policy} ${verdict.level} ${verdict.resource}`),
    );
    for (const expected of [
      "no-allow-all-peers mandatory NetworkPolicy flash-ticket/flash-pay-ingress",
      "isolated-workloads-no-ingress mandatory NetworkPolicy flash-ticket/flash-pay-ingress",
      "public-egress mandatory NetworkPolicy flash-ticket/flash-pay-egress",
      "ports-explicit mandatory NetworkPolicy flash-ticket/flash-pay-egress",
      "dns-egress-kube-dns-only mandatory NetworkPolicy flash-ticket/flash-pay-egress",
    ]) {
      assert.ok(found.has(expected), `missing ${expected} in ${[...found].join("\n")}`);
    }
    for (const verdict of result.verdicts!)
      assert.deepEqual(Object.keys(verdict).sort(), ["level", "message", "policy", "resource"]);
  });

  it("the same file under dev (advisory): exit 0, verdicts still printed", async () => {
    const result = await check(path.join(FIXTURES, "violations.yaml"), "--stack", "dev");
    assert.equal(result.status, 0, result.stderr);
    assert.ok(result.verdicts!.length > 0);
    assert.ok(result.verdicts!.every((verdict) => verdict.level === "advisory"));
  });

  it("invalid YAML: exit 2, naming the file, the document and the line", async () => {
    const result = await check(path.join(FIXTURES, "broken-yaml.txt"), "--stack", "dev");
    assert.equal(result.status, 2);
    assert.match(result.stderr, /broken-yaml\.txt: document 2, line \d+: /);
  });

  it("a document that is not an object: exit 2 with the document index", async () => {
    const result = await check(path.join(FIXTURES, "scalar.yaml"), "--stack", "dev");
    assert.equal(result.status, 2);
    assert.match(result.stderr, /scalar\.yaml: document 2, line 6: expected a Kubernetes object/);
  });

  it("a missing file: exit 2; a stack without a pack config file: exit 2, naming the file to add", async () => {
    const missing = await check(path.join(FIXTURES, "nope.yaml"), "--stack", "dev");
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /nope\.yaml: cannot be read \(ENOENT\)/);
    const badStack = await check(path.join(FIXTURES, "compliant.yaml"), "--stack", "staging");
    assert.equal(badStack.status, 2);
    assert.match(
      badStack.stderr,
      /no pack config for stack staging \(policies\/config\/staging\.json\); stacks with one: dev, prod\. Fix: add policies\/config\/staging\.json .*or pass --policy-pack-config FILE/,
    );
  });

  it("--policy-pack-config policies/config/prod.json without --stack: judged as prod, and stderr says so", async () => {
    const file = path.join(FIXTURES, "violations.yaml");
    const result = await check(file, "--policy-pack-config", path.join("policies", "config", "prod.json"));
    assert.equal(result.status, 1, result.stderr);
    assert.match(
      result.stderr,
      /no --stack given; judging as stack prod, from --policy-pack-config policies\/config\/prod\.json/,
    );
    assert.ok(result.verdicts!.some((verdict) => verdict.level === "mandatory"));
    const missing = await check(file, "--policy-pack-config", "policies/config/nope.json");
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /--policy-pack-config policies\/config\/nope\.json: no such file/);
  });
});

describe("check CLI: a stack that is neither dev nor prod, made of files only @process", function () {
  let project: string;
  before(() => {
    // A project layout with a third stack, staging: its stack file, AWS answers and pack config.
    project = fs.mkdtempSync(path.join(os.tmpdir(), "flash-netpol-staging-"));
    fs.mkdirSync(path.join(project, "policies", "config"), { recursive: true });
    fs.mkdirSync(path.join(project, "fixtures", "aws"), { recursive: true });
    fs.copyFileSync("Pulumi.yaml", path.join(project, "Pulumi.yaml"));
    // prod's cluster and answers under another stack name: what the stack's files say is all there is.
    fs.copyFileSync("Pulumi.prod.yaml", path.join(project, "Pulumi.staging.yaml"));
    fs.copyFileSync("fixtures/aws/prod.json", path.join(project, "fixtures", "aws", "staging.json"));
    fs.mkdirSync(path.join(project, "fixtures", "k8s"), { recursive: true });
    fs.copyFileSync("fixtures/k8s/prod.json", path.join(project, "fixtures", "k8s", "staging.json"));
    fs.copyFileSync("policies/config/prod.json", path.join(project, "policies", "config", "staging.json"));
  });
  after(() => fs.rmSync(project, { recursive: true, force: true }));

  it("check --stack staging uses policies/config/staging.json and staging's flow table", async () => {
    const compliant = await check(await fullTarget("prod", project), "--stack", "staging", "--cwd", project);
    assert.equal(compliant.status, 0, compliant.stderr);
    assert.deepEqual(compliant.verdicts, []);
    const violations = await check(
      path.join(FIXTURES, "violations.yaml"),
      "--stack",
      "staging",
      "--cwd",
      project,
    );
    assert.equal(violations.status, 1, violations.stderr);
    const found = new Set(
      violations.verdicts!.map((verdict) => `${verdict.policy} ${verdict.level} ${verdict.resource}`),
    );
    // isolated-workloads-no-ingress knows flash-pay from staging's config (Pulumi.yaml's flow table).
    assert.ok(
      found.has("isolated-workloads-no-ingress mandatory NetworkPolicy flash-ticket/flash-pay-ingress"),
      [...found].join("\n"),
    );
    assert.ok(found.has("public-egress mandatory NetworkPolicy flash-ticket/flash-pay-egress"));
  });
});
