/**
 * The pack as it leaves this repository: `pulumi policy publish` runs `npm pack` in policies/
 * (pulumi/pulumi pkg/backend/httpstate/policypack.go, v3.248.0) and `pulumi policy enable`
 * unpacks that tarball and installs its production dependencies (installRequiredPolicy). And
 * the program and pack as `npm ci --omit=dev` installs them for the real CLI.
 */
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PolicyHarness, type PolicyVerdict } from "../../offline/policyHarness";
import { parsePolicyPackConfig } from "../../offline/policyPackConfig";
import { networkPolicyResource } from "../../offline/policyResources";
import { RULES } from "../../policies/rules";
import { PROJECT_ROOT } from "../support/runCli";

const npm = (cwd: string, ...args: string[]) =>
  execFileSync("npm", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

interface PackageManifest {
  main: string;
  dependencies?: Record<string, string>;
}

/** Every package a compiled file requires by bare name (node: built-ins left out). */
function requiredPackages(dir: string): Set<string> {
  const found = new Set<string>();
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith(".js")) continue;
    const text = fs.readFileSync(path.join(entry.parentPath, entry.name), "utf8");
    for (const match of text.matchAll(/require\("([^".][^"]*)"\)/g)) {
      const name = match[1]!;
      if (name.startsWith("node:")) continue;
      found.add(name.startsWith("@") ? name.split("/").slice(0, 2).join("/") : name.split("/")[0]!);
    }
  }
  return found;
}

function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

async function startedRules(packDir: string): Promise<string[]> {
  const harness = await PolicyHarness.start({ stack: "prod", packDir });
  try {
    return harness.info.policies.map((policy) => policy.name).sort();
  } finally {
    await harness.close();
  }
}

const ALL_RULES = RULES.map((rule) => rule.name).sort();

describe("policy pack: the published package @process", () => {
  let unpacked: string;
  let manifest: PackageManifest;

  before(() => {
    const destination = tempDir("flash-netpol-pack-");
    const [packed] = JSON.parse(
      npm(path.join(PROJECT_ROOT, "policies"), "pack", "--json", "--pack-destination", destination),
    ) as { filename: string }[];
    unpacked = path.join(destination, "unpacked");
    fs.mkdirSync(unpacked);
    execFileSync("tar", [
      "-xzf",
      path.join(destination, packed!.filename),
      "-C",
      unpacked,
      "--strip-components=1",
    ]);
    manifest = JSON.parse(fs.readFileSync(path.join(unpacked, "package.json"), "utf8")) as PackageManifest;
  });

  it("holds the compiled pack, its PulumiPolicy.yaml and nothing from outside the folder unresolved", () => {
    assert.ok(fs.existsSync(path.join(unpacked, "PulumiPolicy.yaml")));
    assert.ok(fs.existsSync(path.join(unpacked, manifest.main)), `main ${manifest.main} is in the tarball`);
    assert.equal(fs.existsSync(path.join(unpacked, "index.ts")), false, "sources stay behind");
    const declared = new Set(Object.keys(manifest.dependencies ?? {}));
    const missing = [...requiredPackages(unpacked)].filter((name) => !declared.has(name));
    assert.deepEqual(missing, [], "every package the compiled pack requires is a declared dependency");
  });

  it("pins each dependency at the version the repository installs", () => {
    const root = JSON.parse(
      fs.readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8"),
    ) as PackageManifest;
    for (const [name, version] of Object.entries(manifest.dependencies ?? {}))
      assert.equal(version, root.dependencies?.[name], `${name} in policies/package.json`);
  });

  it("installed with only its declared dependencies, starts under run-policy-pack with every rule", async () => {
    // The production install, from the project's own node_modules by path: each declared
    // dependency and nothing else at the top of the pack's node_modules.
    const modules = path.join(unpacked, "node_modules");
    for (const name of Object.keys(manifest.dependencies ?? {})) {
      fs.mkdirSync(path.dirname(path.join(modules, name)), { recursive: true });
      fs.symlinkSync(path.join(PROJECT_ROOT, "node_modules", name), path.join(modules, name), "dir");
    }
    assert.deepEqual(await startedRules(unpacked), ALL_RULES);
  });

  it("ships the stacks' baselines and, run with a weaker config, refuses it by itself (mandatory)", async () => {
    // Runs after the install above: the unpacked pack has its dependencies.
    for (const stack of ["dev", "prod"])
      assert.ok(fs.existsSync(path.join(unpacked, "config", `${stack}.json`)));
    const baseline = parsePolicyPackConfig(
      fs.readFileSync(path.join(PROJECT_ROOT, "policies", "config", "prod.json"), "utf8"),
      "prod.json",
    );
    const weaker = new Map(baseline);
    weaker.set("public-egress", {
      properties: { vpcCidrs: ["10.30.0.0/16", "100.64.0.0/16"], allowedPorts: [443, 22] },
    });
    const policy = networkPolicyResource(
      {
        metadata: { name: "default-deny-all", namespace: "flash-ticket" },
        spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
      },
      "prod",
      "default-deny-all",
    );
    const harness = await PolicyHarness.start({ stack: "prod", packDir: unpacked, packConfig: baseline });
    try {
      const weakening = (verdicts: PolicyVerdict[]) =>
        verdicts.filter((verdict) => verdict.policy === "pack-config-not-weakened");
      assert.deepEqual(weakening(await harness.preview([policy])), []);
      await harness.configure(weaker);
      const refused = weakening(await harness.preview([policy]));
      assert.deepEqual(
        refused.map((verdict) => verdict.level),
        ["mandatory"],
      );
      assert.match(refused[0]!.message, /public-egress\.allowedPorts .*policies\/config\/prod\.json.*22/);
    } finally {
      await harness.close();
    }
  });
});

describe("program and pack from `npm ci --omit=dev` @process", () => {
  let installed: string;

  before(() => {
    installed = tempDir("flash-netpol-omit-dev-");
    const copied = ["package.json", "package-lock.json", "tsconfig.json", "index.ts", "Pulumi.yaml"];
    for (const file of copied) fs.copyFileSync(path.join(PROJECT_ROOT, file), path.join(installed, file));
    for (const dir of ["core", "components", "analyzer", "policies"])
      fs.cpSync(path.join(PROJECT_ROOT, dir), path.join(installed, dir), {
        recursive: true,
        filter: (source) => !/[/\\](bin|node_modules)$/.test(source),
      });
    // What CI's `npm ci` already put in npm's cache: no registry needed.
    npm(installed, "ci", "--omit=dev", "--offline", "--no-audit", "--no-fund");
  });

  it("leaves the dev tools out", () => {
    assert.equal(fs.existsSync(path.join(installed, "node_modules", "mocha")), false);
    assert.equal(fs.existsSync(path.join(installed, "node_modules", "fast-check")), false);
  });

  it("type-checks the program with the project's TypeScript, as the language host's ts-node does", () => {
    // run-policy-pack / the nodejs language host register ts-node with typeCheck and this
    // tsconfig.json; without typescript in dependencies they fall back to a bundled TypeScript 3.8.
    execFileSync(
      process.execPath,
      [path.join(installed, "node_modules/typescript/bin/tsc"), "--noEmit", "-p", "."],
      {
        cwd: installed,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
  });

  it("built the compiled pack in prepare, and it starts with every rule", async () => {
    assert.ok(fs.existsSync(path.join(installed, "policies", "bin", "policies", "index.js")));
    assert.deepEqual(await startedRules(path.join(installed, "policies")), ALL_RULES);
  });
});
