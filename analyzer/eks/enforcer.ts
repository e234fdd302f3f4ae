/**
 * The EKS VPC CNI enforcer: every pod's ingress and egress map built from the policies selecting
 * it, as the controller resolves them and the agent computes them, and each probe answered by
 * longest-prefix match on the source's egress map and the destination's ingress map.
 */
import type { Direction, Endpoint, PodInfo } from "../model";
import { podKey } from "../model";
import { catchAllRule, computeMapEntries, longestPrefixMatch, valueAllows } from "./agent";
import { EndpointsResolver, type PolicyEndpoints } from "./controller";
import type { EksCluster, EksProbe, EksVerdict, EnforcingMode, PodMap, SideDecision } from "./model";
import { sideAllows } from "./model";

export interface EksEnforcerOptions {
  readonly mode?: EnforcingMode;
}

const CATCH_ALL_SOURCE = "(no isolation: agent catch-all)";

export class EksEnforcer {
  readonly mode: EnforcingMode;
  readonly policyEndpoints: readonly PolicyEndpoints[];
  private readonly maps = new Map<PodInfo, Record<Direction, PodMap>>();

  constructor(
    readonly cluster: EksCluster,
    options: EksEnforcerOptions = {},
  ) {
    this.mode = options.mode ?? "standard";
    const resolver = new EndpointsResolver(cluster);
    this.policyEndpoints = cluster.policies.map((policy) => resolver.resolve(policy));
  }

  /** The pod's maps, built once: deriveIngressAndEgressFirewallRules then ComputeMapEntriesFromEndpointRules. */
  mapsOf(pod: PodInfo): Record<Direction, PodMap> {
    let maps = this.maps.get(pod);
    if (maps === undefined) {
      const selecting = this.policyEndpoints.filter((endpoints) => endpoints.selects(pod));
      const nodeIp = this.cluster.nodeIps?.[podKey(pod)];
      if (selecting.length === 0) {
        const state = this.mode === "strict" ? "default-deny" : "default-allow";
        maps = { ingress: { state, entries: [] }, egress: { state, entries: [] } };
      } else {
        const build = (direction: Direction): PodMap => {
          const rules = selecting.flatMap((endpoints) => endpoints[direction]);
          const isolated = selecting.some((endpoints) =>
            endpoints.podIsolation.includes(direction === "ingress" ? "Ingress" : "Egress"),
          );
          // No rules and no isolation for this direction: the agent appends an allow-all entry.
          const effective = rules.length === 0 && !isolated ? [catchAllRule(CATCH_ALL_SOURCE)] : rules;
          const entries = computeMapEntries(effective, nodeIp).map((entry) =>
            effective === rules
              ? entry
              : { ...entry, kind: entry.kind === "node-ip" ? entry.kind : ("catch-all" as const) },
          );
          return { state: "policies-applied", entries };
        };
        maps = { ingress: build("ingress"), egress: build("egress") };
      }
      this.maps.set(pod, maps);
    }
    return maps;
  }

  isAllowed(probe: EksProbe): boolean {
    return this.decide(probe).allowed;
  }

  decide(probe: EksProbe): EksVerdict {
    const egress =
      probe.from.kind === "pod"
        ? this.side(
            probe.from.pod,
            "egress",
            probe.viaService?.clusterIP ?? addressOf(probe.to),
            probe.viaService?.port ?? probe.port,
            probe,
          )
        : ({ kind: "not-a-pod" } as const);
    const ingress =
      probe.to.kind === "pod"
        ? this.side(probe.to.pod, "ingress", addressOf(probe.from), probe.port, probe)
        : ({ kind: "not-a-pod" } as const);
    return { allowed: sideAllows(egress) && sideAllows(ingress), egress, ingress };
  }

  private side(
    subject: PodInfo,
    direction: Direction,
    address: string,
    port: number,
    probe: EksProbe,
  ): SideDecision {
    const map = this.mapsOf(subject)[direction];
    if (map.state === "default-allow") return { kind: "default-allow" };
    if (map.state === "default-deny") return { kind: "default-deny" };
    const entry = longestPrefixMatch(map.entries, address);
    return {
      kind: "lookup",
      address,
      port,
      entry,
      allowed: entry !== undefined && valueAllows(entry.l4, port, probe.protocol),
    };
  }
}

export function addressOf(endpoint: Endpoint): string {
  return endpoint.kind === "pod" ? endpoint.pod.ip : endpoint.ip;
}
