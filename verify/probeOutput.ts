/**
 * What one `kubectl exec ... nc|nslookup` run observed.
 *
 * Three layers can fail and must not be confused:
 *  - kubectl itself (no context, RBAC forbidden, pod not found, API unreachable): nothing was
 *    probed, so the answer is "could not probe", never "blocked";
 *  - the tool in the pod (nc missing, a name that does not resolve): also "could not probe";
 *  - the network: connected or refused means the packet reached the destination (allowed);
 *    a timeout or an unreachable host means it did not (blocked).
 * kubectl tells the layers apart for us: when the remote command fails it prints "command
 * terminated with exit code N" and exits N; any other non-zero exit is kubectl's own failure.
 */
import type { CommandResult } from "./commandRunner";
import type { ProbeCheck, Verdict } from "./probe";

export type Observation =
  /** The TCP handshake completed. */
  | { readonly kind: "connected"; readonly detail: string }
  /**
   * A TCP RST (or ICMP port unreachable for UDP) came back from the destination: the packet got
   * through every policy and found nobody listening. NetworkPolicy enforcement (the VPC CNI's eBPF
   * agent, Calico, Cilium) drops denied packets silently, so a refusal is evidence of "allowed".
   */
  | { readonly kind: "refused"; readonly detail: string }
  /** A DNS server answered (an address, or NXDOMAIN: either way the query got through). */
  | { readonly kind: "answered"; readonly detail: string }
  /** Nothing came back within the wait: what a dropping policy looks like. */
  | { readonly kind: "timeout"; readonly detail: string }
  /** ICMP host or network unreachable: a rejecting middlebox or no route; the packet did not arrive. */
  | { readonly kind: "unreachable"; readonly detail: string }
  | { readonly kind: "could-not-probe"; readonly detail: string };

export type ObservedVerdict = Verdict | "could not probe";

export function verdictOf(observation: Observation): ObservedVerdict {
  switch (observation.kind) {
    case "connected":
    case "refused":
    case "answered":
      return "allowed";
    case "timeout":
    case "unreachable":
      return "blocked";
    case "could-not-probe":
      return "could not probe";
  }
}

const REMOTE_EXIT = /command terminated with exit code (\d+)/;
const TOOL_MISSING = /executable file not found|: not found|no such file or directory/i;
const NAME_UNRESOLVED =
  /bad address|can't resolve|could not resolve|name does not resolve|unknown host|not known/i;
const REFUSED = /connection refused/i;
const TIMED_OUT = /timed out|timeout|no servers could be reached/i;
const UNREACHABLE = /no route to host|host is unreachable|network is unreachable|network unreachable/i;
const DNS_ANSWERED = /NXDOMAIN|SERVFAIL|REFUSED|NOTIMP|server can't find/;

/** The last informative line kubectl or the tool printed, for the report. */
function lastLine(text: string): string {
  const lines = text
    .split("\n")
    .map((line) => line.trim())
    .filter(
      (line) => line !== "" && !line.startsWith("Defaulted container") && !/^sent \d+, rcvd \d+$/.test(line),
    );
  return lines.at(-1) ?? "";
}

/** kubectl failed before or instead of running the tool: say which problem, with its fix. */
export function describeKubectlFailure(result: CommandResult): string {
  if (result.startError !== undefined) {
    return result.startError.code === "ENOENT"
      ? "kubectl not found: install kubectl or pass --kubectl <path>"
      : `kubectl could not start: ${result.startError.message}`;
  }
  if (result.aborted) return "interrupted";
  if (result.timedOut) return `kubectl did not return within ${Math.round(result.elapsedMs / 1000)} s`;
  const message = lastLine(result.stderr) || lastLine(result.stdout) || `kubectl exited ${result.exitCode}`;
  if (/violates PodSecurity/.test(message)) {
    return `${message} (PodSecurity admission refused it: the namespace's pod-security.kubernetes.io/enforce level)`;
  }
  if (/unknown flag: --custom/.test(message)) {
    return `${message} (kubectl debug --custom needs kubectl 1.31 or later, 1.30 with KUBECTL_DEBUG_CUSTOM_PROFILE=true; or use --method exec)`;
  }
  if (/forbidden/i.test(message)) return `${message} (RBAC: this identity may not do it)`;
  return message;
}

/**
 * Reads one probe's result. `waitSeconds` is what nc/nslookup were given: a silent failure that
 * lasted at least that long is a timeout; a fast one is not understood and so not a verdict.
 */
export function interpretProbe(check: ProbeCheck, result: CommandResult, waitSeconds: number): Observation {
  const output = `${result.stdout}\n${result.stderr}`;
  const detail = lastLine(output.replace(REMOTE_EXIT, ""));
  if (result.startError !== undefined || result.timedOut || result.aborted) {
    return { kind: "could-not-probe", detail: describeKubectlFailure(result) };
  }
  if (result.exitCode === 0) {
    return check.kind === "tcp"
      ? { kind: "connected", detail: detail || "open" }
      : { kind: "answered", detail: detail || "resolved" };
  }
  const remote = REMOTE_EXIT.exec(result.stderr);
  // containerd fails the exec itself when the binary is missing: kubectl then prints the runtime's
  // error and exits 1, with no "command terminated with exit code" line.
  const containerdMissing =
    remote === null && /OCI runtime exec failed/.test(output) && TOOL_MISSING.test(output);
  if (remote === null && !containerdMissing) {
    return { kind: "could-not-probe", detail: describeKubectlFailure(result) };
  }
  const remoteCode = remote === null ? 127 : Number(remote[1]);
  if (remoteCode === 126 || remoteCode === 127 || TOOL_MISSING.test(output)) {
    const tool = check.kind === "tcp" ? "nc" : "nslookup";
    return {
      kind: "could-not-probe",
      detail: `${tool} is not in the container (${detail}); use --method debug, which brings busybox`,
    };
  }
  if (REFUSED.test(output)) return { kind: "refused", detail };
  if (check.kind === "dns" && DNS_ANSWERED.test(output)) return { kind: "answered", detail };
  if (check.kind === "tcp" && NAME_UNRESOLVED.test(output)) {
    return {
      kind: "could-not-probe",
      detail: `${check.host} did not resolve in the pod (${detail}): no such Service or DNS name, or DNS itself is blocked (see the DNS rows)`,
    };
  }
  if (TIMED_OUT.test(output)) return { kind: "timeout", detail };
  if (UNREACHABLE.test(output)) return { kind: "unreachable", detail };
  if (result.elapsedMs >= waitSeconds * 1000) {
    return { kind: "timeout", detail: detail || `no answer within ${waitSeconds} s` };
  }
  return {
    kind: "could-not-probe",
    detail: `the probe exited ${remoteCode} without a recognisable reason: ${detail || "(no output)"}`,
  };
}
