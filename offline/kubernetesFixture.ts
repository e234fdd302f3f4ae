/**
 * The recorded cluster: what kubectl printed for the objects the program reads
 * (fixtures/k8s/<stack>.json), and those reads answered as the provider and engine answer them.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { expandList } from "../analyzer/manifests/documents";
import { PROJECT_ROOT } from "./stackConfig";

interface KubernetesObject {
  kind?: string;
  metadata: { name: string; namespace?: string };
}

interface KubernetesList {
  items: KubernetesObject[];
}

/**
 * What the cluster answers to read-only reads, one key per kubectl command (fixtures/k8s/<stack>.json
 * names each command under `commands`): the namespace, its Deployments, Services and EndpointSlices,
 * kube-system's kube-dns Service, and what else the EKS agent enforces: the cluster's
 * ClusterNetworkPolicies (`kubectl get clusternetworkpolicies -o json`), the namespace's
 * ApplicationNetworkPolicies (`kubectl get applicationnetworkpolicies -n NS -o json`) and the aws-node
 * DaemonSet (`kubectl get daemonset aws-node -n kube-system -o json`, the agent's image).
 */
export interface KubernetesFixture {
  description?: string;
  commands?: Record<string, string>;
  namespace?: KubernetesObject;
  deployments: KubernetesList;
  services?: KubernetesList;
  kubeDnsService?: KubernetesObject;
  endpointSlices?: KubernetesList;
  clusterNetworkPolicies?: { items: unknown[] };
  applicationNetworkPolicies?: { items: unknown[] };
  awsNode?: unknown;
}

export function loadKubernetesFixture(
  stack: string,
  given: string | KubernetesFixture | undefined,
): KubernetesFixture {
  if (typeof given === "object") return given;
  const file = given ?? path.join(PROJECT_ROOT, "fixtures", "k8s", `${stack}.json`);
  if (given === undefined && !fs.existsSync(file)) return { deployments: { items: [] } };
  return JSON.parse(fs.readFileSync(file, "utf8")) as KubernetesFixture;
}

/** A recorded list read as the manifest reader reads lists: items without a kind are `kind`. */
function itemsOf(list: KubernetesList | undefined, kind: string): KubernetesObject[] {
  if (list === undefined) return [];
  const expanded = expandList(list as unknown as Record<string, unknown>, kind);
  if (typeof expanded === "string") throw new Error(`the recorded ${kind} list: ${expanded}`);
  return expanded.map(({ object }) => object as unknown as KubernetesObject);
}

/** Every object the fixture holds, whichever command printed it. */
export function kubernetesFixtureObjects(fixture: KubernetesFixture): KubernetesObject[] {
  return [
    ...(fixture.namespace ? [{ kind: "Namespace", ...fixture.namespace }] : []),
    ...itemsOf(fixture.deployments, "Deployment"),
    ...itemsOf(fixture.services, "Service"),
    ...(fixture.kubeDnsService ? [{ kind: "Service", ...fixture.kubeDnsService }] : []),
    ...itemsOf(fixture.endpointSlices, "EndpointSlice"),
  ];
}

/**
 * A read of an existing Kubernetes object (`.get`), answered as the provider and engine answer it:
 * the live object; for an object the cluster does not have, the provider's Read returns no outputs
 * and the engine fails the read with "resource '<id>' does not exist" (pulumi step.go ReadStep);
 * for an unreachable cluster the provider's Read fails outright (pulumi-kubernetes provider.go Read).
 */
export function readKubernetesObject(
  fixture: KubernetesFixture,
  unreachable: string | undefined,
  type: string,
  id: string,
): Record<string, unknown> {
  if (unreachable !== undefined) {
    throw new Error(
      `configured Kubernetes cluster is unreachable: ${unreachable}; failed to read resource state due to unreachable cluster. ` +
        `If the cluster was deleted, you can remove this resource from Pulumi state by rerunning the operation with the ` +
        `PULUMI_K8S_DELETE_UNREACHABLE environment variable set to "true"`,
    );
  }
  const kind = type.split(":").pop();
  const [namespace, name] = id.includes("/") ? id.split("/", 2) : [undefined, id];
  const found = kubernetesFixtureObjects(fixture).find(
    (item) => item.kind === kind && item.metadata.namespace === namespace && item.metadata.name === name,
  );
  if (found === undefined) throw new Error(`resource '${id}' does not exist`);
  return found as unknown as Record<string, unknown>;
}
