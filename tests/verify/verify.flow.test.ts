/**
 * The whole `npm run verify` flow against a simulated cluster (a fake kubectl behind the
 * CommandRunner interface), and the CLI end to end as a process. No real cluster is involved:
 * what a live EKS cluster answers is exactly what these tests cannot show.
 */
import * as assert from "node:assert/strict";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { KubectlRunner, type CommandRunner } from "../../verify/commandRunner";
import { runVerify, EXIT_INTERRUPTED } from "../../verify/verifyCommand";
import { SimulatedCluster } from "../support/simulatedCluster";
import { policiesOf } from "../support/stackPolicies";
import { runCli, spawnCli } from "../support/runCli";

const RUN_ID = "test01";

interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

async function verify(argv: string[], cluster: CommandRunner, signal?: AbortSignal): Promise<Captured> {
  let stdout = "";
  let stderr = "";
  const code = await runVerify(argv, {
    runnerFor: () => cluster,
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    signal,
    runId: RUN_ID,
    pollIntervalMs: 1,
  });
  return { code, stdout, stderr };
}

const simulated = (stack: "dev" | "prod") => new SimulatedCluster({ stack, network: policiesOf(stack) });

describe("verify: the live flow against a simulated cluster", function () {
  it("a cluster that enforces the plan: every probe matches, exit 0, probe pods deleted last", async () => {
    const cluster = simulated("prod");
    const { code, stdout } = await verify(["--stack", "prod"], cluster);
    // 38 logical probes; the 8 aimed at flash-gateway or flash-api gain a ClusterIP probe (flash-pay has no Service).
    assert.match(stdout, /46 match, 0 mismatch, 0 could not probe/);
    assert.equal(code, 0);
    assert.deepEqual(
      cluster.commandsOf("debug").map((call) => call[3]),
      ["pod/flash-gateway-7d9c6b5f4-x2k9p", "pod/flash-api-5b8f7c9d6-x2k9p", "pod/flash-pay-6c4d8b7f9-q5w8e"],
    );
    assert.equal(cluster.commandsOf("exec").length, 46);
    assert.deepEqual(
      cluster.calls.slice(-2).map((call) => [call[0], call[3]]),
      [
        ["delete", "flash-ticket"],
        ["delete", "default"],
      ],
    );
  });

  it("a CNI that does not enforce (everything gets through): every blocked probe mismatches, exit 1", async () => {
    const cluster = new SimulatedCluster({ stack: "dev", network: () => "open" });
    const { code, stdout } = await verify(["--stack", "dev", "--format", "json"], cluster);
    assert.equal(code, 1);
    const rows = JSON.parse(stdout) as { from: string; expected: string; observed: string; match: boolean }[];
    assert.ok(rows.every((row) => row.observed === "allowed"));
    const mismatched = rows.filter((row) => !row.match);
    assert.ok(mismatched.length > 0);
    assert.ok(mismatched.every((row) => row.expected === "blocked"));
    assert.equal(mismatched.length, rows.filter((row) => row.expected === "blocked").length);
  });

  it("an intended flow cut in the cluster is a mismatch too", async () => {
    const planned = policiesOf("prod");
    const cluster = new SimulatedCluster({
      stack: "prod",
      network: (source, destination, port) =>
        source === "flash-gateway" && destination.kind === "pod" && destination.service === "flash-api"
          ? "timeout"
          : planned(source, destination, port),
    });
    const { code, stdout } = await verify(["--stack", "prod"], cluster);
    assert.equal(code, 1);
    assert.match(stdout, /MISMATCH flash-gateway -> flash-api pod 10\.30\.17\.64:4000 was expected allowed/);
  });

  it("no kubectl context: exit 2 with the fix, nothing created", async () => {
    const cluster = simulated("prod");
    cluster.override = (args) =>
      args[0] === "config"
        ? {
            exitCode: 1,
            stdout: "",
            stderr: "error: current-context is not set\n",
            elapsedMs: 5,
            timedOut: false,
            aborted: false,
          }
        : undefined;
    const { code, stderr, stdout } = await verify(["--stack", "prod"], cluster);
    assert.equal(code, 2);
    assert.equal(stdout, "");
    assert.match(stderr, /no kubectl context \(error: current-context is not set\)/);
    assert.match(stderr, /aws eks update-kubeconfig --name flash-prod --region ap-northeast-2/);
    assert.deepEqual(cluster.calls, [["config", "current-context"]]);
  });

  it("--context skips the current-context check and goes on every call", async () => {
    const cluster = simulated("prod");
    const { code } = await verify(["--stack", "prod", "--context", "flash-prod"], cluster);
    assert.equal(code, 0);
    assert.ok(cluster.calls.every((call) => call[0] === "--context" && call[1] === "flash-prod"));
  });

  it("RBAC forbids ephemeral containers: the service probes could not run (not blocked), the rest still do, exit 2", async () => {
    const cluster = simulated("prod");
    cluster.override = (args) =>
      args[0] === "debug"
        ? {
            exitCode: 1,
            stdout: "",
            stderr: `Error from server (Forbidden): pods "${args[3].slice(4)}" is forbidden: User "dev" cannot patch resource "pods/ephemeralcontainers" in API group "" in the namespace "flash-ticket"\n`,
            elapsedMs: 5,
            timedOut: false,
            aborted: false,
          }
        : undefined;
    const { code, stdout } = await verify(["--stack", "prod", "--format", "json"], cluster);
    assert.equal(code, 2);
    const rows = JSON.parse(stdout) as { from: string; observed: string }[];
    const fromServices = rows.filter((row) => row.from.startsWith("flash-"));
    assert.ok(fromServices.length > 0);
    assert.ok(fromServices.every((row) => row.observed === "could not probe"));
    assert.ok(
      rows
        .filter((row) => row.from.startsWith("probe-pod"))
        .every((row) => row.observed !== "could not probe"),
    );
    assert.equal(cluster.commandsOf("delete").length, 2);
  });

  it("exec method: no ephemeral containers, probes exec into the Deployments", async () => {
    const cluster = simulated("prod");
    const { code } = await verify(
      ["--stack", "prod", "--method", "exec", "--container", "flash-api=api"],
      cluster,
    );
    assert.equal(code, 0);
    assert.equal(cluster.commandsOf("debug").length, 0);
    const targets = new Set(cluster.commandsOf("exec").map((call) => call.slice(3, 6).join(" ")));
    assert.ok(targets.has("deploy/flash-api -c api"));
    assert.ok(targets.has("deploy/flash-gateway -- nc"));
  });

  it("Ctrl-C mid-run: the remaining probes are not run, the probe pods are deleted, exit 130", async () => {
    const interrupt = new AbortController();
    const cluster = simulated("prod");
    cluster.onCall = (args) => {
      if (args[0] === "exec" && cluster.commandsOf("exec").length === 5) interrupt.abort();
    };
    const { code, stdout } = await verify(["--stack", "prod"], cluster, interrupt.signal);
    assert.equal(code, EXIT_INTERRUPTED);
    assert.match(stdout, /could not probe\s+interrupted/);
    assert.equal(cluster.commandsOf("exec").length, 5);
    assert.deepEqual(
      cluster.calls.slice(-2).map((call) => call[0]),
      ["delete", "delete"],
    );
    assert.equal(cluster.probePods().length, 0);
  });

  it("an unexpected error while probing still deletes the probe pods", async () => {
    const cluster = simulated("prod");
    cluster.onCall = (args) => {
      if (args[0] === "exec" && cluster.commandsOf("exec").length === 3) throw new Error("runner bug");
    };
    await assert.rejects(verify(["--stack", "prod"], cluster), /runner bug/);
    assert.equal(cluster.commandsOf("delete").length, 2);
    assert.equal(cluster.probePods().length, 0);
  });

  it("usage errors exit 2: unknown stack, bad method, kube-system as the other namespace", async () => {
    const cluster = simulated("prod");
    assert.equal((await verify(["--stack", "staging"], cluster)).code, 2);
    assert.equal((await verify(["--stack", "prod", "--method", "ssh"], cluster)).code, 2);
    assert.equal((await verify(["--stack", "prod", "--other-namespace", "kube-system"], cluster)).code, 2);
    assert.equal((await verify(["--stack", "prod", "--probe-timeout", "0"], cluster)).code, 2);
    assert.equal((await verify(["--stack", "prod", "--debug-profile", "root"], cluster)).code, 2);
    assert.deepEqual(cluster.calls, []);
  });
});

