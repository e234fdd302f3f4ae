/**
 * What the recorded cluster enforces beyond the stack's NetworkPolicies: its ClusterNetworkPolicies,
 * the namespace's ApplicationNetworkPolicies, and which network policy agent runs (the aws-node
 * DaemonSet's aws-eks-nodeagent image; else the vpc-cni add-on version of the recorded
 * `aws eks describe-addon`, mapped through the chart's node agent tag). An unknown version is refused
 * by name; an absent one is said, and the pinned main commit is modelled in the open.
 */
import * as path from "node:path";
import {
  MAIN_AGENT_MODEL,
  agentModelFor,
  agentVersionOfAddon,
  agentVersionOfImage,
  applicationNetworkPoliciesFromKubectl,
  clusterNetworkPoliciesFromKubectl,
  type AgentModel,
  type EksClusterState,
} from "../analyzer/eks";
import { loadAwsFixture } from "./awsFixtureFile";
import { loadKubernetesFixture, type KubernetesFixture } from "./kubernetesFixture";
import { PROJECT_ROOT } from "./stackConfig";

export const AGENT_CONTAINER = "aws-eks-nodeagent";

export interface EksAgentReport {
  /** "v1.2.7"; null when neither the DaemonSet nor the add-on was recorded. */
  readonly version: string | null;
  /** Where the version was read, in words naming the file and key. */
  readonly source: string;
  /** The sources the model follows. */
  readonly modelled: string;
  readonly clusterPoliciesEnforced: boolean;
}

export interface ClusterPolicyRead {
  readonly kind: "ClusterNetworkPolicy" | "ApplicationNetworkPolicy";
  readonly name: string;
  readonly tier?: string;
  readonly priority?: number;
  /** Whether the recorded agent enforces it at all. */
  readonly enforced: boolean;
}

export interface EksClusterReading {
  readonly state: EksClusterState;
  /** Keys of the k8s fixture the plan expected and did not find: the proofs assume none, and say so. */
  readonly notRecorded: readonly string[];
  readonly agent: EksAgentReport;
  readonly policiesRead: readonly ClusterPolicyRead[];
}

export class EksClusterReadError extends Error {}

interface DaemonSetLike {
  spec?: { template?: { spec?: { containers?: { name?: string; image?: string }[] } } };
}

function agentFromDaemonSet(
  fixture: KubernetesFixture,
  where: string,
): { version: string; source: string } | undefined {
  const daemonSet = fixture.awsNode as DaemonSetLike | undefined;
  if (daemonSet === undefined) return undefined;
  const container = daemonSet.spec?.template?.spec?.containers?.find((c) => c.name === AGENT_CONTAINER);
  if (container?.image === undefined) {
    throw new EksClusterReadError(
      `${where}: awsNode has no container "${AGENT_CONTAINER}" with an image; expected the aws-node DaemonSet as \`kubectl get daemonset aws-node -n kube-system -o json\` prints it, with network policy enabled`,
    );
  }
  const version = agentVersionOfImage(container.image);
  if (version === undefined) {
    throw new EksClusterReadError(
      `${where}: awsNode container ${AGENT_CONTAINER} image ${container.image} carries no version tag (pinned by digest?); record an image with its tag`,
    );
  }
  return { version, source: `${where} awsNode: container ${AGENT_CONTAINER} image ${container.image}` };
}

function agentFromAddon(awsFixtureFile: string | undefined): { version: string; source: string } | undefined {
  if (awsFixtureFile === undefined) return undefined;
  const fixture = loadAwsFixture(awsFixtureFile);
  const call = fixture.calls.find(
    (candidate) =>
      candidate.command.includes("describe-addon") && candidate.output.addon?.addonName === "vpc-cni",
  );
  const addonVersion = call?.output.addon?.addonVersion;
  if (addonVersion === undefined) return undefined;
  const where = path.relative(PROJECT_ROOT, awsFixtureFile);
  const agent = agentVersionOfAddon(addonVersion);
  if (agent === undefined) {
    throw new EksClusterReadError(
      `vpc-cni add-on ${addonVersion} (${where}, \`${call!.command}\`) is not in the chart table of analyzer/eks/agentVersions.ts, so the network policy agent it runs is unknown; record the aws-node DaemonSet (key awsNode of the k8s fixture) or add the add-on version from amazon-vpc-cni-k8s charts/aws-vpc-cni/values.yaml`,
    );
  }
  return {
    version: agent,
    source: `vpc-cni add-on ${addonVersion} (${where}, describe-addon) ships node agent ${agent} (amazon-vpc-cni-k8s charts/aws-vpc-cni/values.yaml nodeAgent.image.tag)`,
  };
}

