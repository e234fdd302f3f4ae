/**
 * `npm run verify` against the simulated EKS cluster of tests/support/simulatedCluster.ts, one test
 * per defect of issue 13. The policies' answers below are written by hand from the flow table and
 * each stack's rollout stage (docs/rollout.md), not taken from the planner.
 */
import * as assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import path from "node:path";
import { parseStackConfig } from "../../components/configValidation";
import { ConfigError } from "../../core/configError";
import { readStackConfig } from "../../offline/stackConfig";
import type { CommandResult, RunOptions } from "../../verify/commandRunner";
import { installInterruptHandler } from "../../verify/interrupt";
import { describeKubectlFailure, interpretProbe } from "../../verify/probeOutput";
import { runVerify } from "../../verify/verifyCommand";
import { SimulatedCluster, type SimulatedClusterOptions } from "../support/simulatedCluster";
import { policiesOf } from "../support/stackPolicies";

const repoRoot = path.resolve(__dirname, "..", "..");
const RUN_ID = "run042";

interface Row {
  from: string;
  to: string;
  port: number;
  expected: string;
  observed: string;
  match: boolean;
}

async function verify(
  argv: string[],
  cluster: SimulatedCluster,
  extra: { signal?: AbortSignal; enforcementTimeoutSeconds?: number } = {},
) {
  let stdout = "";
  let stderr = "";
  const code = await runVerify(argv, {
    runnerFor: () => cluster,
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    runId: RUN_ID,
    pollIntervalMs: 1,
    ...extra,
  });
  return { code, stdout, stderr };
}

async function rowsOf(argv: string[], cluster: SimulatedCluster) {
  const result = await verify([...argv, "--format", "json"], cluster);
  return { ...result, rows: result.stdout === "" ? [] : (JSON.parse(result.stdout) as Row[]) };
}

function cluster(stack: "dev" | "prod", options: Partial<SimulatedClusterOptions> = {}) {
  return new SimulatedCluster({ stack, network: policiesOf(stack), ...options });
}

