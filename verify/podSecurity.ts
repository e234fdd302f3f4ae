/**
 * Which `kubectl debug --profile` the namespace's PodSecurity level admits.
 *
 * PodSecurity admission checks the `pods/ephemeralcontainers` update like a pod (the whole spec,
 * ephemeral containers included), at the level of the namespace's
 * `pod-security.kubernetes.io/enforce` label. What each profile puts in the ephemeral container's
 * securityContext is kubectl's pkg/cmd/debug/profiles.go; docs/fidelity/kubectl.md traces both.
 */
export const POD_SECURITY_LEVELS = ["privileged", "baseline", "restricted"] as const;
export type PodSecurityLevel = (typeof POD_SECURITY_LEVELS)[number];
export const ENFORCE_LABEL = "pod-security.kubernetes.io/enforce";

export const DEBUG_PROFILES = [
  "auto",
  "legacy",
  "general",
  "baseline",
  "restricted",
  "netadmin",
  "sysadmin",
] as const;
export type DebugProfile = Exclude<(typeof DEBUG_PROFILES)[number], "auto">;

const RANK: Record<PodSecurityLevel, number> = { privileged: 0, baseline: 1, restricted: 2 };

/** The strictest level each profile's ephemeral container passes, and why not stricter. */
const PROFILE_LEVEL: Record<DebugProfile, { level: PodSecurityLevel; because: string }> = {
  legacy: { level: "baseline", because: "legacy sets no securityContext (restricted needs one)" },
  general: { level: "privileged", because: "general adds SYS_PTRACE to the probe container" },
  baseline: { level: "baseline", because: "baseline clears the securityContext (restricted needs one)" },
  restricted: {
    level: "restricted",
    because: "restricted drops all capabilities, runs as non-root with RuntimeDefault seccomp",
  },
  netadmin: { level: "privileged", because: "netadmin adds NET_ADMIN and NET_RAW" },
  sysadmin: { level: "privileged", because: "sysadmin makes the container privileged" },
};

/** A missing or unknown label enforces nothing, as the admission plugin's default (privileged). */
export function enforcedLevel(labels: Readonly<Record<string, string>> | undefined): PodSecurityLevel {
  const value = labels?.[ENFORCE_LABEL];
  return (POD_SECURITY_LEVELS as readonly string[]).includes(value ?? "")
    ? (value as PodSecurityLevel)
    : "privileged";
}

export interface ProfileChoice {
  readonly profile: DebugProfile;
  readonly reason: string;
}

export class ProfileRefused extends Error {}

/**
 * `auto`: the least privilege nc and nslookup need that the level admits (restricted under
 * restricted, baseline otherwise: SYS_PTRACE, general's addition, is never needed to probe).
 * An explicit profile the level refuses is an error before anything is created.
 */
export function chooseDebugProfile(
  requested: DebugProfile | "auto",
  namespace: string,
  level: PodSecurityLevel,
): ProfileChoice {
  const enforces = `namespace ${namespace} enforces PodSecurity "${level}"`;
  if (requested === "auto") {
    const profile: DebugProfile = level === "restricted" ? "restricted" : "baseline";
    return {
      profile,
      reason: `${enforces}; ${profile} is the least privilege that level admits and nc/nslookup need (general would add SYS_PTRACE, which baseline and restricted refuse)`,
    };
  }
  const admitted = PROFILE_LEVEL[requested];
  if (RANK[admitted.level] < RANK[level]) {
    throw new ProfileRefused(
      `--debug-profile ${requested}: ${admitted.because}, which PodSecurity "${level}" refuses (${enforces}). ` +
        `Fix: leave --debug-profile out (auto picks ${level === "restricted" ? "restricted" : "baseline"}) or pass a profile that level admits.`,
    );
  }
  return { profile: requested, reason: `requested; ${enforces}, which admits it` };
}
