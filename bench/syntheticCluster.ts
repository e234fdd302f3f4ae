import type {
  Cluster,
  ContainerPort,
  NamespaceInfo,
  NetworkPolicy,
  NetworkPolicyEgressRule,
  NetworkPolicyIngressRule,
  PodInfo,
} from "../core/kubernetes";

export interface SyntheticClusterSize {
  readonly namespaces: number;
  readonly pods: number;
  readonly policies: number;
  readonly seed: number;
  /** Apps per namespace, two versions each (default 12): 50 namespaces x 20 apps = 2,000 label sets. */
  readonly appsPerNamespace?: number;
}

/** mulberry32: tiny, fast and reproducible across Node versions. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TIERS = ["web", "api", "worker", "db"] as const;
const TEAMS = ["payments", "tickets", "search", "identity", "platform"];
const ENVIRONMENTS = ["prod", "staging", "dev"];
const DEFAULT_APPS_PER_NAMESPACE = 12;

const PORTS_BY_TIER: Record<(typeof TIERS)[number], ContainerPort[]> = {
  web: [
    { name: "http", port: 8080, protocol: "TCP" },
    { name: "metrics", port: 9090, protocol: "TCP" },
  ],
  api: [
    { name: "http", port: 8080, protocol: "TCP" },
    { name: "grpc", port: 9000, protocol: "TCP" },
  ],
  worker: [{ name: "metrics", port: 9090, protocol: "TCP" }],
  db: [{ name: "postgres", port: 5432, protocol: "TCP" }],
};

/**
 * A deterministic cluster shaped like a microservice platform: apps with a couple of versions
 * each, replicas sharing labels, and policies mixing selectors, named ports, ranges and ipBlocks.
 */
export function generateSyntheticCluster(size: SyntheticClusterSize): Cluster {
  const random = seededRandom(size.seed);
  const appsPerNamespace = size.appsPerNamespace ?? DEFAULT_APPS_PER_NAMESPACE;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const appName = (index: number): string => `app-${String(index).padStart(2, "0")}`;
  const tierOf = (appIndex: number): (typeof TIERS)[number] => TIERS[appIndex % TIERS.length];

  const namespaces: NamespaceInfo[] = Array.from({ length: size.namespaces }, (_, i) => {
    const name = `ns-${String(i).padStart(3, "0")}`;
    return {
      name,
      labels: {
        "kubernetes.io/metadata.name": name,
        team: TEAMS[i % TEAMS.length],
        env: ENVIRONMENTS[i % 3],
      },
    };
  });

  const pods: PodInfo[] = [];
  for (let i = 0; i < size.pods; i++) {
    const namespaceIndex = i % size.namespaces;
    const appIndex = Math.floor(random() * appsPerNamespace);
    const tier = tierOf(appIndex);
    pods.push({
      namespace: namespaces[namespaceIndex].name,
      name: `pod-${i}`,
      labels: { app: appName(appIndex), tier, version: random() < 0.7 ? "v1" : "v2" },
      // Unique per pod; namespaces get their own /16 so ipBlock excepts can carve some out.
      ip: `10.${namespaceIndex % 250}.${Math.floor(i / 250) % 256}.${(i % 250) + 1}`,
      ports: PORTS_BY_TIER[tier],
    });
  }

  const ingressRule = (): NetworkPolicyIngressRule => {
    const kind = random();
    if (kind < 0.4) {
      return {
        from: [{ podSelector: { matchLabels: { app: appName(Math.floor(random() * appsPerNamespace)) } } }],
        ports: [{ port: pick(["http", "grpc", "postgres"]) }],
      };
    }
    if (kind < 0.7) {
      return {
        from: [
          {
            namespaceSelector: {
              matchExpressions: [{ key: "team", operator: "In", values: [pick(TEAMS), pick(TEAMS)] }],
            },
            podSelector: { matchExpressions: [{ key: "tier", operator: "In", values: ["web", "api"] }] },
          },
        ],
        ports: [{ protocol: "TCP", port: 8000, endPort: 9100 }],
      };
    }
    if (kind < 0.85) {
      return {
        from: [{ namespaceSelector: { matchLabels: { env: pick(ENVIRONMENTS) } } }],
        ports: [{ protocol: "TCP", port: pick([8080, 5432, 9090]) }],
      };
    }
    return {
      from: [{ ipBlock: { cidr: "10.0.0.0/8", except: [`10.${Math.floor(random() * 50)}.0.0/16`] } }],
    };
  };

  const egressRule = (): NetworkPolicyEgressRule => {
    const kind = random();
    if (kind < 0.3) {
      return {
        to: [{ namespaceSelector: { matchLabels: { team: "platform" } } }],
        ports: [
          { protocol: "UDP", port: 53 },
          { protocol: "TCP", port: 53 },
        ],
      };
    }
    if (kind < 0.6) {
      return {
        to: [{ podSelector: { matchExpressions: [{ key: "tier", operator: "NotIn", values: ["web"] }] } }],
        ports: [{ port: pick(["http", "postgres", "metrics"]) }],
      };
    }
    if (kind < 0.8) {
      return { to: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/8"] } }], ports: [{ port: 443 }] };
    }
    return {
      to: [{ podSelector: { matchLabels: { tier: "db" } } }],
      ports: [{ protocol: "TCP", port: 5432 }],
    };
  };

  const policies: NetworkPolicy[] = [];
  for (let i = 0; i < size.policies; i++) {
    const namespace = namespaces[i % size.namespaces].name;
    const isDefaultDeny = i < size.namespaces && i % 2 === 0;
    const selectsOneApp = random() < 0.8;
    const metadata = { name: `policy-${i}`, namespace };
    if (isDefaultDeny) {
      policies.push({
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata,
        spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
      });
      continue;
    }
    const withEgress = random() < 0.4;
    policies.push({
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata,
      spec: {
        podSelector: selectsOneApp
          ? { matchLabels: { app: appName(Math.floor(random() * appsPerNamespace)) } }
          : { matchExpressions: [{ key: "tier", operator: "In", values: [pick(TIERS)] }] },
        ingress: Array.from({ length: 1 + Math.floor(random() * 2) }, ingressRule),
        ...(withEgress ? { egress: Array.from({ length: 1 + Math.floor(random() * 2) }, egressRule) } : {}),
      },
    });
  }
  return { namespaces, pods, policies };
}
