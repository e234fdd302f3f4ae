/**
 * A clone of the repository alone passes `npm ci && npm test` (issue 19): no source, test or
 * config names a path beside the clone (the netpol cases used to live in a sibling folder)
 * or on one machine.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");
const SKIPPED_DIRECTORIES = new Set(["node_modules", "bin", ".git", ".pulumi"]);
const CHECKED = /\.(ts|mjs|js|json|ya?ml)$/;
// This file names the patterns it refuses.
const SELF = path.relative(ROOT, __filename);

/**
 * Ways a path can leave the clone: the old sibling folder, its override, an absolute path of one
 * machine. (Scratch files under the OS temp directory are writes, not inputs, and are allowed.)
 */
const OUTSIDE = [/\.\.\/shared\b/, /\bshared\/netpol-cases/, /NETPOL_CASES_DIR/, /["'`]\/(work|home|root)\//];

function files(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) return SKIPPED_DIRECTORIES.has(entry.name) ? [] : files(relative);
    return CHECKED.test(entry.name) && entry.name !== "package-lock.json" ? [relative] : [];
  });
}

describe("the repository is self-contained", () => {
  it("no source, test or config file reads a path outside the clone", () => {
    const checked = files(".").filter((file) => file !== SELF);
    assert.ok(checked.length > 100, `only ${checked.length} files found under ${ROOT}`);
    const offenders = checked.flatMap((file) => {
      const text = readFileSync(path.join(ROOT, file), "utf8");
      return OUTSIDE.filter((pattern) => pattern.test(text)).map((pattern) => `${file}: ${pattern}`);
    });
    assert.deepEqual(offenders, []);
  });

  it("holds the netpol cases the analyzer tests read, with their README", () => {
    const cases = readdirSync(path.join(ROOT, "tests", "fixtures", "netpol-cases"));
    assert.ok(cases.includes("README.md"));
    assert.ok(cases.filter((name) => name.endsWith(".json")).length >= 14, cases.join(", "));
  });
});
