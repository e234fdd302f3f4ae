/**
 * Reading one probe's result. The outputs are busybox 1.36's (nc built with NC_EXTRA, nslookup the
 * full version) as kubectl exec relays them, plus kubectl's own failures.
 */
import * as assert from "node:assert/strict";
import type { CommandResult } from "../../verify/commandRunner";
import type { ProbeCheck } from "../../verify/probe";
import { interpretProbe, verdictOf } from "../../verify/probeOutput";

const TCP: ProbeCheck = { kind: "tcp", host: "flash-api.flash-ticket.svc.cluster.local", port: 4000 };
const DNS: ProbeCheck = { kind: "dns", name: "kubernetes.default.svc.cluster.local" };
const WAIT = 3;

function result(partial: Partial<CommandResult>): CommandResult {
  return { exitCode: 0, stdout: "", stderr: "", elapsedMs: 400, timedOut: false, aborted: false, ...partial };
}

/** kubectl exec relays the tool's stderr, then adds its own line when the tool failed. */
function remoteFailure(toolOutput: string, code = 1, elapsedMs = 400): CommandResult {
  return result({
    exitCode: code,
    stderr: `${toolOutput}\ncommand terminated with exit code ${code}\n`,
    elapsedMs,
  });
}

describe("verify: reading nc results", () => {
  it("open: the handshake completed, allowed", () => {
    const observation = interpretProbe(
      TCP,
      result({
        stderr: "flash-api.flash-ticket.svc.cluster.local (172.20.14.3:4000) open\nsent 0, rcvd 0\n",
      }),
      WAIT,
    );
    assert.equal(observation.kind, "connected");
    assert.equal(verdictOf(observation), "allowed");
    assert.equal(observation.detail, "flash-api.flash-ticket.svc.cluster.local (172.20.14.3:4000) open");
  });

  it("refused: the destination answered with a reset, so the policy let the packet through: allowed", () => {
    const observation = interpretProbe(
      TCP,
      remoteFailure(
        "nc: flash-api.flash-ticket.svc.cluster.local (172.20.14.3:4000): Connection refused\nsent 0, rcvd 0",
      ),
      WAIT,
    );
    assert.equal(observation.kind, "refused");
    assert.equal(verdictOf(observation), "allowed");
  });

  it("timed out: dropped on the way, blocked (glibc and musl wordings)", () => {
    for (const message of ["Connection timed out", "Operation timed out"]) {
      const observation = interpretProbe(
        TCP,
        remoteFailure(`nc: flash-api.flash-ticket.svc.cluster.local (172.20.14.3:4000): ${message}`, 1, 3100),
        WAIT,
      );
      assert.equal(observation.kind, "timeout", message);
      assert.equal(verdictOf(observation), "blocked");
    }
  });

  it("a silent failure that lasted the whole wait is a timeout; a quick one is not understood", () => {
    assert.equal(interpretProbe(TCP, remoteFailure("", 1, 3200), WAIT).kind, "timeout");
    const quick = interpretProbe(TCP, remoteFailure("", 1, 200), WAIT);
    assert.equal(verdictOf(quick), "could not probe");
  });

  it("host unreachable: blocked", () => {
    const observation = interpretProbe(
      TCP,
      remoteFailure("nc: 169.254.169.254 (169.254.169.254:80): No route to host"),
      WAIT,
    );
    assert.equal(observation.kind, "unreachable");
    assert.equal(verdictOf(observation), "blocked");
  });

  it("a name that does not resolve proves nothing about the policy: could not probe", () => {
    const observation = interpretProbe(
      TCP,
      remoteFailure("nc: bad address 'flash-api.flash-ticket.svc.cluster.local'"),
      WAIT,
    );
    assert.equal(verdictOf(observation), "could not probe");
    assert.match(observation.detail, /did not resolve in the pod/);
  });

  it("an image without nc (exec method): could not probe, with the fix", () => {
    const observation = interpretProbe(
      TCP,
      remoteFailure(
        'error: Internal error occurred: error executing command in container: failed to exec in container: failed to start exec: OCI runtime exec failed: exec failed: unable to start container process: exec: "nc": executable file not found in $PATH: unknown',
        126,
      ),
      WAIT,
    );
    assert.equal(verdictOf(observation), "could not probe");
    assert.match(observation.detail, /use --method debug/);
  });
});

