/**
 * `check --stack prod --policy-pack-config F`: F may not be weaker than policies/config/prod.json.
 * Each case is prod's baseline with one hand edit; the expected key is read off the edit, never off
 * check's output. The file checked is prod's full target, which passes under the baseline, so the
 * exit code is the weakening's alone.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { PolicyVerdict } from "../../offline/policyHarness";
import { runCli } from "../support/runCli";

type PackConfigDocument = Record<string, unknown>;
const BASELINE = "policies/config/prod.json";

function baseline(): Record<string, Record<string, unknown> | string> {
  return JSON.parse(fs.readFileSync(BASELINE, "utf8")) as Record<string, Record<string, unknown> | string>;
}

describe("check: a pack config weaker than the stack's baseline is refused @process", function () {
  let dir: string;
  let target: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "flash-netpol-weakening-"));
    const config = path.join(dir, "Pulumi.prod-full.yaml");
    fs.writeFileSync(config, fs.readFileSync("Pulumi.prod.yaml", "utf8").replace(/"off"/g, "enforce"));
    const plan = await runCli(
      "cli/plan.ts",
      ...["--stack", "prod", "--config-file", config, "--format", "yaml", "--no-policy-pack"],
    );
    assert.equal(plan.code, 0, plan.stderr);
    target = path.join(dir, "prod-full.yaml");
    fs.writeFileSync(target, plan.stdout);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function checkWith(document: PackConfigDocument, ...extra: string[]) {
    const file = path.join(dir, `pack-${Math.random().toString(36).slice(2)}.json`);
    fs.writeFileSync(file, JSON.stringify(document, null, 2));
    const result = await runCli(
      "cli/check.ts",
      target,
      "--stack",
      "prod",
      "--policy-pack-config",
      file,
      ...extra,
    );
    const verdicts = JSON.parse(result.stdout || "null") as PolicyVerdict[] | null;
    assert.ok(verdicts !== null, result.stderr);
    return { code: result.code, verdicts, stderr: result.stderr, file };
  }

  const weakening = (verdicts: readonly PolicyVerdict[]) =>
    verdicts.filter((verdict) => verdict.policy === "pack-config-not-weakened");

  it("the baseline itself, given as a file: exit 0", async () => {
    const result = await checkWith(baseline());
    assert.equal(result.code, 0, JSON.stringify(result.verdicts, null, 2));
    assert.deepEqual(weakening(result.verdicts), []);
  });

  it("a stricter config (no exemption, lints mandatory, the allowed ports unchanged): exit 0", async () => {
    const stricter = baseline();
    stricter["namespace-default-deny"] = {
      enforcementLevel: "mandatory",
      applicationNamespaces: ["flash-ticket"],
    };
    stricter["eks-vpc-cni-lints"] = { enforcementLevel: "mandatory", serviceCidrs: ["172.20.0.0/16"] };
    stricter["no-allow-all-peers"] = { allowList: [] };
    const result = await checkWith(stricter);
    assert.equal(result.code, 0, JSON.stringify(result.verdicts, null, 2));
    assert.deepEqual(weakening(result.verdicts), []);
  });

  const cases: { name: string; keys: string[]; edit: (config: ReturnType<typeof baseline>) => void }[] = [
    {
      name: "every level to advisory",
      keys: [
        "public-egress.enforcementLevel",
        "namespace-default-deny.enforcementLevel",
        "public-ingress.enforcementLevel",
      ],
      edit: (config) => {
        config["all"] = "advisory";
        (config["namespace-default-deny"] as Record<string, unknown>)["enforcementLevel"] = "advisory";
        (config["public-ingress"] as Record<string, unknown>)["enforcementLevel"] = "advisory";
      },
    },
    {
      name: "a rule disabled (string form)",
      keys: ["no-allow-all-peers.enforcementLevel"],
      edit: (config) => void (config["no-allow-all-peers"] = "disabled"),
    },
    {
      name: "a rule removed (its facts fall back to defaults)",
      keys: ["public-egress", "public-egress.vpcCidrs"],
      edit: (config) => void delete config["public-egress"],
    },
    {
      name: "allowList grown",
      keys: ["no-allow-all-peers.allowList"],
      edit: (config) =>
        void (config["no-allow-all-peers"] = { allowList: ["flash-ticket/flash-api-ingress"] }),
    },
    {
      name: "allowedPorts grown",
      keys: ["public-egress.allowedPorts"],
      edit: (config) =>
        void ((config["public-egress"] as Record<string, unknown>)["allowedPorts"] = [443, 22]),
    },
    {
      name: "albTargets grown",
      keys: ["public-ingress.albTargets"],
      edit: (config) =>
        void (config["public-ingress"] as { albTargets: unknown[] }).albTargets.push({
          namespace: "flash-ticket",
          podLabels: { app: "flash-api" },
          port: 4000,
        }),
    },
    {
      name: "vpcCidrs changed (emptied)",
      keys: ["public-egress.vpcCidrs"],
      edit: (config) => void ((config["public-egress"] as Record<string, unknown>)["vpcCidrs"] = []),
    },
    {
      name: "isolated emptied (the flow table isolates flash-pay)",
      keys: ["isolated-workloads-no-ingress.isolated"],
      edit: (config) => void (config["isolated-workloads-no-ingress"] = { isolated: [] }),
    },
    {
      name: "the exemption extended to 2099",
      keys: ["namespace-default-deny.exemptions"],
      edit: (config) =>
        void ((config["namespace-default-deny"] as { exemptions: { until: string }[] }).exemptions[0]!.until =
          "2099-12-31"),
    },
    {
      name: "an exemption added",
      keys: ["namespace-default-deny.exemptions"],
      edit: (config) =>
        void (config["namespace-default-deny"] as { exemptions: unknown[] }).exemptions.push({
          namespace: "payments",
          until: "2026-12-31",
          reason: "another namespace, quietly",
        }),
    },
    {
      name: "the NodeLocal address changed",
      keys: ["dns-egress-kube-dns-only.nodeLocalAddress"],
      edit: (config) => void (config["dns-egress-kube-dns-only"] = { nodeLocalAddress: "169.254.20.11" }),
    },
  ];

  for (const weakened of cases) {
    it(`refused naming the key: ${weakened.name}`, async () => {
      const config = baseline();
      weakened.edit(config);
      const result = await checkWith(config);
      assert.equal(result.code, 1, result.stderr);
      const found = weakening(result.verdicts);
      for (const key of weakened.keys) {
        const verdict = found.find((candidate) => candidate.resource === `${BASELINE}: ${key}`);
        assert.ok(verdict, `no verdict for ${key} in ${JSON.stringify(found, null, 2)}`);
        assert.equal(verdict.level, "mandatory");
        // The message says baseline vs given and the fix.
        assert.match(
          verdict.message,
          new RegExp(`${key.replace(/\./g, "\\.")} is weaker in .* baseline .*given .*Fix: `),
        );
      }
    });
  }

  it("dev too: a weaker dev config fails the check (mandatory), though dev's own rules stay advisory", async () => {
    const devTarget = path.join(dir, "dev-full.yaml");
    const plan = await runCli("cli/plan.ts", ...["--stack", "dev", "--format", "yaml", "--no-policy-pack"]);
    assert.equal(plan.code, 0, plan.stderr);
    fs.writeFileSync(devTarget, plan.stdout);
    const config = JSON.parse(fs.readFileSync("policies/config/dev.json", "utf8")) as Record<
      string,
      Record<string, unknown>
    >;
    config["public-egress"]!["allowedPorts"] = [443, 22];
    const file = path.join(dir, "dev-weaker.json");
    fs.writeFileSync(file, JSON.stringify(config));
    const result = await runCli("cli/check.ts", devTarget, "--stack", "dev", "--policy-pack-config", file);
    assert.equal(result.code, 1, result.stdout + result.stderr);
    const verdicts = JSON.parse(result.stdout) as PolicyVerdict[];
    assert.ok(
      weakening(verdicts).some(
        (verdict) =>
          verdict.level === "mandatory" &&
          verdict.resource === "policies/config/dev.json: public-egress.allowedPorts",
      ),
      JSON.stringify(weakening(verdicts), null, 2),
    );
    // Nothing else of dev is mandatory: its own rules stay advisory.
    assert.deepEqual(
      verdicts.filter(
        (verdict) => verdict.level === "mandatory" && verdict.policy !== "pack-config-not-weakened",
      ),
      [],
    );
  });

  it("--allow-weaker-pack-config: the weakening is still listed, advisory, and the file passes", async () => {
    const config = baseline();
    (config["public-egress"] as Record<string, unknown>)["allowedPorts"] = [443, 22];
    const result = await checkWith(config, "--allow-weaker-pack-config");
    assert.equal(result.code, 0, JSON.stringify(result.verdicts, null, 2));
    assert.deepEqual(
      weakening(result.verdicts).map((verdict) => [verdict.level, verdict.resource]),
      [["advisory", `${BASELINE}: public-egress.allowedPorts`]],
    );
  });
});
