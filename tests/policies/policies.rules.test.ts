/**
 * The rules called directly, without a pack process: the pure decisions (default deny shape,
 * exemption dates, selector matching, "public-wide") and one call per rule through fake args.
 */
import { strict as assert } from "assert";
import type { PolicyResource } from "@pulumi/policy";
import { findMissingDefaultDeny, isDefaultDeny } from "../../policies/rules/namespaceDefaultDeny";
import {
  couldSelect,
  DEFAULT_CONFIG as ISOLATED_DEFAULTS,
  isolatedWorkloadsOf,
} from "../../policies/rules/isolatedWorkloads";
import { readStackConfig } from "../../offline/stackConfig";
import { listStacks } from "../../offline/stacks";
import { isPublicWide } from "../../policies/rules/publicEgress";
import { dnsEgressKubeDnsOnly } from "../../policies/rules/dnsEgress";
import { noAllowAllPeers } from "../../policies/rules/noAllowAllPeers";
import { explicitPolicyTypes } from "../../policies/rules/explicitPolicyTypes";
import { eksVpcCniLints } from "../../policies/rules/eksVpcCniLints";
import { RULES } from "../../policies/rules";
import { runRule, NETWORK_POLICY_TYPE as TYPE } from "../support/ruleArgs";
import type { NetworkPolicyView } from "../../policies/rules/k8s";

const denyAll: NetworkPolicyView = {
  metadata: { name: "default-deny-all", namespace: "flash-ticket" },
  spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
};
const stackResource = (props: NetworkPolicyView): PolicyResource =>
  ({
    type: TYPE,
    props,
    urn: `urn:${props.metadata?.name}`,
    name: props.metadata?.name ?? "",
  }) as unknown as PolicyResource;

