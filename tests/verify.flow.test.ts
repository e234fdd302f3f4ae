/**
 * The whole `npm run verify` flow against a simulated cluster (a fake kubectl behind the
 * CommandRunner interface), and the CLI end to end as a process. No real cluster is involved:
 * what a live EKS cluster answers is exactly what these tests cannot show.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  KubectlRunner,
  type CommandResult,
  type CommandRunner,
  type RunOptions,
} from "../verify/commandRunner";
import type { ProbePlan } from "../verify/probe";
import { probePlanForStack } from "../verify/stackPlan";
import { runVerify, EXIT_INTERRUPTED } from "../verify/verifyCommand";

const repoRoot = path.resolve(__dirname, "..");
const RUN_ID = "test01";

type Answer = "open" | "refused" | "timeout";

/** What the simulated network does with one connection from a source (plan source key). */
type Network = (source: string, target: string, port: number) => Answer;

function ok(stdout = ""): CommandResult {
  return { exitCode: 0, stdout, stderr: "", elapsedMs: 50, timedOut: false, aborted: false };
}

function failure(stderr: string, exitCode = 1, elapsedMs = 50): CommandResult {
  return { exitCode, stdout: "", stderr, elapsedMs, timedOut: false, aborted: false };
}

/** Which plan source a `kubectl exec` target is, as the fake cluster named its pods. */
function sourceOfTarget(target: string): string {
  const name = target.replace(/^(pod|deploy)\//, "");
  if (name === `netpol-probe-${RUN_ID}`) return "probe-pod";
  if (name === `netpol-probe-${RUN_ID}-other`) return "probe-pod@default";
  return name.replace(/-5c9d-abcde$/, "");
}

/**
 * A cluster that answers like kubectl against EKS: pods named `<service>-5c9d-abcde`, busybox
 * output relayed by kubectl exec, "command terminated with exit code N" on remote failures.
 */
class FakeCluster implements CommandRunner {
  readonly calls: string[][] = [];
  /** Return a result to override the normal answer of one call. */
  override: (args: readonly string[]) => CommandResult | undefined = () => undefined;
  onCall: (args: readonly string[], options: RunOptions) => void = () => undefined;

  constructor(private readonly network: Network) {}

  async run(args: readonly string[], options: RunOptions): Promise<CommandResult> {
    this.calls.push([...args]);
    this.onCall(args, options);
    if (options.signal?.aborted && args[0] === "exec") {
      return { exitCode: null, stdout: "", stderr: "", elapsedMs: 5, timedOut: false, aborted: true };
    }
    const overridden = this.override(args);
    if (overridden !== undefined) return overridden;
    const plain = args[0] === "--context" ? args.slice(2) : args;
    switch (plain[0]) {
      case "config":
        return ok("arn:aws:eks:ap-northeast-2:111122223333:cluster/flash-prod\n");
      case "get":
        if (plain[1] === "namespace") return ok(`namespace/${plain[2]}\n`);
        if (plain[1] === "pods")
          return ok(`${plain[plain.indexOf("-l") + 1].replace("app=", "")}-5c9d-abcde`);
        return ok("2026-11-26T21:40:00Z");
      case "debug":
        return ok("");
      case "run":
        return ok(`pod/${plain[1]} created\n`);
      case "wait":
        return ok(`${plain[4]} condition met\n`);
      case "delete":
        return ok(`pod "${plain[2]}" deleted\n`);
      case "exec":
        return this.exec(plain);
      default:
        return failure(`error: unknown command "${plain[0]}" for "kubectl"`);
    }
  }

  private exec(args: readonly string[]): CommandResult {
    const source = sourceOfTarget(args[3]);
    const command = args.slice(args.indexOf("--") + 1);
    if (command[0] === "nslookup") {
      const name = command[command.length - 1];
      return this.network(source, "dns", 53) === "timeout"
        ? {
            ...failure("command terminated with exit code 1\n", 1, 3100),
            stdout: ";; connection timed out; no servers could be reached\n\n",
          }
        : ok(`Server:\t\t169.254.20.10\nAddress:\t169.254.20.10:53\n\nName:\t${name}\nAddress: 172.20.0.1\n`);
    }
    const [host, port] = command.slice(-2);
    const where = `${host} (10.30.64.25:${port})`;
    switch (this.network(source, host, Number(port))) {
      case "open":
        return { ...ok(), stderr: `${where} open\nsent 0, rcvd 0\n` };
      case "refused":
        return failure(
          `nc: ${where}: Connection refused\nsent 0, rcvd 0\ncommand terminated with exit code 1\n`,
        );
      case "timeout":
        return failure(
          `nc: ${where}: Connection timed out\nsent 0, rcvd 0\ncommand terminated with exit code 1\n`,
          1,
          3100,
        );
    }
  }

  commandsOf(verb: string): string[][] {
    return this.calls.filter((call) => call[0] === verb);
  }
}

/** A cluster whose policies do exactly what the plan expects; refusals stand in for closed ports. */
function enforcingAsPlanned(plan: ProbePlan): Network {
  return (source, target, port) => {
    const probe = plan.probes.find(
      (candidate) =>
        candidate.sourceKey === source &&
        (target === "dns"
          ? candidate.check.kind === "dns"
          : candidate.to === target && candidate.port === port),
    );
    assert.ok(probe, `the fake cluster was asked about an unplanned probe ${source} -> ${target}:${port}`);
    if (probe.expected === "blocked") return "timeout";
    // The metadata service and the internet answer the SYN with a reset here: still "allowed".
    return port === 80 || port === 443 ? "refused" : "open";
  };
}

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

const planOptions = { paymentHost: "https://api.stripe.com", otherNamespace: "default" };

describe("verify: the live flow against a simulated cluster", function () {
  let prodPlan: ProbePlan;
  let devPlan: ProbePlan;

  before(async () => {
    prodPlan = await probePlanForStack("prod", path.join(repoRoot, "Pulumi.prod.yaml"), planOptions);
    devPlan = await probePlanForStack("dev", path.join(repoRoot, "Pulumi.dev.yaml"), planOptions);
  });

  it("a cluster that enforces the plan: every probe matches, exit 0, probe pods deleted last", async () => {
    const cluster = new FakeCluster(enforcingAsPlanned(prodPlan));
    const { code, stdout } = await verify(["--stack", "prod"], cluster);
    assert.match(stdout, /38 match, 0 mismatch, 0 could not probe/);
    assert.equal(code, 0);
    // debug method: one ephemeral container per service pod, then exec into it.
    assert.deepEqual(
      cluster.commandsOf("debug").map((call) => call[3]),
      ["pod/flash-gateway-5c9d-abcde", "pod/flash-api-5c9d-abcde", "pod/flash-pay-5c9d-abcde"],
    );
    assert.equal(cluster.commandsOf("exec").length, 38);
    assert.ok(cluster.commandsOf("exec").every((call) => !call.includes("sh") && !call.includes("-c sh")));
    assert.deepEqual(cluster.calls.slice(-2), [
      ["delete", "pod", "netpol-probe-test01", "-n", "flash-ticket", "--ignore-not-found", "--wait=false"],
      ["delete", "pod", "netpol-probe-test01-other", "-n", "default", "--ignore-not-found", "--wait=false"],
    ]);
  });

  it("a CNI that does not enforce (everything gets through): every blocked probe mismatches, exit 1", async () => {
    const cluster = new FakeCluster(() => "open");
    const { code, stdout } = await verify(["--stack", "dev", "--format", "json"], cluster);
    assert.equal(code, 1);
    const rows = JSON.parse(stdout) as { from: string; expected: string; observed: string; match: boolean }[];
    assert.equal(rows.length, 38);
    assert.ok(rows.every((row) => row.observed === "allowed"));
    const mismatched = rows.filter((row) => !row.match);
    assert.equal(mismatched.length, devPlan.probes.filter((probe) => probe.expected === "blocked").length);
    assert.equal(mismatched.length, 24);
    assert.ok(mismatched.every((row) => row.expected === "blocked"));
  });

  it("an intended flow cut in the cluster is a mismatch too", async () => {
    const planned = enforcingAsPlanned(prodPlan);
    const cluster = new FakeCluster((source, target, port) =>
      source === "flash-gateway" && port === 4000 ? "timeout" : planned(source, target, port),
    );
    const { code, stdout } = await verify(["--stack", "prod"], cluster);
    assert.equal(code, 1);
    assert.match(
      stdout,
      /MISMATCH flash-gateway -> flash-api\.flash-ticket\.svc\.cluster\.local:4000 was expected allowed/,
    );
  });

  it("no kubectl context: exit 2 with the fix, nothing created", async () => {
    const cluster = new FakeCluster(() => "open");
    cluster.override = (args) =>
      args[0] === "config" ? failure("error: current-context is not set\n") : undefined;
    const { code, stderr, stdout } = await verify(["--stack", "prod"], cluster);
    assert.equal(code, 2);
    assert.equal(stdout, "");
    assert.match(stderr, /no kubectl context \(error: current-context is not set\)/);
    assert.match(stderr, /aws eks update-kubeconfig --name flash-prod --region ap-northeast-2/);
    assert.deepEqual(cluster.calls, [["config", "current-context"]]);
  });

  it("--context skips the current-context check and goes on every call", async () => {
    const cluster = new FakeCluster(enforcingAsPlanned(prodPlan));
    const { code } = await verify(["--stack", "prod", "--context", "flash-prod"], cluster);
    assert.equal(code, 0);
    assert.ok(cluster.calls.every((call) => call[0] === "--context" && call[1] === "flash-prod"));
  });

  it("RBAC forbids ephemeral containers: the service probes could not run (not blocked), the rest still do, exit 2", async () => {
    const cluster = new FakeCluster(enforcingAsPlanned(prodPlan));
    cluster.override = (args) =>
      args[0] === "debug"
        ? failure(
            `Error from server (Forbidden): pods "${args[3].slice(4)}" is forbidden: User "dev" cannot patch resource "pods/ephemeralcontainers" in API group "" in the namespace "flash-ticket"\n`,
          )
        : undefined;
    const { code, stdout } = await verify(["--stack", "prod", "--format", "json"], cluster);
    assert.equal(code, 2);
    const rows = JSON.parse(stdout) as { from: string; observed: string }[];
    const fromServices = rows.filter((row) => row.from.startsWith("flash-"));
    assert.equal(fromServices.length, 27);
    assert.ok(fromServices.every((row) => row.observed === "could not probe"));
    assert.ok(
      rows
        .filter((row) => row.from.startsWith("probe-pod"))
        .every((row) => row.observed !== "could not probe"),
    );
    assert.equal(cluster.commandsOf("delete").length, 2);
  });

  it("a probe pod PodSecurity refuses: its probes could not run, and its deletion is still attempted", async () => {
    const cluster = new FakeCluster(enforcingAsPlanned(prodPlan));
    cluster.override = (args) =>
      args[0] === "run" && args[3] === "default"
        ? failure(
            'Error from server (Forbidden): pods "netpol-probe-test01-other" is forbidden: violates PodSecurity "restricted:latest"\n',
          )
        : undefined;
    const { code, stdout } = await verify(["--stack", "prod"], cluster);
    assert.equal(code, 2);
    assert.match(stdout, /35 match, 0 mismatch, 3 could not probe/);
    assert.match(stdout, /creating probe pod default\/netpol-probe-test01-other: .*PodSecurity/);
    assert.equal(cluster.commandsOf("delete").length, 2);
  });

  it("exec method: no ephemeral containers, probes exec into the Deployments", async () => {
    const cluster = new FakeCluster(enforcingAsPlanned(prodPlan));
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
    const cluster = new FakeCluster(enforcingAsPlanned(prodPlan));
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
  });

  it("an unexpected error while probing still deletes the probe pods", async () => {
    const cluster = new FakeCluster(enforcingAsPlanned(prodPlan));
    cluster.onCall = (args) => {
      if (args[0] === "exec" && cluster.commandsOf("exec").length === 3) throw new Error("runner bug");
    };
    await assert.rejects(verify(["--stack", "prod"], cluster), /runner bug/);
    assert.equal(cluster.commandsOf("delete").length, 2);
  });

  it("usage errors exit 2: unknown stack, bad method, kube-system as the other namespace", async () => {
    const cluster = new FakeCluster(() => "open");
    assert.equal((await verify(["--stack", "staging"], cluster)).code, 2);
    assert.equal((await verify(["--stack", "prod", "--method", "ssh"], cluster)).code, 2);
    assert.equal((await verify(["--stack", "prod", "--other-namespace", "kube-system"], cluster)).code, 2);
    assert.equal((await verify(["--stack", "prod", "--probe-timeout", "0"], cluster)).code, 2);
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

describe("verify: CLI as a process", function () {
  // Each run starts ts-node and the program under mocks.

  function runCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
    const result = spawnSync(
      process.execPath,
      ["-r", "ts-node/register/transpile-only", path.join(repoRoot, "cli/verify.ts"), ...args],
      { cwd: repoRoot, encoding: "utf8" },
    );
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  it("--dry-run --stack prod prints the plan and the exact kubectl commands, runs nothing, exit 0", () => {
    // A kubectl that must never be called: it would leave a marker.
    const { status, stdout, stderr } = runCli([
      "--dry-run",
      "--stack",
      "prod",
      "--kubectl",
      "/nonexistent/kubectl",
    ]);
    assert.equal(stderr, "");
    assert.equal(status, 0);
    assert.match(stdout, /^Probe plan of stack prod: 38 probes, 20 expected allowed, 18 expected blocked$/m);
    const lines = stdout.split("\n");
    assert.equal(lines.filter((line) => line.startsWith("kubectl exec ")).length, 38);
    assert.equal(lines.filter((line) => line.startsWith("kubectl delete pod ")).length, 2);
    assert.ok(
      lines.some((line) =>
        /^kubectl debug -n flash-ticket 'pod\/<flash-api-pod>' --image=busybox:1\.36 /.test(line),
      ),
    );
    assert.ok(lines.some((line) => line.endsWith("-- nc -z -v -v -w 3 169.254.169.254 80")));
  });

  it("--dry-run --format json gives each probe with its argument vector", () => {
    const { status, stdout } = runCli([
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
    assert.equal(plan.probes.length, 35);
    assert.ok(plan.probes.every((probe) => probe.command[0] === "kubectl" && probe.command[1] === "exec"));
    assert.equal(plan.cleanup.length, 1);
  });

  it("live run with a kubectl that has no context: exit 2 and the fix", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "verify-kubectl-"));
    const fakeKubectl = path.join(dir, "kubectl");
    writeFileSync(fakeKubectl, "#!/bin/sh\necho 'error: current-context is not set' >&2\nexit 1\n");
    chmodSync(fakeKubectl, 0o755);
    const { status, stderr } = runCli(["--stack", "prod", "--kubectl", fakeKubectl]);
    assert.equal(status, 2);
    assert.match(
      stderr,
      /no kubectl context .* Fix: aws eks update-kubeconfig --name flash-prod --region ap-northeast-2/,
    );
  });

  it("live run without kubectl installed: exit 2 and how to fix it", () => {
    const { status, stderr } = runCli(["--stack", "prod", "--kubectl", "/nonexistent/kubectl"]);
    assert.equal(status, 2);
    assert.match(stderr, /kubectl not found: install kubectl or pass --kubectl <path>/);
  });
});