/**
 * The cluster state of a stack. `kubernetesFixture` is the only source of cluster objects when given;
 * `awsFixtureFile` answers the add-on version.
 */
export function readEksClusterState(
  stack: string,
  kubernetesFixture: string | KubernetesFixture | undefined,
  awsFixtureFile: string | undefined,
): EksClusterReading {
  const fixture = loadKubernetesFixture(stack, kubernetesFixture);
  const where =
    typeof kubernetesFixture === "object"
      ? "the k8s fixture"
      : path.relative(
          PROJECT_ROOT,
          kubernetesFixture ?? path.join(PROJECT_ROOT, "fixtures", "k8s", `${stack}.json`),
        );
  let clusterPolicies: ReturnType<typeof clusterNetworkPoliciesFromKubectl>;
  let applicationPolicies: ReturnType<typeof applicationNetworkPoliciesFromKubectl>;
  try {
    clusterPolicies = clusterNetworkPoliciesFromKubectl(
      fixture.clusterNetworkPolicies?.items ?? [],
      `${where}: clusterNetworkPolicies.items`,
    );
    applicationPolicies = applicationNetworkPoliciesFromKubectl(
      fixture.applicationNetworkPolicies?.items ?? [],
      `${where}: applicationNetworkPolicies.items`,
    );
  } catch (error) {
    throw new EksClusterReadError((error as Error).message);
  }
  const fromDaemonSet = agentFromDaemonSet(fixture, where);
  const fromAddon = agentFromAddon(awsFixtureFile);
  // What runs is the DaemonSet's image; the add-on version is what EKS installed (they differ
  // when someone patched the image, or while an add-on update rolls out). Say both when they differ.
  const found =
    fromDaemonSet !== undefined && fromAddon !== undefined && fromDaemonSet.version !== fromAddon.version
      ? { ...fromDaemonSet, source: `${fromDaemonSet.source}; NOTE the ${fromAddon.source}` }
      : (fromDaemonSet ?? fromAddon);
  let model: AgentModel;
  let agent: EksAgentReport;
  if (found === undefined) {
    model = MAIN_AGENT_MODEL;
    agent = {
      version: null,
      source: `not recorded: ${where} has no awsNode and the AWS fixture no vpc-cni describe-addon; ASSUMED the pinned main commit`,
      modelled: MAIN_AGENT_MODEL.followed,
      clusterPoliciesEnforced: true,
    };
  } else {
    const answer = agentModelFor(found.version);
    if (!answer.ok) throw new EksClusterReadError(`${answer.problem} (read from ${found.source})`);
    model = answer.model;
    agent = {
      version: model.version,
      source: found.source,
      modelled: model.followed,
      clusterPoliciesEnforced: model.clusterPolicies,
    };
  }
  const policiesRead: ClusterPolicyRead[] = [
    ...clusterPolicies.map((cnp) => ({
      kind: "ClusterNetworkPolicy" as const,
      name: cnp.metadata.name,
      tier: cnp.spec.tier,
      priority: cnp.spec.priority,
      enforced: model.clusterPolicies,
    })),
    ...applicationPolicies.map((anp) => ({
      kind: "ApplicationNetworkPolicy" as const,
      name: `${anp.metadata.namespace}/${anp.metadata.name}`,
      enforced: true,
    })),
  ];
  const notRecorded = (["clusterNetworkPolicies", "applicationNetworkPolicies"] as const)
    .filter((key) => fixture[key] === undefined)
    .map((key) => `${where}: ${key}`);
  return { state: { agent: model, clusterPolicies, applicationPolicies }, agent, policiesRead, notRecorded };
}
