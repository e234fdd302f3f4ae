/**
 * Adding a service is config only (issue 10, docs/extending.md): flash-notify, a notification
 * worker (pods `app: flash-notify`, port 9090) that consumes jobs from Amazon MQ and resolves names,
 * is added to a copy of the dev stack file, and nothing else. The program, the plan (matrix, proofs,
 * mermaid, explain, the README tables), the policy pack (isolated-workloads-no-ingress included)
 * and verify's probe plan must all know it. Expectations are written from the flow table by hand.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import type { PolicyVerdict } from "../../offline/policyHarness";
import { networkPolicies, runStack, type ProgramRun } from "../../offline/runProgram";
import { runVerify } from "../../verify/verifyCommand";
import { runCli } from "../support/runCli";

const NOTIFY = "flash-notify";

/** Pulumi.dev.yaml plus flash-notify: services and flows replace the project's, as a stack file may. */
function writeNotifyStack(dir: string): string {
  const project = YAML.parse(fs.readFileSync("Pulumi.yaml", "utf8")) as {
    config: Record<string, { value: unknown }>;
  };
  const stack = YAML.parse(fs.readFileSync("Pulumi.dev.yaml", "utf8")) as {
    config: Record<string, unknown> & { "flash-netpol:rollout": { services: Record<string, unknown> } };
  };
  stack.config["flash-netpol:services"] = {
    ...(project.config["flash-netpol:services"].value as object),
    [NOTIFY]: { podLabels: { app: NOTIFY }, port: 9090 },
  };
  stack.config["flash-netpol:flows"] = [
    ...(project.config["flash-netpol:flows"].value as object[]),
    { from: NOTIFY, to: "mq", purpose: "consumes notification jobs (AMQPS)" },
    { from: NOTIFY, to: "dns", purpose: "name resolution" },
  ];
  stack.config["flash-netpol:rollout"].services[NOTIFY] = { ingress: "enforce", egress: "enforce" };
  const file = path.join(dir, "Pulumi.dev.yaml");
  fs.writeFileSync(file, YAML.stringify(stack));
  return file;
}