describe("verify: kubectl runner", () => {
  it("kills a command at its deadline and says so", async () => {
    const result = await new KubectlRunner("sleep").run(["10"], { timeoutMs: 200 });
    assert.equal(result.timedOut, true);
    assert.equal(result.exitCode, null);
  });

  it("reports a missing binary as a start error, not as an exit code", async () => {
    const result = await new KubectlRunner("/nonexistent/kubectl").run(["version"], { timeoutMs: 5000 });
    assert.equal(result.startError?.code, "ENOENT");
  });
});

describe("verify: the CLI @process", () => {
  /** `npm run verify -- ARGS` in this process; with spawn, as the child process npm starts. */
  async function verifyCli(
    args: string[],
    spawn = false,
  ): Promise<{ status: number; stdout: string; stderr: string }> {
    const result = spawn ? await spawnCli("cli/verify.ts", ...args) : await runCli("cli/verify.ts", ...args);
    return { status: result.code, stdout: result.stdout, stderr: result.stderr };
  }

  it("--dry-run --stack prod prints the plan and the exact kubectl commands, runs nothing, exit 0", async () => {
    // A kubectl that must never be called: it would leave a marker.
    const { status, stdout, stderr } = await verifyCli(
      ["--dry-run", "--stack", "prod", "--kubectl", "/nonexistent/kubectl"],
      true,
    );
    assert.equal(stderr, "");
    assert.equal(status, 0);
    assert.match(stdout, /^Probe plan of stack prod: 46 probes, 21 expected allowed, 25 expected blocked$/m);
    assert.match(
      stdout,
      /^Debug profile: restricted \(namespace flash-ticket enforces PodSecurity "restricted"/m,
    );
    const lines = stdout.split("\n");
    assert.equal(lines.filter((line) => line.startsWith("kubectl exec ")).length, 46);
    assert.equal(lines.filter((line) => line.startsWith("kubectl delete pods ")).length, 2);
    assert.ok(
      lines.some((line) =>
        /^kubectl debug -n flash-ticket 'pod\/<flash-api-pod>' --image=docker\.io\/library\/busybox:1\.36\.1@sha256:[0-9a-f]{64} .*--profile=restricted /.test(
          line,
        ),
      ),
    );
    assert.ok(lines.some((line) => line.endsWith("-- nc -z -v -v -w 3 169.254.169.254 80")));
    assert.ok(lines.some((line) => line.endsWith("-- nc -z -v -v -w 3 172.20.118.203 80")));
  });

  it("--dry-run --format json gives each probe with its argument vector", async () => {
    const { status, stdout } = await verifyCli([
      "--dry-run",
      "--stack",
      "dev",
      "--format",
      "json",
      "--no-other-namespace",
    ]);
    assert.equal(status, 0);
    const plan = JSON.parse(stdout) as {
      probes: { expected: string; command: string[] }[];
      cleanup: string[][];
    };
    assert.equal(plan.probes.length, 41);
    assert.ok(plan.probes.every((probe) => probe.command[0] === "kubectl" && probe.command[1] === "exec"));
    assert.equal(plan.cleanup.length, 1);
  });

  it("live run with a kubectl that has no context: exit 2 and the fix", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "verify-kubectl-"));
    const fakeKubectl = path.join(dir, "kubectl");
    writeFileSync(fakeKubectl, "#!/bin/sh\necho 'error: current-context is not set' >&2\nexit 1\n");
    chmodSync(fakeKubectl, 0o755);
    const { status, stderr } = await verifyCli(["--stack", "prod", "--kubectl", fakeKubectl]);
    assert.equal(status, 2);
    assert.match(
      stderr,
      /no kubectl context .* Fix: aws eks update-kubeconfig --name flash-prod --region ap-northeast-2/,
    );
  });

  it("live run without kubectl installed: exit 2 and how to fix it", async () => {
    const { status, stderr } = await verifyCli(["--stack", "prod", "--kubectl", "/nonexistent/kubectl"]);
    assert.equal(status, 2);
    assert.match(stderr, /kubectl not found: install kubectl or pass --kubectl <path>/);
  });
});
