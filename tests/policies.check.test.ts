/**
 * `npm run -s check -- FILE [--stack dev|prod]` end to end: a child process, real pack, real gRPC.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import type { PolicyVerdict } from "../offline/policyHarness";

const ROOT = path.join(__dirname, "..");
const FIXTURES = path.join("tests", "fixtures", "policies");

function check(...args: string[]): {
  status: number | null;
  verdicts: PolicyVerdict[] | undefined;
  stderr: string;
} {
  // What `npm run check` runs ("ts-node --transpile-only cli/check.ts"), without npm in between.
  const result = spawnSync(
    process.execPath,
    ["-r", "ts-node/register/transpile-only", "cli/check.ts", ...args],
    {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 60_000,
    },
  );
  let verdicts: PolicyVerdict[] | undefined;
  try {
    verdicts = JSON.parse(result.stdout) as PolicyVerdict[];
  } catch {
    verdicts = undefined;
  }
  return { status: result.status, verdicts, stderr: result.stderr };
}

describe("check CLI: the pack over a YAML file", function () {
  this.timeout(90_000);

  it("a compliant file: exit 0, [] on stdout (other kinds skipped)", () => {
    for (const stack of ["dev", "prod"]) {
      const result = check(path.join(FIXTURES, "compliant.yaml"), "--stack", stack);
      assert.equal(result.status, 0, result.stderr);
      assert.deepEqual(result.verdicts, []);
    }
  });

  it("mandatory violations under prod: exit 1, verdicts as JSON with policy, level, message, resource", () => {
    const result = check(path.join(FIXTURES, "violations.yaml"), "--stack", "prod");
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

  it("the same file under dev (advisory): exit 0, verdicts still printed", () => {
    const result = check(path.join(FIXTURES, "violations.yaml"));
    assert.equal(result.status, 0, result.stderr);
    assert.ok(result.verdicts!.length > 0);
    assert.ok(result.verdicts!.every((verdict) => verdict.level === "advisory"));
  });

  it("invalid YAML: exit 2, naming the file, the document and the line", () => {
    const result = check(path.join(FIXTURES, "broken-yaml.txt"));
    assert.equal(result.status, 2);
    assert.match(result.stderr, /broken-yaml\.txt: document 2, line \d+: /);
  });

  it("a document that is not an object: exit 2 with the document index", () => {
    const result = check(path.join(FIXTURES, "scalar.yaml"));
    assert.equal(result.status, 2);
    assert.match(result.stderr, /scalar\.yaml: document 2, line 6: expected a Kubernetes object/);
  });

  it("a missing file: exit 2; a bad --stack: exit 2", () => {
    const missing = check(path.join(FIXTURES, "nope.yaml"));
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /nope\.yaml: cannot be read \(ENOENT\)/);
    const badStack = check(path.join(FIXTURES, "compliant.yaml"), "--stack", "staging");
    assert.equal(badStack.status, 2);
    assert.match(badStack.stderr, /staging/);
  });
});
