/**
 * The EKS agent model builds each pod's maps once per pod group (same namespace, labels and node):
 * on a synthetic cluster whose replicas share labels, every pod's maps equal those a fresh enforcer
 * builds for that pod alone (no sharing possible), both enforcing modes, and pods that differ only
 * in their node keep their own node-IP entry.
 */
import * as assert from "node:assert/strict";
import { podKey, type PodInfo } from "../../core/kubernetes";
import { EksEnforcer, type EksCluster } from "../../analyzer/eks";
import { generateSyntheticCluster } from "../../bench/syntheticCluster";

const NODES = ["10.20.16.10", "10.20.32.10"];

function clusterOnTwoNodes(): EksCluster {
  const base = generateSyntheticCluster({ namespaces: 3, pods: 90, policies: 25, seed: 7 });
  return {
    ...base,
    nodeIps: Object.fromEntries(base.pods.map((pod, index) => [podKey(pod), NODES[index % 2]])),
  };
}

const labelKey = (pod: PodInfo) => `${pod.namespace}/${JSON.stringify(Object.entries(pod.labels).sort())}`;

describe("eks agent model: maps by pod group", () => {
  for (const mode of ["standard", "strict"] as const) {
    it(`every pod's maps equal those built for it alone (${mode})`, () => {
      const cluster = clusterOnTwoNodes();
      // Not vacuous: replicas share namespace and labels, on both nodes.
      assert.ok(new Set(cluster.pods.map(labelKey)).size < (cluster.pods.length * 3) / 4);
      const grouped = new EksEnforcer(cluster, { mode });
      for (const pod of cluster.pods) grouped.mapsOf(pod);
      for (const pod of cluster.pods) {
        const alone = new EksEnforcer(cluster, { mode });
        assert.deepEqual(grouped.mapsOf(pod), alone.mapsOf(pod), podKey(pod));
        assert.deepEqual(grouped.clusterMapsOf(pod), alone.clusterMapsOf(pod), podKey(pod));
      }
    });
  }

  it("two replicas on different nodes each allow their own node's IP, not the other's", () => {
    const cluster = clusterOnTwoNodes();
    const enforcer = new EksEnforcer(cluster);
    const selected = cluster.pods.filter((pod) =>
      enforcer.policyEndpoints.some((endpoints) => endpoints.selects(pod)),
    );
    const pair = selected.flatMap((first) => {
      const other = selected.find(
        (pod) =>
          labelKey(pod) === labelKey(first) &&
          cluster.nodeIps![podKey(pod)] !== cluster.nodeIps![podKey(first)],
      );
      return other === undefined ? [] : [[first, other] as const];
    })[0];
    assert.ok(pair, "the synthetic cluster has a selected replica on each node");
    for (const pod of pair) {
      const own = cluster.nodeIps![podKey(pod)];
      const nodeEntries = enforcer
        .mapsOf(pod)
        .ingress.entries.filter((entry) => entry.kind === "node-ip")
        .map((entry) => entry.cidr);
      assert.ok(
        nodeEntries.some((cidr) => cidr.startsWith(`${own}/`)),
        `${podKey(pod)}: ${nodeEntries.join(", ")}`,
      );
      const otherNode = NODES.find((ip) => ip !== own)!;
      assert.ok(!nodeEntries.some((cidr) => cidr.startsWith(`${otherNode}/`)), podKey(pod));
    }
  });
});