describe("policy rules, called directly", () => {
  it("every rule has a unique name, a description and a validation", () => {
    assert.equal(new Set(RULES.map((rule) => rule.name)).size, RULES.length);
    for (const rule of RULES) {
      assert.ok(rule.description.length > 20, rule.name);
      assert.ok("validateResource" in rule || "validateStack" in rule, rule.name);
    }
  });

  it("a default deny is podSelector {}, both types and no rules; [] rules count as none", () => {
    assert.equal(isDefaultDeny(denyAll), true);
    assert.equal(isDefaultDeny({ spec: { ...denyAll.spec, ingress: [], egress: [] } }), true);
    assert.equal(isDefaultDeny({ spec: { ...denyAll.spec, policyTypes: ["Ingress"] } }), false);
    assert.equal(
      isDefaultDeny({ spec: { ...denyAll.spec, egress: [{ to: [{ podSelector: {} }] }] } }),
      false,
    );
    assert.equal(
      isDefaultDeny({ spec: { ...denyAll.spec, podSelector: { matchLabels: { app: "x" } } } }),
      false,
    );
  });

  it("exemptions hold through their last day (UTC) and then report at the rule's level", () => {
    const other = stackResource({
      metadata: { name: "p", namespace: "flash-ticket" },
      spec: { podSelector: { matchLabels: { a: "b" } } },
    });
    const config = {
      applicationNamespaces: ["flash-ticket"],
      exemptions: [{ namespace: "flash-ticket", until: "2027-01-31", reason: "gradual rollout" }],
    };
    const onLastDay = findMissingDefaultDeny([other], config, "2027-01-31");
    assert.equal(onLastDay.length, 1);
    assert.equal(onLastDay[0]!.forceLevel, "advisory");
    assert.match(
      onLastDay[0]!.message,
      /^Namespace flash-ticket: .*exempt until 2027-01-31, reason: gradual rollout\. Fix: /,
    );
    const dayAfter = findMissingDefaultDeny([other], config, "2027-02-01");
    assert.equal(dayAfter[0]!.forceLevel, undefined);
    assert.match(dayAfter[0]!.message, /expired on 2027-01-31/);
  });

  it("requires a default deny in every namespace with policies and every application namespace", () => {
    const elsewhere = stackResource({
      metadata: { name: "q", namespace: "payments" },
      spec: { podSelector: {} },
    });
    const found = findMissingDefaultDeny(
      [stackResource(denyAll), elsewhere],
      { applicationNamespaces: ["flash-ticket", "ops"], exemptions: [] },
      "2026-01-01",
    );
    assert.deepEqual(
      found.map((violation) => violation.message.split(":")[0]),
      ["Namespace ops", "Namespace payments"],
    );
  });

  it("couldSelect is conservative: only a contradicted known label rules a selector out", () => {
    const pay = { app: "flash-pay" };
    assert.equal(couldSelect({}, pay), true);
    assert.equal(couldSelect({ matchLabels: { app: "flash-api" } }, pay), false);
    assert.equal(couldSelect({ matchLabels: { tier: "web" } }, pay), true);
    assert.equal(
      couldSelect({ matchExpressions: [{ key: "app", operator: "NotIn", values: ["flash-pay"] }] }, pay),
      false,
    );
    assert.equal(
      couldSelect({ matchExpressions: [{ key: "app", operator: "In", values: ["flash-pay", "x"] }] }, pay),
      true,
    );
    assert.equal(couldSelect({ matchExpressions: [{ key: "app", operator: "DoesNotExist" }] }, pay), false);
  });

  it("the isolated workloads come from each stack's flow table: the pay worker", () => {
    for (const stack of listStacks()) {
      assert.deepEqual(isolatedWorkloadsOf(readStackConfig(`Pulumi.${stack}.yaml`)), [
        { namespace: "flash-ticket", podLabels: { app: "flash-pay" } },
      ]);
    }
  });

  it("without a flow table in its stack config (another project), the pack isolates nothing by default", () => {
    // This test process has no PULUMI_CONFIG: the pack's defaults are those of an unknown project.
    assert.deepEqual(ISOLATED_DEFAULTS.isolated, []);
    assert.deepEqual(isolatedWorkloadsOf({}), []);
  });

  it("public-wide: /0-ish, or strictly wider than the VPC, RFC1918 or 169.254/16", () => {
    assert.equal(isPublicWide("0.0.0.0/0", []), true);
    assert.equal(isPublicWide("128.0.0.0/1", []), true);
    assert.equal(isPublicWide("10.0.0.0/7", []), true);
    assert.equal(isPublicWide("100.64.0.0/9", ["100.64.0.0/10"]), true);
    assert.equal(isPublicWide("10.20.0.0/16", ["10.20.0.0/16"]), false);
    assert.equal(isPublicWide("10.20.64.0/24", []), false);
    assert.equal(isPublicWide("52.94.0.0/16", []), false);
  });

  it("DNS to the NodeLocal address is allowed only when configured, and only as a /32", () => {
    const nodeLocal: NetworkPolicyView = {
      metadata: { name: "dns", namespace: "flash-ticket" },
      spec: {
        podSelector: {},
        policyTypes: ["Egress"],
        egress: [
          {
            to: [{ ipBlock: { cidr: "169.254.20.10/32" } }],
            ports: [
              { protocol: "UDP", port: 53 },
              { protocol: "TCP", port: 53 },
            ],
          },
        ],
      },
    };
    assert.equal(runRule(dnsEgressKubeDnsOnly, nodeLocal).length, 1);
    assert.deepEqual(runRule(dnsEgressKubeDnsOnly, nodeLocal, { nodeLocalAddress: "169.254.20.10" }), []);
    assert.equal(runRule(dnsEgressKubeDnsOnly, nodeLocal, { nodeLocalAddress: "169.254.20.11" }).length, 1);
  });

  it("no-allow-all-peers honours its allow-list; the break-glass label alone exempts nothing", () => {
    const open: NetworkPolicyView = {
      metadata: { name: "public-web", namespace: "edge" },
      spec: {
        podSelector: {},
        policyTypes: ["Ingress"],
        ingress: [{ ports: [{ protocol: "TCP", port: 443 }] }],
      },
    };
    const [reported] = runRule(noAllowAllPeers, open);
    assert.match(
      reported!.message,
      /NetworkPolicy edge\/public-web: spec\.ingress\[0\] has no from and so allows every source\. Fix: /,
    );
    assert.deepEqual(runRule(noAllowAllPeers, open, { allowList: ["edge/public-web"] }), []);
    const breakGlass = {
      ...open,
      metadata: { ...open.metadata, labels: { "flash-netpol/break-glass": "true" } },
    };
    // Not the program's own break-glass (name, namespace, spec): judged like any policy.
    assert.equal(runRule(noAllowAllPeers, breakGlass).length, 1);
  });

  it("explicit-policy-types reports missing types and rules of a type not listed", () => {
    assert.equal(
      runRule(explicitPolicyTypes, { metadata: { name: "a", namespace: "n" }, spec: { podSelector: {} } })
        .length,
      1,
    );
    const ignored = runRule(explicitPolicyTypes, {
      metadata: { name: "a", namespace: "n" },
      spec: {
        podSelector: {},
        policyTypes: ["Ingress"],
        egress: [{ to: [{ podSelector: {} }], ports: [{ protocol: "TCP", port: 1 }] }],
      },
    });
    assert.match(ignored[0]!.message, /spec\.egress has rules but spec\.policyTypes lacks Egress/);
  });
});