describe("verify on a simulated EKS cluster (issue 13)", function () {
  describe("1. targets: pod IPs on the container port, the ClusterIP on the Service's port", () => {
    it("prod's flash-api Service maps 80 -> 4000: both addresses are probed and the allowed flow matches", async () => {
      const sim = cluster("prod");
      const { rows, code } = await rowsOf(["--stack", "prod", "--method", "exec"], sim);
      const gatewayToApi = rows.filter((row) => row.from === "flash-gateway" && /flash-api/.test(row.to));
      assert.deepEqual(
        gatewayToApi.map((row) => [row.port, row.observed, row.match]),
        [
          [4000, "allowed", true],
          [80, "allowed", true],
        ],
      );
      assert.ok(gatewayToApi.some((row) => row.to.includes("10.30.17.64")));
      assert.ok(gatewayToApi.some((row) => row.to.includes("172.20.118.203")));
      assert.deepEqual(
        rows.filter((row) => !row.match),
        [],
      );
      assert.equal(code, 0);
    });

    it("a Service with no ready endpoint: kube-proxy's reject is 'could not probe', never 'allowed'", async () => {
      const sim = cluster("prod", { notReady: ["flash-api"] });
      const { rows } = await rowsOf(["--stack", "prod", "--method", "exec"], sim);
      const clusterIpRows = rows.filter((row) => row.to.includes("172.20.118.203"));
      assert.ok(clusterIpRows.length >= 2);
      assert.ok(clusterIpRows.every((row) => row.observed === "could not probe"));
    });
  });

  describe("2. the debug profile follows the namespace's PodSecurity level", () => {
    it("prod (restricted): no service probe is refused, and the output says which profile and why", async () => {
      const sim = cluster("prod");
      const { rows, stderr, code } = await rowsOf(["--stack", "prod"], sim);
      assert.equal(rows.filter((row) => row.observed === "could not probe").length, 0);
      assert.equal(code, 0);
      assert.match(
        stderr,
        /debug profile restricted: namespace flash-ticket enforces PodSecurity "restricted"/,
      );
      assert.ok(sim.commandsOf("debug").every((call) => call.includes("--profile=restricted")));
    });

    it("dev (baseline) uses the baseline profile", async () => {
      const sim = cluster("dev");
      const { code } = await rowsOf(["--stack", "dev"], sim);
      assert.equal(code, 0);
      assert.ok(sim.commandsOf("debug").every((call) => call.includes("--profile=baseline")));
    });

    it("an explicit --debug-profile general under restricted is refused before anything is created", async () => {
      const sim = cluster("prod");
      const { code, stderr } = await verify(["--stack", "prod", "--debug-profile", "general"], sim);
      assert.equal(code, 2);
      assert.match(stderr, /general adds SYS_PTRACE.*PodSecurity "restricted"/);
      assert.equal(sim.commandsOf("debug").length + sim.commandsOf("run").length, 0);
    });
  });

  it("3. probe pods are admitted under restricted in both namespaces", async () => {
    const sim = cluster("prod", { otherNamespaceLevel: "restricted" });
    const { rows } = await rowsOf(["--stack", "prod", "--method", "exec"], sim);
    const fromProbePods = rows.filter((row) => row.from.startsWith("probe-pod"));
    assert.ok(fromProbePods.length > 0);
    assert.ok(fromProbePods.every((row) => row.observed !== "could not probe"));
  });

  describe("4. the probe image", () => {
    it("--probe-image goes to every debug and run; an unpullable image fails fast with its waiting reason", async () => {
      const image = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/busybox:1.36.1";
      const sim = cluster("prod", { unpullable: () => true });
      const { rows, stdout } = await rowsOf(["--stack", "prod", "--probe-image", image], sim);
      assert.ok(
        [...sim.commandsOf("debug"), ...sim.commandsOf("run")].every((call) =>
          call.includes(`--image=${image}`),
        ),
      );
      assert.ok(
        rows.every((row) => row.observed === "could not probe"),
        stdout,
      );
      // One status read per source: the first shows ErrImagePull, nothing waits out a timeout.
      assert.ok(sim.commandsOf("get").filter((call) => call[1] === "pod").length <= 5);
      const text = await verify(
        ["--stack", "prod", "--probe-image", image],
        cluster("prod", { unpullable: () => true }),
      );
      assert.match(text.stdout, /ErrImagePull/);
    });

    it("the default image is pinned by digest; the stack config key overrides it", async () => {
      const dry = await verify(["--stack", "prod", "--dry-run", "--format", "json"], cluster("prod"));
      const plan = JSON.parse(dry.stdout) as { image: string };
      assert.match(plan.image, /^[^@]+@sha256:[0-9a-f]{64}$/);
    });

    it("probeImage in the stack config: a tag without a digest is refused with the key and the fix", () => {
      const values = {
        ...readStackConfig(path.join(repoRoot, "Pulumi.prod.yaml")),
        "flash-netpol:probeImage": "busybox:1.36",
      };
      assert.throws(
        () => parseStackConfig(values, "Pulumi.prod.yaml"),
        (error: Error) =>
          error instanceof ConfigError &&
          /flash-netpol:probeImage: got "busybox:1\.36"; expected an image pinned by digest/.test(
            error.message,
          ),
      );
    });
  });

  describe("5. waiting for enforcement of a new probe pod", () => {
    it("dev: the agent lists the probe pod late; probes wait for it instead of seeing allow-all", async () => {
      const sim = cluster("dev", { agentLagReads: 3 });
      const { rows, code } = await rowsOf(["--stack", "dev"], sim);
      assert.deepEqual(
        rows.filter((row) => !row.match),
        [],
      );
      assert.equal(code, 0);
      assert.ok(sim.commandsOf("get").some((call) => call[1] === "policyendpoints.networking.k8s.aws"));
    });

    it("the agent never lists it: its probes could not run, with a message naming the PolicyEndpoints", async () => {
      const sim = cluster("dev", { agentLagReads: Infinity });
      const { stdout } = await verify(["--stack", "dev"], sim, { enforcementTimeoutSeconds: 0.05 });
      assert.match(stdout, /probe-pod .*could not probe.*PolicyEndpoints/);
      assert.doesNotMatch(stdout, /MISMATCH probe-pod/);
    });
  });

  describe("6. cleanup", () => {
    it("the interrupt handler stays installed: a second SIGINT (npm and the shell both forward it) does not skip cleanup", () => {
      const processLike = new EventEmitter();
      const controller = installInterruptHandler(processLike, () => undefined);
      processLike.emit("SIGINT");
      processLike.emit("SIGINT");
      assert.equal(controller.signal.aborted, true);
      assert.equal(processLike.listenerCount("SIGINT"), 1);
    });

    it("probe pods wear the run's id and are deleted by that selector, with a 1 s grace period", async () => {
      const sim = cluster("prod");
      await verify(["--stack", "prod"], sim);
      const deletes = sim.commandsOf("delete");
      assert.ok(deletes.length >= 2);
      for (const call of deletes) {
        assert.ok(call.includes(`flash-netpol/probe-run=${RUN_ID}`), call.join(" "));
        assert.ok(call.includes("--grace-period=1"));
      }
      assert.equal(sim.probePods().length, 0);
    });

    it("--cleanup sweeps probe pods of earlier runs in both namespaces and probes nothing", async () => {
      const sim = cluster("prod");
      for (const namespace of ["flash-ticket", "default"]) {
        sim.pods.push({
          metadata: {
            name: `netpol-probe-old-${namespace}`,
            namespace,
            labels: { "flash-netpol/probe": "true" },
          },
          spec: { containers: [] },
          status: { phase: "Running" },
        });
      }
      const { code } = await verify(["--stack", "prod", "--cleanup"], sim);
      assert.equal(code, 0);
      assert.equal(sim.probePods().length, 0);
      assert.equal(sim.commandsOf("exec").length + sim.commandsOf("run").length, 0);
    });
  });

  it("7. kubectl gets the probe's wait plus a margin that --probe-timeout scales", async () => {
    const deadlines = async (probeTimeout: number) => {
      const sim = cluster("prod");
      const seen: { args: readonly string[]; options: RunOptions }[] = [];
      sim.onCall = (args, options) => seen.push({ args, options });
      await verify(["--stack", "prod", "--method", "exec", "--probe-timeout", String(probeTimeout)], sim);
      const exec = seen.find(({ args }) => args[0] === "exec" && args.includes("nc"));
      assert.ok(exec);
      const wait = Number(exec.args[exec.args.indexOf("-w") + 1]);
      return { wait, margin: exec.options.timeoutMs / 1000 - wait };
    };
    const short = await deadlines(3);
    const long = await deadlines(20);
    assert.equal(short.wait, 3);
    assert.ok(short.margin >= 10, `margin ${short.margin} s`);
    assert.ok(long.margin > short.margin);
  });

  describe("8. small ones", () => {
    it("no Running pod of a service: 'no Running pod', not kubectl's jsonpath index error", async () => {
      const sim = cluster("prod", { withoutPodsOf: ["flash-pay"] });
      const { stdout } = await verify(["--stack", "prod"], sim);
      assert.match(stdout, /no Running pod with labels app=flash-pay/);
      assert.doesNotMatch(stdout, /array index out of bounds/);
    });

    it("the simulated kubectl reproduces the index error of {.items[0]} over an empty list", async () => {
      const sim = cluster("prod", { withoutPodsOf: ["flash-pay"] });
      const result = await sim.run(
        [
          "get",
          "pods",
          "-n",
          "flash-ticket",
          "-l",
          "app=flash-pay",
          "-o",
          "jsonpath={.items[0].metadata.name}",
        ],
        { timeoutMs: 1000 },
      );
      assert.equal(result.exitCode, 1);
      assert.match(
        result.stderr,
        /^error: error executing jsonpath "\{\.items\[0\]\.metadata\.name\}": Error executing template: array index out of bounds: index 0, length 0\./,
      );
    });

    it("a PodSecurity refusal is reported as PodSecurity, not RBAC", () => {
      const refused: CommandResult = {
        exitCode: 1,
        stdout: "",
        stderr:
          'Error from server (Forbidden): pods "netpol-probe-x" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "netpol-probe-x" must set securityContext.allowPrivilegeEscalation=false)\n',
        elapsedMs: 40,
        timedOut: false,
        aborted: false,
      };
      const message = describeKubectlFailure(refused);
      assert.doesNotMatch(message, /RBAC/);
      assert.match(message, /PodSecurity admission/);
    });

    it("containerd's missing-binary error (no remote exit code) still gives the --method debug hint", () => {
      const observation = interpretProbe(
        { kind: "tcp", host: "10.30.17.64", port: 4000 },
        {
          exitCode: 1,
          stdout: "",
          stderr:
            'error: Internal error occurred: Internal error occurred: error executing command in container: failed to exec in container: failed to start exec "4b1e": OCI runtime exec failed: exec failed: unable to start container process: exec: "nc": executable file not found in $PATH: unknown\n',
          elapsedMs: 300,
          timedOut: false,
          aborted: false,
        },
        3,
      );
      assert.equal(observation.kind, "could-not-probe");
      assert.match(observation.detail, /use --method debug/);
    });
  });
});
