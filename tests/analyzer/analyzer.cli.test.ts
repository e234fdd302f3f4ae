import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { runCli, spawnCli } from "../support/runCli";

const casesDir = path.resolve(__dirname, "../fixtures/netpol-cases");

/** `npm run -s analyze -- FILE [FLAGS]`, in this process, as `npm run` does after start-up. */
async function runAnalyze(
  file: string,
  ...flags: string[]
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const result = await runCli("cli/analyze.ts", file, ...flags);
  return { status: result.code, stdout: result.stdout, stderr: result.stderr };
}

/** The same as the child process npm starts. */
async function spawnAnalyze(
  file: string,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const result = await spawnCli("cli/analyze.ts", file);
  return { status: result.code, stdout: result.stdout, stderr: result.stderr };
}

const minimalScenario = {
  name: "cli fixture",
  namespaces: [{ name: "x", labels: { "kubernetes.io/metadata.name": "x" } }],
  pods: [
    { namespace: "x", name: "a", labels: { pod: "a" }, ip: "10.0.0.1", ports: [] },
    { namespace: "x", name: "b", labels: { pod: "b" }, ip: "10.0.0.2", ports: [] },
  ],
  policies: [],
  probes: [{ from: "x/a", to: "x/b", port: 80, protocol: "TCP" }],
};

function writeScenario(content: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "analyze-cli-")), "scenario.json");
  writeFileSync(file, content);
  return file;
}

describe("analyzer: analyze CLI @process", function () {
  it("prints one verdict per probe, in order, with endpoints as written", async () => {
    const file = path.join(casesDir, "cyclonus-ingress-named-port.json");
    const { status, stdout, stderr } = await spawnAnalyze(file);
    assert.equal(stderr, "");
    assert.equal(status, 0);
    const expected = JSON.parse(readFileSync(file, "utf8")).probes;
    const verdicts = JSON.parse(stdout);
    assert.deepEqual(verdicts, expected);
    assert.deepEqual(Object.keys(verdicts[0]), ["from", "to", "port", "protocol", "allowed"]);
    assert.deepEqual(verdicts[0].from, { ip: "1.2.3.4" });
  });

  it("accepts a probe without a recorded verdict", async () => {
    const { status, stdout } = await runAnalyze(writeScenario(JSON.stringify(minimalScenario)));
    assert.equal(status, 0);
    assert.deepEqual(JSON.parse(stdout), [
      { from: "x/a", to: "x/b", port: 80, protocol: "TCP", allowed: true },
    ]);
  });

  it("--enforcer eks-vpc-cni answers as the EKS agent: an except range another policy does not list is a deny-all key", async () => {
    const egress = (name: string, cidr: string, except?: string[]) => ({
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name, namespace: "x" },
      spec: {
        podSelector: { matchLabels: { pod: "a" } },
        policyTypes: ["Egress"],
        egress: [{ to: [{ ipBlock: except === undefined ? { cidr } : { cidr, except } }] }],
      },
    });
    const scenario = {
      ...minimalScenario,
      policies: [egress("wide", "10.0.0.0/24", ["10.0.0.2/32"]), egress("narrow", "10.0.0.0/30")],
    };
    const file = writeScenario(JSON.stringify(scenario));
    // Upstream, allows are a union: "narrow" admits b (10.0.0.2). The agent merges both policies into
    // one map where the except 10.0.0.2/32, listed by no rule, becomes a deny-all key.
    assert.equal(JSON.parse((await runAnalyze(file)).stdout)[0].allowed, true);
    const eks = await runAnalyze(file, "--enforcer", "eks-vpc-cni");
    assert.equal(eks.status, 0, eks.stderr);
    assert.equal(JSON.parse(eks.stdout)[0].allowed, false);
  });

  it("exits 2 naming the file on invalid JSON", async () => {
    const file = writeScenario("{ not json");
    const { status, stdout, stderr } = await runAnalyze(file);
    assert.equal(status, 2);
    assert.equal(stdout, "");
    assert.match(
      stderr,
      new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: \\$: expected valid JSON`),
    );
  });

  it("exits 2 naming the JSON path on a schema violation", async () => {
    const broken = { ...minimalScenario, pods: [{ ...minimalScenario.pods[0], ip: "not-an-ip" }] };
    const { status, stderr } = await runAnalyze(writeScenario(JSON.stringify(broken)));
    assert.equal(status, 2);
    assert.match(stderr, /scenario\.json: \$\.pods\[0\]\.ip: expected an IPv4 or IPv6 address/);
  });

  it("exits 2 when a probe names an unknown pod", async () => {
    const broken = { ...minimalScenario, probes: [{ from: "x/a", to: "x/zz", port: 80, protocol: "TCP" }] };
    const { status, stderr } = await runAnalyze(writeScenario(JSON.stringify(broken)));
    assert.equal(status, 2);
    assert.match(stderr, /scenario\.json: \$\.probes\[0\]\.to: .*unknown pod "x\/zz"/);
  });

  it("exits 2 when the file does not exist", async () => {
    const { status, stderr } = await runAnalyze("/nonexistent/scenario.json");
    assert.equal(status, 2);
    assert.match(stderr, /\/nonexistent\/scenario\.json/);
  });
});
