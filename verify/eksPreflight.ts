/**
 * The live run's preflight of what EKS enforces besides the stack's NetworkPolicies: which network
 * policy agent runs (aws-node's aws-eks-nodeagent image), the ClusterNetworkPolicies and the
 * namespace's ApplicationNetworkPolicies, read with the same kubectl commands the k8s fixture records
 * them with and parsed by the same code as the plan. Each finding is one line for the operator; a
 * read kubectl refuses (no such CRD, no permission) is said, never taken for "none".
 */
import {
  agentModelFor,
  agentVersionOfImage,
  applicationNetworkPoliciesFromKubectl,
  clusterNetworkPoliciesFromKubectl,
} from "../analyzer/eks";
import { applicationNetworkPoliciesArgs, awsNodeArgs, clusterNetworkPoliciesArgs } from "./kubectl";
import { describeKubectlFailure } from "./probeOutput";
import type { Kubectl } from "./probeSources";

const AGENT_CONTAINER = "aws-eks-nodeagent";

function json(stdout: string): unknown {
  try {
    return JSON.parse(stdout);
  } catch {
    return undefined;
  }
}

function items(stdout: string): unknown[] {
  const parsed = json(stdout) as { items?: unknown[] } | undefined;
  return parsed?.items ?? [];
}

export async function eksPreflight(kubectl: Kubectl, namespace: string): Promise<string[]> {
  const lines: string[] = [];
  let clusterPoliciesEnforced: boolean | undefined;
  const daemonSet = await kubectl(awsNodeArgs());
  if (daemonSet.exitCode !== 0) {
    lines.push(
      `EKS agent version: UNKNOWN (kubectl ${awsNodeArgs().join(" ")}: ${describeKubectlFailure(daemonSet)})`,
    );
  } else {
    const containers =
      (
        json(daemonSet.stdout) as {
          spec?: { template?: { spec?: { containers?: { name?: string; image?: string }[] } } };
        }
      )?.spec?.template?.spec?.containers ?? [];
    const image = containers.find((container) => container.name === AGENT_CONTAINER)?.image;
    const version = image === undefined ? undefined : agentVersionOfImage(image);
    const answer = version === undefined ? undefined : agentModelFor(version);
    if (answer === undefined) {
      lines.push(
        `EKS agent version: UNKNOWN (aws-node has no ${AGENT_CONTAINER} image with a version tag; network policy enabled?)`,
      );
    } else if (!answer.ok) {
      lines.push(`EKS agent version: ${version} NOT MODELLED: ${answer.problem}`);
    } else {
      clusterPoliciesEnforced = answer.model.clusterPolicies;
      lines.push(`EKS agent version: ${answer.model.version} (${image})`);
    }
  }
  const cnps = await kubectl(clusterNetworkPoliciesArgs());
  if (cnps.exitCode !== 0) {
    lines.push(`ClusterNetworkPolicies: not readable (${describeKubectlFailure(cnps)})`);
  } else {
    for (const cnp of clusterNetworkPoliciesFromKubectl(
      items(cnps.stdout),
      "kubectl get clusternetworkpolicies",
    )) {
      const enforced = clusterPoliciesEnforced === false ? " (not enforced by this agent version)" : "";
      lines.push(
        `ClusterNetworkPolicy ${cnp.metadata.name}: tier ${cnp.spec.tier}, priority ${cnp.spec.priority}${enforced}`,
      );
    }
  }
  const anps = await kubectl(applicationNetworkPoliciesArgs(namespace));
  if (anps.exitCode !== 0) {
    lines.push(`ApplicationNetworkPolicies in ${namespace}: not readable (${describeKubectlFailure(anps)})`);
  } else {
    for (const anp of applicationNetworkPoliciesFromKubectl(
      items(anps.stdout),
      "kubectl get applicationnetworkpolicies",
    )) {
      lines.push(`ApplicationNetworkPolicy ${anp.metadata.namespace}/${anp.metadata.name}`);
    }
  }
  return lines;
}
