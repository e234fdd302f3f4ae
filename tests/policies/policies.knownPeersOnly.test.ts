/**
 * known-peers-only: selector peers must be a service of the flow table (all its labels, its
 * namespace) or kube-dns on port 53. Each widening of a peer on prod's full target is refused.
 */
import { strict as assert } from "assert";
import { CONFIG, knownPeersOnly, NAME } from "../../policies/rules/knownPeersOnly";
import type { PeerView } from "../../policies/rules/k8s";
import { runRule } from "../support/ruleArgs";
import {
  mutated,
  packRuleConfig,
  prodFullTarget,
  withEgress,
  withIngress,
  useStackConfig,
  assertTargetsPass,
} from "../support/targets";

const PROD = packRuleConfig("prod", NAME);
const target = prodFullTarget();
const KUBE_DNS: PeerView = {
  namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
  podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
};

describe("known-peers-only", () => {
  useStackConfig("prod");

  it("passes prod's full target under prod's config and dev's target under dev's", () => {
    assertTargetsPass(knownPeersOnly);
  });

  it("accepts a service pinned by all its labels, narrowed further by an In expression", () => {
    const narrowed = withIngress(
      target,
      "flash-api-ingress",
      [
        {
          podSelector: {
            matchLabels: { app: "flash-gateway" },
            matchExpressions: [{ key: "app", operator: "In", values: ["flash-gateway"] }],
          },
        },
      ],
      [{ port: 4000 }],
    );
    assert.deepEqual(runRule(knownPeersOnly, narrowed, PROD), []);
  });

  const ingressVariants: [string, PeerView, RegExp][] = [
    ["podSelector {} (every pod of the namespace)", { podSelector: {} }, /not one service of the flow table/],
    [
      "a pod the flow table does not know",
      { podSelector: { matchLabels: { app: "debug-shell" } } },
      /not one service/,
    ],
    [
      "another namespace by kubernetes.io/metadata.name",
      {
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } },
        podSelector: { matchLabels: { app: "prometheus" } },
      },
      /selects namespaces by/,
    ],
    [
      "a namespace by a hand-set label",
      { namespaceSelector: { matchLabels: { team: "flash" } } },
      /selects namespaces by/,
    ],
    [
      "a namespaceSelector Exists expression",
      {
        namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "Exists" }] },
      },
      /Exists, which matches every pod or namespace but a few/,
    ],
    [
      "a podSelector NotIn expression",
      { podSelector: { matchExpressions: [{ key: "app", operator: "NotIn", values: ["flash-pay"] }] } },
      /NotIn/,
    ],
    [
      "a podSelector DoesNotExist expression",
      { podSelector: { matchExpressions: [{ key: "app", operator: "DoesNotExist" }] } },
      /DoesNotExist/,
    ],
    [
      "a known label widened by an Exists expression on another key",
      {
        podSelector: {
          matchLabels: { app: "flash-gateway" },
          matchExpressions: [{ key: "tier", operator: "Exists" }],
        },
      },
      /tier Exists/,
    ],
    [
      "an In expression naming two services instead of labels",
      {
        podSelector: {
          matchExpressions: [{ key: "app", operator: "In", values: ["flash-gateway", "flash-pay"] }],
        },
      },
      /not one service/,
    ],
    ["kube-dns as an ingress source", KUBE_DNS, /kube-dns is a peer only for DNS/],
  ];
  for (const [what, peer, message] of ingressVariants) {
    it(`refuses ingress to flash-api from ${what}`, () => {
      const found = runRule(
        knownPeersOnly,
        withIngress(target, "flash-api-ingress", [peer], [{ port: 4000 }]),
        PROD,
      );
      assert.equal(found.length, 1);
      assert.match(
        found[0]!.message,
        /^NetworkPolicy flash-ticket\/flash-api-ingress: spec\.ingress\[1\]\.from\[0\] /,
      );
      assert.match(found[0]!.message, message);
    });
  }

  it("refuses all of kube-system on 443, kube-dns on 443, and kube-dns without ports", () => {
    const kubeSystem = withEgress(
      target,
      "flash-api-egress",
      [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } } }],
      [{ port: 443 }],
    );
    assert.match(runRule(knownPeersOnly, kubeSystem, PROD)[0]!.message, /selects namespaces by/);
    const dnsOn443 = withEgress(target, "flash-api-egress", [KUBE_DNS], [{ port: 443 }]);
    assert.match(
      runRule(knownPeersOnly, dnsOn443, PROD)[0]!.message,
      /egress on 443\/TCP, but kube-dns is a peer only for DNS/,
    );
    const dnsEveryPort = mutated(target, "flash-api-egress", (policy) => {
      policy.spec!.egress!.push({ to: [KUBE_DNS] });
    });
    assert.equal(runRule(knownPeersOnly, dnsEveryPort, PROD).length, 1);
  });

  it("refuses a service's labels in a policy of another namespace (other pods wear them there)", () => {
    const elsewhere = mutated(target, "flash-api-ingress", (policy) => {
      policy.metadata!.namespace = "default";
    });
    assert.match(
      runRule(knownPeersOnly, elsewhere, PROD)[0]!.message,
      /in default, which is not one service/,
    );
  });

  it("by default knows the services of the stack's flow table (Pulumi.yaml: gateway, api, pay in flash-ticket)", () => {
    assert.deepEqual(CONFIG.parse({}).workloads, [
      { namespace: "flash-ticket", podLabels: { app: "flash-gateway" } },
      { namespace: "flash-ticket", podLabels: { app: "flash-api" } },
      { namespace: "flash-ticket", podLabels: { app: "flash-pay" } },
    ]);
    const gatewayPeer = target.find((policy) => policy.metadata?.name === "flash-api-ingress")!;
    assert.equal(runRule(knownPeersOnly, gatewayPeer, { workloads: [] }).length, 1);
  });
});