describe("extending: flash-notify added with YAML only @process", function () {
  let dir: string;
  let stackFile: string;
  let run: ProgramRun;
  const plan = (...args: string[]) =>
    runCli("cli/plan.ts", "--stack", "dev", "--config-file", stackFile, ...args);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "flash-notify-"));
    stackFile = writeNotifyStack(dir);
    run = await runStack({ stack: "dev", stackFile });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("the program renders flash-notify's two policies: nobody in, MQ and DNS out", () => {
    assert.equal(run.error, undefined, run.error?.message);
    const byName = new Map(
      networkPolicies(run).map((policy) => [policy.inputs.metadata.name, policy.inputs]),
    );
    const ingress = byName.get(`${NOTIFY}-ingress`);
    const egress = byName.get(`${NOTIFY}-egress`);
    assert.ok(ingress && egress, [...byName.keys()].join(", "));
    assert.deepEqual(ingress.spec.podSelector, { matchLabels: { app: NOTIFY } });
    assert.deepEqual(ingress.spec.policyTypes, ["Ingress"]);
    assert.deepEqual(ingress.spec.ingress, []);
    assert.deepEqual(egress.spec.policyTypes, ["Egress"]);
    const mqCidrs = (run.outputs.cidrs as { mq: string[] }).mq;
    const egressPorts = (egress.spec.egress ?? []).flatMap((rule) =>
      (rule.ports ?? []).map((port) => `${port.port}/${port.protocol}`),
    );
    assert.deepEqual(egressPorts.sort(), ["53/TCP", "53/UDP", "5671/TCP"]);
    const peers = (egress.spec.egress ?? []).flatMap((rule) => rule.to ?? []);
    for (const cidr of mqCidrs)
      assert.ok(
        peers.some((peer) => peer.ipBlock?.cidr === cidr),
        cidr,
      );
    // The default deny still comes last, after every allow, flash-notify's included.
    assert.equal((run.outputs.policyNames as string[]).at(-1), "default-deny-all");
  });

  it("the plan's matrix and proofs include it: 257 stages (2^8 + 1) proven, its flows allowed and intended", async () => {
    const { code, stdout, stderr } = await plan("--format", "json");
    assert.equal(code, 0, stderr);
    const json = JSON.parse(stdout) as {
      services: { name: string; port: number }[];
      matrix: {
        from: string;
        to: string;
        port: number;
        protocol: string;
        allowed: boolean;
        intended: boolean;
      }[];
      connectivity: { stagesProven: number; stages: number; targetExposures: number; targetOutages: number };
      policyViolations: PolicyVerdict[];
    };
    assert.ok(json.services.some((service) => service.name === NOTIFY && service.port === 9090));
    assert.deepEqual(json.connectivity.stages, 257);
    assert.equal(json.connectivity.stagesProven, 257);
    assert.equal(json.connectivity.targetExposures, 0);
    assert.equal(json.connectivity.targetOutages, 0);
    const cell = (from: string, to: string, port: number, protocol = "TCP") =>
      json.matrix.find(
        (row) => row.from === from && row.to === to && row.port === port && row.protocol === protocol,
      );
    const mqCell = cell(`flash-ticket/${NOTIFY}`, "mq", 5671);
    assert.deepEqual(
      { allowed: mqCell?.allowed, intended: mqCell?.intended },
      { allowed: true, intended: true },
    );
    assert.equal(cell(`flash-ticket/${NOTIFY}`, "kube-system/kube-dns", 53, "UDP")?.allowed, true);
    // Isolated: nothing reaches it, not even the gateway on its port; it reaches no other store.
    assert.equal(cell("flash-ticket/flash-gateway", `flash-ticket/${NOTIFY}`, 9090)?.allowed, false);
    assert.equal(cell(`flash-ticket/${NOTIFY}`, "redis", 6379)?.allowed, false);
    assert.equal(cell(`flash-ticket/${NOTIFY}`, "internet", 443)?.allowed, false);
    // The pack ran on the program's resources with the new stack config: nothing to report for it.
    assert.deepEqual(
      json.policyViolations.filter((verdict) => verdict.message.includes(NOTIFY)),
      [],
    );
  });

  it("the plan's mermaid drawing, summary and README tables show it", async () => {
    const mermaid = (await plan("--format", "mermaid", "--no-policy-pack")).stdout;
    const id = /(n\d+)\["flash-ticket\/flash-notify"\]/.exec(mermaid)?.[1];
    const mq = /(n\d+)\["mq"\]/.exec(mermaid)?.[1];
    assert.ok(id && mq, mermaid);
    assert.match(mermaid, new RegExp(`${id} -->\\|"5671/TCP"\\| ${mq}`));

    const summary = (await plan("--no-policy-pack")).stdout;
    assert.match(summary, /flash-notify\s+ingress enforce, egress enforce/);
    assert.match(summary, /E- flash-notify\s+-> mq\s+5671\/TCP\s+consumes notification jobs \(AMQPS\)/);

    const tables = (await plan("--format", "markdown", "--no-policy-pack")).stdout;
    const row = (first: string) =>
      tables
        .split("\n")
        .find((line) => line.startsWith(`| ${first} `))
        ?.split("|")
        .slice(1, -1)
        .map((cell) => cell.trim());
    assert.deepEqual(row(NOTIFY), [NOTIFY, "nobody", "mq 5671/TCP, dns 53/UDP+TCP"]);
    assert.deepEqual(row("`flash-notify-ingress`"), [
      "`flash-notify-ingress`",
      "`app=flash-notify`",
      "nothing (`ingress: []`)",
    ]);
    assert.deepEqual(row("`flash-notify-egress`"), [
      "`flash-notify-egress`",
      "`app=flash-notify`",
      "to mq subnets 5671/TCP, DNS 53/UDP+TCP",
    ]);
  });

  it("--explain answers for it: its MQ flow is intended and allowed, the gateway to it is denied", async () => {
    const allowed = await plan("--explain", `flash-ticket/${NOTIFY}`, "mq", "5671", "--no-policy-pack");
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stdout, /flash-ticket\/flash-notify-egress egress\[\d\]: to .* on 5671\/TCP/);
    assert.match(
      allowed.stdout,
      /intended: yes, by flash-notify -> mq \(consumes notification jobs \(AMQPS\)\)/,
    );
    const denied = await plan(
      "--explain",
      "flash-ticket/flash-gateway",
      `flash-ticket/${NOTIFY}`,
      "9090",
      "--no-policy-pack",
    );
    assert.match(denied.stdout, /ingress: denied \(isolated by flash-ticket\/flash-notify-ingress[,;]/);
    assert.match(denied.stdout, /intended: no/);
  });

  it("the pack treats it as isolated: an ingress rule on flash-notify is an isolated-workloads-no-ingress violation", async () => {
    const yaml = (await plan("--format", "yaml", "--no-policy-pack")).stdout;
    const documents = yaml
      .split(/^---$/m)
      .map((text) => YAML.parse(text) as { metadata: { name: string }; spec: Record<string, unknown> });
    const notifyIngress = documents.find((document) => document.metadata.name === `${NOTIFY}-ingress`);
    assert.ok(notifyIngress);
    notifyIngress.spec.ingress = [
      {
        from: [{ podSelector: { matchLabels: { app: "flash-api" } } }],
        ports: [{ port: 9090, protocol: "TCP" }],
      },
    ];
    const file = path.join(dir, "mutated.yaml");
    fs.writeFileSync(file, documents.map((document) => YAML.stringify(document)).join("---\n"));

    const withNotify = await runCli("cli/check.ts", file, "--stack", "dev", "--config-file", stackFile);
    const verdicts = JSON.parse(withNotify.stdout) as PolicyVerdict[];
    assert.deepEqual(
      verdicts
        .filter((verdict) => verdict.policy === "isolated-workloads-no-ingress")
        .map((verdict) => verdict.resource),
      [`NetworkPolicy flash-ticket/${NOTIFY}-ingress`],
    );
    // The same file under dev's own stack config (no flash-notify): the pack does not know it, so
    // the rule is silent: what is isolated comes from the stack's flow table, nothing else.
    const without = await runCli("cli/check.ts", file, "--stack", "dev");
    assert.deepEqual(
      (JSON.parse(without.stdout) as PolicyVerdict[]).filter(
        (verdict) => verdict.policy === "isolated-workloads-no-ingress",
      ),
      [],
    );
  });

  it("verify's probe plan (dry run) probes from it and to it", async () => {
    const stdout: string[] = [];
    const stderr: string[] = [];
    const code = await runVerify(
      ["--stack", "dev", "--config-file", stackFile, "--dry-run", "--format", "json"],
      {
        runnerFor: () => {
          throw new Error("a dry run runs nothing");
        },
        stdout: (text) => void stdout.push(text),
        stderr: (text) => void stderr.push(text),
        runId: "notify",
      },
    );
    assert.equal(code, 0, stderr.join(""));
    const probes = (
      JSON.parse(stdout.join("")) as {
        probes: {
          from: string;
          to: string;
          port: number;
          protocol: string;
          expected: string;
          intended: boolean;
        }[];
      }
    ).probes;
    const from = probes.filter((probe) => probe.from === NOTIFY);
    assert.deepEqual(
      from
        .filter((probe) => probe.intended)
        .map((probe) => `${probe.port}/${probe.protocol} ${probe.expected}`),
      ["5671/TCP allowed", "53/UDP allowed", "53/TCP allowed"],
    );
    assert.ok(from.filter((probe) => !probe.intended).every((probe) => probe.expected === "blocked"));
    const to = probes.filter((probe) => probe.to.startsWith(NOTIFY));
    assert.deepEqual([...new Set(to.map((probe) => probe.from))].sort(), [
      "flash-api",
      "flash-gateway",
      "flash-pay",
      "probe-pod",
      "probe-pod@default",
    ]);
    assert.ok(to.every((probe) => probe.expected === "blocked" && probe.port === 9090));
  });
});