describe("verify: reading nslookup results", () => {
  it("an answer: allowed", () => {
    const observation = interpretProbe(
      DNS,
      result({
        stdout:
          "Server:\t\t169.254.20.10\nAddress:\t169.254.20.10:53\n\nName:\tkubernetes.default.svc.cluster.local\nAddress: 172.20.0.1\n",
      }),
      WAIT,
    );
    assert.equal(observation.kind, "answered");
    assert.equal(verdictOf(observation), "allowed");
  });

  it("NXDOMAIN is still an answer from the server: allowed", () => {
    const observation = interpretProbe(
      DNS,
      remoteFailure("** server can't find kubernetes.default.svc.cluster.local: NXDOMAIN"),
      WAIT,
    );
    assert.equal(verdictOf(observation), "allowed");
  });

  it("no server reached: blocked", () => {
    const observation = interpretProbe(
      DNS,
      result({
        exitCode: 1,
        stdout: ";; connection timed out; no servers could be reached\n\n",
        stderr: "command terminated with exit code 1\n",
        elapsedMs: 3300,
      }),
      WAIT,
    );
    assert.equal(observation.kind, "timeout");
    assert.equal(verdictOf(observation), "blocked");
  });

  it("ICMP port unreachable from the resolver's host: the query arrived, allowed", () => {
    const observation = interpretProbe(
      DNS,
      remoteFailure(
        "nslookup: write to '169.254.20.10': Connection refused\n;; connection timed out; no servers could be reached",
      ),
      WAIT,
    );
    assert.equal(observation.kind, "refused");
  });
});

describe("verify: kubectl failures are never read as blocked", () => {
  const cases: [string, CommandResult, RegExp][] = [
    [
      "RBAC forbidden",
      result({
        exitCode: 1,
        stderr:
          'Error from server (Forbidden): pods "flash-api-7d9f-x2x" is forbidden: User "dev" cannot create resource "pods/exec" in API group "" in the namespace "flash-ticket"\n',
      }),
      /forbidden.*\(RBAC/,
    ],
    [
      "pod not found",
      result({ exitCode: 1, stderr: 'Error from server (NotFound): pods "netpol-probe-a1b2c3" not found\n' }),
      /NotFound/,
    ],
    [
      "no context",
      result({
        exitCode: 1,
        stderr:
          "The connection to the server localhost:8080 was refused - did you specify the right host or port?\n",
      }),
      /localhost:8080 was refused/,
    ],
    [
      "kubectl missing",
      result({
        exitCode: null,
        startError: Object.assign(new Error("spawn kubectl ENOENT"), { code: "ENOENT" }),
      }),
      /kubectl not found: install kubectl or pass --kubectl/,
    ],
    [
      "kubectl hung",
      result({ exitCode: null, timedOut: true, elapsedMs: 5000 }),
      /did not return within 5 s/,
    ],
    ["interrupted", result({ exitCode: null, aborted: true }), /interrupted/],
  ];
  for (const [name, failure, detail] of cases) {
    it(`${name}: could not probe`, () => {
      const observation = interpretProbe(TCP, failure, WAIT);
      assert.equal(verdictOf(observation), "could not probe");
      assert.match(observation.detail, detail);
    });
  }

  it("a refused connection to the API server is kubectl's failure, not the probe's refusal", () => {
    // No "command terminated with exit code": the text says refused, but nothing ran in the pod.
    const observation = interpretProbe(
      TCP,
      result({ exitCode: 1, stderr: "dial tcp 10.0.0.1:443: connect: connection refused\n" }),
      WAIT,
    );
    assert.equal(observation.kind, "could-not-probe");
  });
});
