/**
 * The layout's promise (docs/design.md "Layout"): layers import only downwards, the primitives in
 * core/ import nothing of ours, the pack stays off the deployed AWS code, and what `pulumi up` loads
 * stays small. Read from the sources' import statements, so a move that breaks a layer fails here.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");

/** Lower numbers are lower layers; a file may import its own layer's files or lower ones. */
const LAYER: Record<string, number> = {
  core: 1,
  components: 2,
  "index.ts": 2,
  analyzer: 2,
  policies: 3,
  offline: 4,
  replay: 4,
  verify: 4,
  cli: 5,
  bench: 5,
};

interface Import {
  readonly from: string;
  readonly to: string;
  /** `import type` / `export type`: erased at run time. */
  readonly typeOnly: boolean;
  /** `await import(...)`: loaded only when that code runs. */
  readonly lazy: boolean;
}

function sourceFiles(): string[] {
  const files: string[] = ["index.ts"];
  for (const top of Object.keys(LAYER).filter((name) => !name.endsWith(".ts"))) {
    for (const file of fs.readdirSync(path.join(ROOT, top), { recursive: true, encoding: "utf8" })) {
      if (file.endsWith(".ts") && !file.startsWith("bin/")) files.push(path.join(top, file));
    }
  }
  return files;
}

function resolveImport(from: string, specifier: string): string | undefined {
  const base = path.resolve(path.dirname(path.join(ROOT, from)), specifier);
  for (const candidate of [`${base}.ts`, path.join(base, "index.ts"), base]) {
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return path.relative(ROOT, candidate);
  }
  return undefined;
}

function importsOf(file: string): Import[] {
  const text = fs.readFileSync(path.join(ROOT, file), "utf8");
  const found: Import[] = [];
  const statics = /^\s*(?:import|export)\s+(type\s+)?(?:[^;]*?\s+from\s+)?["'](\.{1,2}\/[^"']+)["']/gm;
  for (const match of text.matchAll(statics)) {
    const to = resolveImport(file, match[2]!);
    if (to !== undefined) found.push({ from: file, to, typeOnly: match[1] !== undefined, lazy: false });
  }
  for (const match of text.matchAll(/\bimport\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g)) {
    const to = resolveImport(file, match[1]!);
    if (to !== undefined) found.push({ from: file, to, typeOnly: false, lazy: true });
  }
  return found;
}

const topOf = (file: string) => file.split(path.sep)[0]!;
const layerOf = (file: string) => LAYER[topOf(file)];

describe("layout: layers in one direction", function () {
  const imports = sourceFiles().flatMap(importsOf);

  it("reads the project's imports (the check itself finds them)", () => {
    assert.ok(imports.length > 200, `only ${imports.length} imports found`);
    assert.ok(imports.some((edge) => edge.from === "index.ts" && edge.to.startsWith("components")));
  });

  it("no import runs from a lower layer to a higher one", () => {
    const upwards = imports.filter((edge) => {
      const from = layerOf(edge.from);
      const to = layerOf(edge.to);
      return from !== undefined && to !== undefined && to > from;
    });
    assert.deepEqual(
      upwards.map((edge) => `${edge.from} -> ${edge.to}`),
      [],
    );
  });

  it("core/ imports nothing of ours outside core/", () => {
    const outside = imports.filter((edge) => topOf(edge.from) === "core" && topOf(edge.to) !== "core");
    assert.deepEqual(
      outside.map((edge) => `${edge.from} -> ${edge.to}`),
      [],
    );
  });

  it("the deployed program and the analyzer do not import each other, but for a lazy check", () => {
    const deployed = (file: string) => file === "index.ts" || topOf(file) === "components";
    const crossing = imports.filter(
      (edge) =>
        !edge.lazy &&
        ((deployed(edge.from) && topOf(edge.to) === "analyzer") ||
          (topOf(edge.from) === "analyzer" && deployed(edge.to))),
    );
    assert.deepEqual(
      crossing.map((edge) => `${edge.from} -> ${edge.to}`),
      [],
    );
  });

  it("the pack imports only core/, analyzer/ and itself (it ships without the AWS provider)", () => {
    const outside = imports.filter(
      (edge) => topOf(edge.from) === "policies" && !["core", "analyzer", "policies"].includes(topOf(edge.to)),
    );
    assert.deepEqual(
      outside.map((edge) => `${edge.from} -> ${edge.to}`),
      [],
    );
  });

  it("what `pulumi up` loads statically stays within 3,500 lines", () => {
    const seen = new Set<string>();
    const pending = ["index.ts"];
    while (pending.length > 0) {
      const file = pending.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      for (const edge of imports) if (edge.from === file && !edge.lazy) pending.push(edge.to);
    }
    const lines = [...seen].reduce(
      (total, file) => total + fs.readFileSync(path.join(ROOT, file), "utf8").split("\n").length,
      0,
    );
    assert.ok(![...seen].some((file) => topOf(file) === "analyzer"), [...seen].join("\n"));
    assert.ok(lines <= 3500, `${seen.size} files, ${lines} lines:\n${[...seen].join("\n")}`);
  });
});
