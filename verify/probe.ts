/**
 * The vocabulary of live verification: where a probe runs, what it tries to reach, and what the
 * offline matrix says it should see. Plain data, so the plan, the kubectl commands, the comparison
 * and the tests all speak about the same objects.
 */
import type { Protocol, ServiceName } from "../core/flowTable";

export type Verdict = "allowed" | "blocked";

/** The label every probe pod wears, so an operator (and `--cleanup`) can find a leftover one. */
export const PROBE_POD_LABEL = { key: "flash-netpol/probe", value: "true" } as const;

/** Where probes run from. */
export type ProbeSource =
  /** A service's own pod, found by its Deployment or by the labels its policies select. */
  | {
      readonly kind: "service";
      readonly key: string;
      readonly service: ServiceName;
      readonly namespace: string;
      readonly deployment: string;
      /** `app=flash-api`: the service's configured pod labels as a kubectl `-l` selector. */
      readonly selector: string;
    }
  /** A short-lived busybox pod this tool creates and always deletes. */
  | {
      readonly kind: "probePod";
      readonly key: string;
      /** `unlabelled`: no service selects it; `other-namespace`: a look-alike outside the namespace. */
      readonly role: "unlabelled" | "other-namespace";
      readonly namespace: string;
      readonly labels: Readonly<Record<string, string>>;
      /**
       * The deployed NetworkPolicies whose podSelector selects it: the EKS agent must list its IP
       * in their PolicyEndpoints before it is enforced (standard mode: allow-all until then).
       */
      readonly selectedBy: readonly string[];
    };

/** What the probe does inside the source's network namespace. */
export type ProbeCheck =
  /** A TCP handshake only (`nc -z`): no application data, so it is harmless against any server. */
  | { readonly kind: "tcp"; readonly host: string; readonly port: number }
  /** A UDP DNS query through the pod's own resolver (/etc/resolv.conf), as the application resolves. */
  | { readonly kind: "dns"; readonly name: string };

export interface PlannedProbe {
  /** Display name of the source: `flash-gateway`, `probe-pod`, `probe-pod@default`. */
  readonly from: string;
  /** Display name of the target: `flash-api.flash-ticket.svc.cluster.local`, `dns (udp)`, ... */
  readonly to: string;
  readonly port: number;
  readonly protocol: Protocol;
  readonly sourceKey: string;
  readonly check: ProbeCheck;
  /** The offline matrix's verdict at the stack's current rollout stage. */
  readonly expected: Verdict;
  /** Declared by a row of the flow table (or the namespace-wide DNS allow). */
  readonly intended: boolean;
  /** Why this probe is in the plan and why its expectation is what it is. */
  readonly reason: string;
  /** Set by the planner when the target is a service's pods; resolved to addresses against the cluster. */
  readonly destination?: {
    readonly service: ServiceName;
    readonly podLabels: Readonly<Record<string, string>>;
    readonly containerPort: number;
  };
  /** The address probed, once resolved: a pod IP, a ClusterIP, or a name. */
  readonly address?: string;
  /** How the address was found: a ready pod's IP, the Service's ClusterIP, or a DNS/AWS name. */
  readonly via?: "pod" | "clusterIP" | "name";
  /** Set when the cluster gives nothing to probe (no ready pod, no ready endpoint): never run, "could not probe". */
  readonly unprobeable?: string;
}

export interface ProbePlan {
  readonly stack: string;
  readonly namespace: string;
  /** The EKS cluster the stack deploys to: the context a live run should point at. */
  readonly cluster: { readonly name: string; readonly region: string };
  /** The rollout stage the expectations belong to, e.g. "defaultDeny off; enforced: ...". */
  readonly stage: string;
  readonly sources: readonly ProbeSource[];
  readonly probes: readonly PlannedProbe[];
  /** Flows of the table no probe can exercise from inside the cluster, with why. */
  readonly notProbed: readonly string[];
  /** The stack's `probeImage` config key, when set. */
  readonly probeImage?: string;
}