describe("eks-vpc-cni-lints: what the VPC CNI agent enforces differently", () => {
  const egressPolicy = (egress: NonNullable<NetworkPolicyView["spec"]>["egress"]): NetworkPolicyView => ({
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: "p", namespace: "flash-ticket" },
    spec: { podSelector: {}, policyTypes: ["Egress"], egress },
  });

  // These cases are about except ranges and ports; the ClusterIP lint has its own mutation test.
  const NO_SERVICE_RANGE = { serviceCidrs: [] };

  it("one CIDR in two rules with different ports is a union on current agents: not reported", () => {
    const reported = runRule(
      eksVpcCniLints,
      egressPolicy([
        { to: [{ ipBlock: { cidr: "10.20.1.0/24" } }], ports: [{ protocol: "TCP", port: 6379 }] },
        { to: [{ ipBlock: { cidr: "10.20.1.0/24" } }], ports: [{ protocol: "TCP", port: 5671 }] },
      ]),
      NO_SERVICE_RANGE,
    );
    assert.deepEqual(reported, []);
  });

  it("an except range another rule covers without excepting it is reported, with the fix", () => {
    const reported = runRule(
      eksVpcCniLints,
      egressPolicy([
        {
          to: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/8"] } }],
          ports: [{ protocol: "TCP", port: 443 }],
        },
        { to: [{ ipBlock: { cidr: "10.0.0.0/7" } }], ports: [{ protocol: "TCP", port: 15432 }] },
      ]),
      NO_SERVICE_RANGE,
    );
    assert.equal(reported.length, 1);
    assert.match(
      reported[0].message,
      /spec\.egress\[0\]\.to\[0\]\.ipBlock excepts 10\.0\.0\.0\/8, which spec\.egress\[1\]\.to\[0\]\.ipBlock \(10\.0\.0\.0\/7\) covers without excepting it; .* deny-all key/,
    );
    assert.match(reported[0].message, /also list 10\.0\.0\.0\/8 as a plain ipBlock/);
  });

  it("is quiet once the excepted range is also listed as a plain CIDR (the break-glass fix)", () => {
    const reported = runRule(
      eksVpcCniLints,
      egressPolicy([
        {
          to: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/8"] } }],
          ports: [{ protocol: "TCP", port: 443 }],
        },
        { to: [{ ipBlock: { cidr: "10.0.0.0/7" } }, { ipBlock: { cidr: "10.0.0.0/8" } }] },
      ]),
      NO_SERVICE_RANGE,
    );
    assert.deepEqual(reported, []);
  });
});
