/** The kubectl argument vectors of live verification: exact, and never a shell string. */
import * as assert from "node:assert/strict";
import {
  checkCommand,
  debugContainerArgs,
  deletePodsArgs,
  execArgs,
  execTargetOf,
  namespaceArgs,
  renderCommand,
  podArgs,
  podsArgs,
  runProbePodArgs,
  withContext,
  type KubectlSettings,
} from "../../verify/kubectl";
import type { ProbeSource } from "../../verify/probe";

const SETTINGS: KubectlSettings = {
  image: "busybox:1.36",
  method: "debug",
  debugProfile: "general",
  containers: {},
  runId: "a1b2c3",
  connectWaitSeconds: 3,
  sleepSeconds: 360,
};

const API: Extract<ProbeSource, { kind: "service" }> = {
  kind: "service",
  key: "flash-api",
  service: "flash-api",
  namespace: "flash-ticket",
  deployment: "flash-api",
  selector: "app=flash-api",
};

const STRAY: Extract<ProbeSource, { kind: "probePod" }> = {
  kind: "probePod",
  key: "probe-pod",
  role: "unlabelled",
  namespace: "flash-ticket",
  labels: { "flash-netpol/probe": "true" },
  selectedBy: [],
};

const LOOKALIKE: Extract<ProbeSource, { kind: "probePod" }> = {
  kind: "probePod",
  key: "probe-pod@default",
  role: "other-namespace",
  namespace: "default",
  labels: { app: "flash-api", "k8s-app": "kube-dns", "flash-netpol/probe": "true" },
  selectedBy: [],
};

describe("verify: kubectl argument vectors", () => {
  it("the TCP check: a handshake only, verbose twice so busybox prints refusals", () => {
    assert.deepEqual(
      checkCommand({ kind: "tcp", host: "flash-api.flash-ticket.svc.cluster.local", port: 4000 }, 3),
      ["nc", "-z", "-v", "-v", "-w", "3", "flash-api.flash-ticket.svc.cluster.local", "4000"],
    );
  });

  it("the DNS check resolves through the pod's own resolver with a timeout", () => {
    assert.deepEqual(checkCommand({ kind: "dns", name: "kubernetes.default.svc.cluster.local" }, 3), [
      "nslookup",
      "-timeout=3",
      "-retry=1",
      "kubernetes.default.svc.cluster.local",
    ]);
  });

  it("debug method: an ephemeral busybox container in the service pod, probed by exec into it", () => {
    // JSON, never a {.items[0]} jsonpath: that fails with an index error when no pod matches.
    assert.deepEqual(podsArgs("flash-ticket"), ["get", "pods", "-n", "flash-ticket", "-o", "json"]);
    assert.deepEqual(debugContainerArgs(SETTINGS, API, "flash-api-7d9f-x2x"), [
      "debug",
      "-n",
      "flash-ticket",
      "pod/flash-api-7d9f-x2x",
      "--image=busybox:1.36",
      "--container=netpol-probe-a1b2c3",
      "--profile=general",
      "--",
      "sleep",
      "360",
    ]);
    assert.deepEqual(podArgs("flash-ticket", "flash-api-7d9f-x2x"), [
      "get",
      "pod",
      "flash-api-7d9f-x2x",
      "-n",
      "flash-ticket",
      "-o",
      "json",
    ]);
    const target = execTargetOf(SETTINGS, API, "flash-api-7d9f-x2x");
    assert.deepEqual(execArgs(target, ["nc", "-z", "host", "1"]), [
      "exec",
      "-n",
      "flash-ticket",
      "pod/flash-api-7d9f-x2x",
      "-c",
      "netpol-probe-a1b2c3",
      "--",
      "nc",
      "-z",
      "host",
      "1",
    ]);
  });

  it("debug method with a named app container targets it for the process namespace", () => {
    const settings = { ...SETTINGS, containers: { "flash-api": "api" } };
    assert.ok(debugContainerArgs(settings, API, "p").includes("--target=api"));
  });

  it("exec method: straight into the Deployment, with the app container when given", () => {
    const settings: KubectlSettings = { ...SETTINGS, method: "exec", containers: { "flash-api": "api" } };
    assert.deepEqual(execArgs(execTargetOf(settings, API, undefined), ["nc"]), [
      "exec",
      "-n",
      "flash-ticket",
      "deploy/flash-api",
      "-c",
      "api",
      "--",
      "nc",
    ]);
    assert.deepEqual(execArgs(execTargetOf({ ...settings, containers: {} }, API, undefined), ["nc"]), [
      "exec",
      "-n",
      "flash-ticket",
      "deploy/flash-api",
      "--",
      "nc",
    ]);
  });

  it("probe pods: restricted-compliant, labelled with the run, deleted by that label without waiting", () => {
    const args = runProbePodArgs(SETTINGS, STRAY);
    assert.deepEqual(args.slice(0, 7), [
      "run",
      "netpol-probe-a1b2c3",
      "-n",
      "flash-ticket",
      "--image=busybox:1.36",
      "--restart=Never",
      "--labels=flash-netpol/probe=true,flash-netpol/probe-run=a1b2c3",
    ]);
    assert.deepEqual(args.slice(-4), ["--command", "--", "sleep", "360"]);
    const overrides = JSON.parse(args[7].replace(/^--overrides=/, "")) as {
      spec: {
        securityContext: Record<string, unknown>;
        containers: { securityContext: Record<string, unknown>; command: string[] }[];
      };
    };
    assert.deepEqual(overrides.spec.securityContext, {
      runAsNonRoot: true,
      runAsUser: 65534,
      runAsGroup: 65534,
      seccompProfile: { type: "RuntimeDefault" },
    });
    assert.deepEqual(overrides.spec.containers[0].securityContext, {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
    });
    assert.deepEqual(overrides.spec.containers[0].command, ["sleep", "360"]);
    assert.ok(
      runProbePodArgs(SETTINGS, LOOKALIKE)[6].startsWith(
        "--labels=app=flash-api,k8s-app=kube-dns,flash-netpol/probe=true,",
      ),
    );
    assert.deepEqual(execTargetOf(SETTINGS, STRAY, undefined), {
      namespace: "flash-ticket",
      target: "pod/netpol-probe-a1b2c3",
    });
    assert.deepEqual(deletePodsArgs("default", "flash-netpol/probe-run=a1b2c3"), [
      "delete",
      "pods",
      "-n",
      "default",
      "-l",
      "flash-netpol/probe-run=a1b2c3",
      "--ignore-not-found",
      "--wait=false",
      "--grace-period=1",
    ]);
  });

  it("a context flag goes first on every call; without one the current context is used", () => {
    assert.deepEqual(withContext({ context: "flash-prod" }, namespaceArgs("flash-ticket")), [
      "--context",
      "flash-prod",
      "get",
      "namespace",
      "flash-ticket",
      "-o",
      "json",
    ]);
    assert.deepEqual(withContext({}, ["config", "current-context"]), ["config", "current-context"]);
  });

  it("a hostile value stays one argument: no element is ever split or interpreted", () => {
    const host = "x; rm -rf / #";
    const args = execArgs(
      execTargetOf(SETTINGS, STRAY, undefined),
      checkCommand({ kind: "tcp", host, port: 1 }, 3),
    );
    assert.equal(args.filter((arg) => arg === host).length, 1);
    // Rendering for display quotes it, so a copied command means the same.
    assert.match(renderCommand(args), /'x; rm -rf \/ #'/);
  });
});
