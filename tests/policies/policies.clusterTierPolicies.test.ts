/**
 * cluster-tier-policies: an Admin-tier Accept over an application namespace, or an
 * ApplicationNetworkPolicy in one, opens flows past the program's NetworkPolicies and is refused;
 * guardrails (Admin Deny/Pass, Baseline, other namespaces) pass.
 */
import { strict as assert } from "assert";
import {
  CONFIG,
  findTierBypasses,
  namespaceSelectorCouldSelect,
} from "../../policies/rules/clusterTierPolicies";

const CNP_TYPE = "kubernetes:networking.k8s.aws/v1alpha1:ClusterNetworkPolicy";
const ANP_TYPE = "kubernetes:networking.k8s.aws/v1alpha1:ApplicationNetworkPolicy";
const config = CONFIG.parse({ applicationNamespaces: ["flash-ticket"] });
const byName = (name: string) => ({ matchLabels: { "kubernetes.io/metadata.name": name } });

function cnp(spec: Record<string, unknown>, type = CNP_TYPE) {
  return { type, name: "cnp", urn: `urn:${type}::cnp`, props: { metadata: { name: "cnp" }, spec } };
}
const accept = { egress: [{ action: "Accept", to: [{ networks: ["0.0.0.0/0"] }] }] };

describe("cluster-tier-policies", () => {
  const refused: [string, Record<string, unknown>][] = [
    [
      "an Admin Accept on flash-ticket by name",
      { tier: "Admin", subject: { namespaces: byName("flash-ticket") }, ...accept },
    ],
    ["an Admin Accept on every namespace", { tier: "Admin", subject: { namespaces: {} }, ...accept }],
    [
      "an Admin Accept on pods of namespaces with some other label (flash-ticket may carry it)",
      {
        tier: "Admin",
        subject: { pods: { namespaceSelector: { matchLabels: { team: "x" } }, podSelector: {} } },
        ...accept,
      },
    ],
    [
      "an Admin Accept on namespaces NotIn kube-system",
      {
        tier: "Admin",
        subject: {
          namespaces: {
            matchExpressions: [
              { key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system"] },
            ],
          },
        },
        ...accept,
      },
    ],
    [
      "an ingress Admin Accept",
      {
        tier: "Admin",
        subject: { namespaces: byName("flash-ticket") },
        ingress: [{ action: "Accept", from: [{ namespaces: {} }] }],
      },
    ],
    ["an Accept with no tier written (judged as Admin)", { subject: { namespaces: {} }, ...accept }],
  ];
  for (const [what, spec] of refused) {
    it(`refuses ${what}`, () => {
      const found = findTierBypasses([cnp(spec)], config);
      assert.equal(found.length, 1, what);
      assert.match(
        found[0]!.message,
        /^ClusterNetworkPolicy cnp: spec\.(egress|ingress)\[0\] Accept in the Admin tier/,
      );
      assert.match(found[0]!.message, /flash-ticket/);
    });
  }

  const passed: [string, Record<string, unknown>][] = [
    [
      "an Admin Deny on flash-ticket (a guardrail such as no IMDS)",
      {
        tier: "Admin",
        subject: { namespaces: {} },
        egress: [{ action: "Deny", to: [{ networks: ["169.254.169.254/32"] }] }],
      },
    ],
    [
      "an Admin Pass (hands the decision to the NetworkPolicies)",
      {
        tier: "Admin",
        subject: { namespaces: {} },
        egress: [{ action: "Pass", to: [{ networks: ["0.0.0.0/0"] }] }],
      },
    ],
    [
      "a Baseline Accept (only pods no NetworkPolicy selects)",
      { tier: "Baseline", subject: { namespaces: {} }, ...accept },
    ],
    [
      "an Admin Accept pinned to monitoring by name",
      { tier: "Admin", subject: { namespaces: byName("monitoring") }, ...accept },
    ],
  ];
  for (const [what, spec] of passed) {
    it(`passes ${what}`, () => {
      assert.deepEqual(findTierBypasses([cnp(spec)], config), []);
    });
  }

  it("refuses an ApplicationNetworkPolicy in flash-ticket, not one in another namespace", () => {
    const anp = (namespace: string) => ({
      type: ANP_TYPE,
      name: "anp",
      urn: `urn:${ANP_TYPE}::anp`,
      props: {
        metadata: { name: "anp", namespace },
        spec: { podSelector: {}, policyTypes: ["Egress"], egress: [{}] },
      },
    });
    const found = findTierBypasses([anp("flash-ticket"), anp("monitoring")], config);
    assert.equal(found.length, 1);
    assert.match(found[0]!.message, /^ApplicationNetworkPolicy flash-ticket\/anp:/);
  });

  it("judges any version of the networking.k8s.aws kinds, and ignores other kinds", () => {
    const spec = { tier: "Admin", subject: { namespaces: {} }, ...accept };
    assert.equal(
      findTierBypasses([cnp(spec, "kubernetes:networking.k8s.aws/v1:ClusterNetworkPolicy")], config).length,
      1,
    );
    assert.deepEqual(
      findTierBypasses(
        [cnp(spec, "kubernetes:policy.networking.k8s.io/v1alpha1:AdminNetworkPolicy")],
        config,
      ),
      [],
    );
  });

  it("reads a namespace selector only by the name label", () => {
    assert.equal(namespaceSelectorCouldSelect(byName("flash-ticket"), "flash-ticket"), true);
    assert.equal(namespaceSelectorCouldSelect(byName("kube-system"), "flash-ticket"), false);
    const expression = (operator: string, values: string[]) => ({
      matchExpressions: [{ key: "kubernetes.io/metadata.name", operator, values }],
    });
    assert.equal(namespaceSelectorCouldSelect(expression("In", ["a", "b"]), "flash-ticket"), false);
    assert.equal(namespaceSelectorCouldSelect(expression("In", ["flash-ticket"]), "flash-ticket"), true);
    assert.equal(namespaceSelectorCouldSelect(expression("NotIn", ["flash-ticket"]), "flash-ticket"), false);
    assert.equal(namespaceSelectorCouldSelect(undefined, "flash-ticket"), true);
  });
});
