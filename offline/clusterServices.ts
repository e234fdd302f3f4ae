/**
 * The Services the stack's recorded cluster holds (fixtures/k8s/<stack>.json: the namespace's
 * Services and kube-system's kube-dns), for the flash model's ClusterIP probes.
 */
import * as path from "node:path";
import { servicesFromKubectl } from "../analyzer/eks/kubectlServices";
import type { ServiceInfo } from "../analyzer/eks";
import { PROJECT_ROOT } from "./stackConfig";
import { loadKubernetesFixture, type KubernetesFixture } from "./kubernetesFixture";

export function clusterServicesOf(stack: string, fixture?: string | KubernetesFixture): ServiceInfo[] {
  const recorded = loadKubernetesFixture(stack, fixture);
  const where =
    typeof fixture === "string" ? fixture : path.join(PROJECT_ROOT, "fixtures", "k8s", `${stack}.json`);
  return [
    ...servicesFromKubectl(
      recorded.services?.items ?? [],
      `${path.relative(PROJECT_ROOT, where)}: services.items`,
    ),
    ...servicesFromKubectl(
      recorded.kubeDnsService === undefined ? [] : [recorded.kubeDnsService],
      `${path.relative(PROJECT_ROOT, where)}: kubeDnsService`,
    ),
  ];
}
