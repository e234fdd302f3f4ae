/**
 * Which aws-network-policy-agent runs, and what that version enforces. Every range below was read at
 * the agent's tags (docs/fidelity/eks-tiers.md "Agent versions"); a version outside them is refused by
 * name, never modelled as something else.
 */

/** How the agent writes a pod's NetworkPolicy map. */
export type MapAlgorithm =
  /** v1.2.0-v1.2.3 (bpf_client.go / fw_rule_processor.go): every 0.0.0.0/0 rule's ports are appended to every other key; each except range is written as a deny key per rule. */
  | "catch-all-ports-copied"
  /** v1.2.4 onwards: excepts collected once and written only where no rule key exists; no catch-all copy. */
  | "except-set";

export interface AgentModel {
  /** "v1.2.7" */
  readonly version: string;
  readonly mapAlgorithm: MapAlgorithm;
  /** v1.3.0+: cp_ingress_map/cp_egress_map and the Admin/Baseline tiers exist. */
  readonly clusterPolicies: boolean;
  /** Only after commit 7b17620 (not in any tag up to v1.4.1): the node IP gets an Accept at priority 0 in the cluster-policy map. */
  readonly clusterNodeIpAccept: boolean;
  /** v1.2.0-v1.2.3 eBPF: an ANY_IP_PROTOCOL slot matches every port; v1.2.4+: it still needs a port match. */
  readonly anyProtocolMatchesEveryPort: boolean;
  /** The pinned source it follows: "aws/aws-network-policy-agent@v1.2.7 (fa8770c)". */
  readonly followed: string;
}

/** Tag -> commit, as `git rev-parse <tag>^{commit}` printed in the mirror. */
const TAGS: Readonly<Record<string, string>> = {
  "v1.2.0": "24910ad",
  "v1.2.1": "d85dbab",
  "v1.2.2": "113f016",
  "v1.2.3": "840af6c",
  "v1.2.4": "c57ed00",
  "v1.2.5": "2d2da38",
  "v1.2.6": "3c4f737",
  "v1.2.7": "fa8770c",
  "v1.3.0": "a1d91b5",
  "v1.3.1": "6035dc5",
  "v1.3.2": "f93c542",
  "v1.3.4": "6dc7ebd",
  "v1.3.5": "10c1980",
  "v1.3.7": "04b6d31",
  "v1.4.0": "8e2bd30",
  "v1.4.1": "3816fa4",
};

/** The agent commit the rest of analyzer/eks follows (docs/fidelity/policy-pack.md). */
export const PINNED_AGENT_COMMIT = "c8619c0";

export type AgentVersionAnswer =
  { readonly ok: true; readonly model: AgentModel } | { readonly ok: false; readonly problem: string };

const SEMVER = /^v?(\d+)\.(\d+)\.(\d+)$/;

export function agentModelFor(version: string): AgentVersionAnswer {
  const match = SEMVER.exec(version.trim());
  if (match === null) {
    return {
      ok: false,
      problem: `aws-network-policy-agent version "${version}" is not a release tag (vMAJOR.MINOR.PATCH); the plan models v1.2.0-v1.4.1 only`,
    };
  }
  const tag = `v${match[1]}.${match[2]}.${match[3]}`;
  if (!(tag in TAGS)) {
    return {
      ok: false,
      problem: `aws-network-policy-agent ${tag} is not a version the plan models (known: ${Object.keys(TAGS).join(", ")}); read its fw_rule_processor.go and tc.v4egress.bpf.c and add it to analyzer/eks/agentVersions.ts, or run a known agent`,
    };
  }
  const [, , minor, patch] = match.map(Number);
  const legacy = minor === 2 && patch <= 3;
  const commit = TAGS[tag]!;
  return {
    ok: true,
    model: {
      version: tag,
      mapAlgorithm: legacy ? "catch-all-ports-copied" : "except-set",
      clusterPolicies: minor >= 3,
      clusterNodeIpAccept: false,
      anyProtocolMatchesEveryPort: legacy,
      followed: `aws/aws-network-policy-agent@${tag} (${commit})`,
    },
  };
}

/** The model of the pinned main commit, used only when the caller says so (tests, `analyze`). */
export const MAIN_AGENT_MODEL: AgentModel = {
  version: `main@${PINNED_AGENT_COMMIT}`,
  mapAlgorithm: "except-set",
  clusterPolicies: true,
  clusterNodeIpAccept: true,
  anyProtocolMatchesEveryPort: false,
  followed: `aws/aws-network-policy-agent@${PINNED_AGENT_COMMIT}`,
};

/**
 * vpc-cni add-on version -> the node agent image tag its chart ships: charts/aws-vpc-cni/values.yaml
 * `nodeAgent.image.tag` at each amazon-vpc-cni-k8s tag (mirror at b521883).
 */
export const VPC_CNI_NODE_AGENT: Readonly<Record<string, string>> = {
  "v1.19.3": "v1.2.0",
  "v1.19.4": "v1.2.1",
  "v1.19.5": "v1.2.1",
  "v1.19.6": "v1.2.2",
  "v1.20.0": "v1.2.3",
  "v1.20.1": "v1.2.4",
  "v1.20.2": "v1.2.6",
  "v1.20.3": "v1.2.6",
  "v1.20.4": "v1.2.7",
  "v1.20.5": "v1.2.7",
  "v1.21.0": "v1.3.0",
  "v1.21.1": "v1.3.1",
  "v1.21.2": "v1.3.5",
  "v1.22.0": "v1.3.1",
  "v1.22.1": "v1.3.5",
  "v1.22.2": "v1.3.5",
  "v1.22.3": "v1.3.7",
  "v1.22.4": "v1.4.0",
  "v1.23.0": "v1.4.1",
};

/** "v1.20.4-eksbuild.1" -> "v1.2.7"; undefined when the chart table does not list it. */
export function agentVersionOfAddon(addonVersion: string): string | undefined {
  const base = /^(v\d+\.\d+\.\d+)(?:-eksbuild\.\d+)?$/.exec(addonVersion.trim())?.[1];
  return base === undefined ? undefined : VPC_CNI_NODE_AGENT[base];
}

/** "602401143452.dkr.ecr.../amazon/aws-network-policy-agent:v1.2.7-eksbuild.1" -> "v1.2.7". */
export function agentVersionOfImage(image: string): string | undefined {
  const tag = image.includes("@") ? undefined : image.slice(image.lastIndexOf(":") + 1);
  if (tag === undefined || tag.includes("/")) return undefined;
  return /^(v\d+\.\d+\.\d+)(?:-eksbuild\.\d+)?$/.exec(tag)?.[1] ?? tag;
}
