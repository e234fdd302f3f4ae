/**
 * The probe plan of dev and prod. Expected verdicts are written here from the flow table and each
 * stack's rollout stage, by hand, not taken from the planner's output:
 *  - dev enforces everything: only the table's flows (and DNS for every namespace pod) get through;
 *  - prod is at stage 3: every ingress enforced, egress of flash-gateway and flash-pay enforced,
 *    flash-api's egress and the default deny not yet. So flash-api and any unselected pod still
 *    reach anything outside the namespace, while every service refuses undeclared callers.
 */
import * as assert from "node:assert/strict";
import type { StackConfig } from "../../core/config";
import type { NetworkPolicyManifest } from "../../core/networkPolicies";
import { buildPlan } from "../../offline/planReport";
import type { PlannedProbe, ProbePlan } from "../../verify/probe";
import { planProbes, type ProbePlanOptions } from "../../verify/probePlan";
import { ExpectationError } from "../../verify/stageMatrix";
import { COMPONENT_TYPE } from "../../core/resourceTypes";

interface StackInputs {
  config: StackConfig;
  componentOutputs: Record<string, unknown>;
  manifests: NetworkPolicyManifest[];
}

const inputs = new Map<string, StackInputs>();

async function stackInputs(stack: string): Promise<StackInputs> {
  const cached = inputs.get(stack);
  if (cached !== undefined) return cached;
  const { report, run, config } = await buildPlan({ stack });
  const component = run.resources.find((resource) => resource.type === COMPONENT_TYPE);
  assert.ok(component?.outputs, "the component registered its outputs");
  const loaded = { config, componentOutputs: component.outputs, manifests: report.manifests };
  inputs.set(stack, loaded);
  return loaded;
}

const DEFAULT_OPTIONS: ProbePlanOptions = {
  paymentHost: "https://api.stripe.com",
  otherNamespace: "default",
};

async function planFor(stack: string, options: ProbePlanOptions = DEFAULT_OPTIONS): Promise<ProbePlan> {
  const loaded = await stackInputs(stack);
  return planProbes({ stack, ...loaded, options });
}

/** Names a probe's target the way the flow table does, so the tables below read like it. */
function logicalTarget(probe: PlannedProbe, endpoints: Record<string, string>): string {
  const stores = Object.entries(endpoints).find(([, host]) => host === probe.to);
  if (stores !== undefined) return stores[0];
  const service = /^(flash-[a-z]+)\.flash-ticket\.svc\.cluster\.local$/.exec(probe.to);
  if (service !== null) return service[1];
  if (probe.port === 53) return "dns";
  if (probe.to === "169.254.169.254") return "metadata";
  if (probe.to === "api.stripe.com") return "internet";
  return probe.to;
}

async function verdictTable(stack: string): Promise<Map<string, string>> {
  const plan = await planFor(stack);
  const endpoints = (await stackInputs(stack)).componentOutputs.endpoints as Record<string, string>;
  const table = new Map<string, string>();
  for (const probe of plan.probes) {
    const key = `${probe.from} -> ${logicalTarget(probe, endpoints)}:${probe.port}/${probe.protocol}`;
    assert.equal(table.has(key), false, `one probe per connection (${key})`);
    table.set(key, probe.expected);
  }
  return table;
}

const INTENDED = [
  "flash-gateway -> flash-api:4000/TCP",
  "flash-gateway -> redis:6379/TCP",
  "flash-gateway -> dns:53/UDP",
  "flash-gateway -> dns:53/TCP",
  "flash-api -> postgres:15432/TCP",
  "flash-api -> redis:6379/TCP",
  "flash-api -> mq:5671/TCP",
  "flash-api -> dns:53/UDP",
  "flash-api -> dns:53/TCP",
  "flash-pay -> mq:5671/TCP",
  "flash-pay -> internet:443/TCP",
  "flash-pay -> dns:53/UDP",
  "flash-pay -> dns:53/TCP",
  // allow-dns-egress covers every pod of the namespace, the stray one included.
  "probe-pod -> dns:53/UDP",
];

const NEVER_ALLOWED = [
  "flash-gateway -> flash-pay:8080/TCP",
  "flash-gateway -> postgres:15432/TCP",
  "flash-gateway -> mq:5671/TCP",
  "flash-gateway -> metadata:80/TCP",
  "flash-gateway -> internet:443/TCP",
  "flash-api -> flash-gateway:3000/TCP",
  "flash-api -> flash-pay:8080/TCP",
  "flash-pay -> flash-gateway:3000/TCP",
  "flash-pay -> flash-api:4000/TCP",
  "flash-pay -> redis:6379/TCP",
  "flash-pay -> postgres:15432/TCP",
  "flash-pay -> metadata:80/TCP",
  "probe-pod -> flash-gateway:3000/TCP",
  "probe-pod -> flash-api:4000/TCP",
  "probe-pod -> flash-pay:8080/TCP",
  "probe-pod@default -> flash-gateway:3000/TCP",
  "probe-pod@default -> flash-api:4000/TCP",
  "probe-pod@default -> flash-pay:8080/TCP",
];

/** Blocked once flash-api's egress and the default deny are enforced; open at prod's stage 3. */
const OPEN_UNTIL_FULL_ENFORCEMENT = [
  "flash-api -> metadata:80/TCP",
  "flash-api -> internet:443/TCP",
  "probe-pod -> redis:6379/TCP",
  "probe-pod -> postgres:15432/TCP",
  "probe-pod -> mq:5671/TCP",
  "probe-pod -> internet:443/TCP",
];

function expectedTable(openUntilFull: "allowed" | "blocked"): Map<string, string> {
  return new Map([
    ...INTENDED.map((key) => [key, "allowed"] as const),
    ...NEVER_ALLOWED.map((key) => [key, "blocked"] as const),
    ...OPEN_UNTIL_FULL_ENFORCEMENT.map((key) => [key, openUntilFull] as const),
  ]);
}

describe("verify: probe plan", function () {
  // Each stack's program runs once under mocks, then the plans are pure.

  it("dev (fully enforced): the table's flows and namespace DNS allowed, everything else blocked", async () => {
    const table = await verdictTable("dev");
    assert.deepEqual(
      Object.fromEntries([...table].sort()),
      Object.fromEntries([...expectedTable("blocked")].sort()),
    );
    assert.equal(table.size, 38);
    assert.equal([...table.values()].filter((verdict) => verdict === "allowed").length, 14);
  });

  it("prod (stage 3): flash-api and stray pods still reach outside; every service refuses undeclared callers", async () => {
    const table = await verdictTable("prod");
    assert.deepEqual(
      Object.fromEntries([...table].sort()),
      Object.fromEntries([...expectedTable("allowed")].sort()),
    );
    assert.equal([...table.values()].filter((verdict) => verdict === "allowed").length, 20);
  });

  it("every service probes the instance metadata service, blocked for all at full enforcement", async () => {
    const plan = await planFor("dev");
    const metadata = plan.probes.filter((probe) => probe.to === "169.254.169.254");
    assert.deepEqual(
      metadata.map((probe) => [probe.from, probe.port, probe.expected]),
      [
        ["flash-gateway", 80, "blocked"],
        ["flash-api", 80, "blocked"],
        ["flash-pay", 80, "blocked"],
      ],
    );
  });

  it("targets: Service DNS names, the data stores' endpoint names, the resolver, the payment host", async () => {
    const plan = await planFor("prod");
    const outputs = (await stackInputs("prod")).componentOutputs.endpoints as Record<string, string>;
    const find = (from: string, to: string, port: number) =>
      plan.probes.find((probe) => probe.from === from && probe.to === to && probe.port === port);
    assert.deepEqual(find("flash-gateway", "flash-api.flash-ticket.svc.cluster.local", 4000)?.check, {
      kind: "tcp",
      host: "flash-api.flash-ticket.svc.cluster.local",
      port: 4000,
    });
    assert.deepEqual(find("flash-api", outputs.postgres, 15432)?.check, {
      kind: "tcp",
      host: "flash-prod-aurora.cluster-c7ab1xyz2def.ap-northeast-2.rds.amazonaws.com",
      port: 15432,
    });
    assert.deepEqual(find("flash-api", "cluster-dns (resolv.conf)", 53)?.check, {
      kind: "dns",
      name: "kubernetes.default.svc.cluster.local",
    });
    // prod runs NodeLocal DNSCache: TCP DNS goes to its address; dev has none and uses kube-dns.
    assert.ok(find("flash-api", "169.254.20.10", 53));
    const dev = await planFor("dev");
    assert.ok(dev.probes.some((probe) => probe.to === "kube-dns.kube-system.svc.cluster.local"));
    assert.equal(find("flash-pay", "api.stripe.com", 443)?.intended, true);
  });

  it("sources: service pods by their config labels, an unlabelled probe pod, a look-alike elsewhere", async () => {
    const plan = await planFor("prod");
    assert.deepEqual(plan.sources, [
      {
        kind: "service",
        key: "flash-gateway",
        service: "flash-gateway",
        namespace: "flash-ticket",
        deployment: "flash-gateway",
        selector: "app=flash-gateway",
      },
      {
        kind: "service",
        key: "flash-api",
        service: "flash-api",
        namespace: "flash-ticket",
        deployment: "flash-api",
        selector: "app=flash-api",
      },
      {
        kind: "service",
        key: "flash-pay",
        service: "flash-pay",
        namespace: "flash-ticket",
        deployment: "flash-pay",
        selector: "app=flash-pay",
      },
      {
        kind: "probePod",
        key: "probe-pod",
        role: "unlabelled",
        namespace: "flash-ticket",
        labels: { "flash-netpol/probe": "true" },
        selectedBy: [],
      },
      {
        kind: "probePod",
        key: "probe-pod@default",
        role: "other-namespace",
        namespace: "default",
        labels: { app: "flash-api", "k8s-app": "kube-dns", "flash-netpol/probe": "true" },
        selectedBy: [],
      },
    ]);
    assert.equal(plan.stage.startsWith("defaultDeny off"), true);
    assert.deepEqual(plan.cluster, { name: "flash-prod", region: "ap-northeast-2" });
    assert.equal(plan.notProbed.length, 1);
    assert.match(plan.notProbed[0], /^alb -> flash-gateway/);
  });

  it("dev's stray probe pod is selected by the default deny and the DNS allow: the agent must list it in theirs", async () => {
    const plan = await planFor("dev");
    const stray = plan.sources.find((source) => source.key === "probe-pod");
    assert.ok(stray?.kind === "probePod");
    assert.deepEqual([...stray.selectedBy].sort(), ["allow-dns-egress", "default-deny-all"]);
  });

  it("without --other-namespace there is no look-alike pod and no probe from it", async () => {
    const plan = await planFor("prod", { paymentHost: "api.stripe.com" });
    assert.equal(
      plan.sources.some((source) => source.key.startsWith("probe-pod@")),
      false,
    );
    assert.equal(plan.probes.length, 35);
  });

  it("the payment host flag moves every internet probe; a host that could pass for an option is refused", async () => {
    const plan = await planFor("prod", { paymentHost: "https://payments.example.com:8443/v1" });
    assert.equal(plan.probes.filter((probe) => probe.to === "payments.example.com").length, 4);
    await assert.rejects(planFor("prod", { paymentHost: "-e/bin/sh" }), ExpectationError);
  });

  it("refuses an expectation when the stage treats two subnets of one store differently", async () => {
    const loaded = await stackInputs("prod");
    // The gateway's egress loses one Redis subnet: the live verdict would depend on the resolved IP.
    const manifests = loaded.manifests.map((manifest) =>
      manifest.metadata.name.includes("flash-gateway") && manifest.spec.egress !== undefined
        ? {
            ...manifest,
            spec: {
              ...manifest.spec,
              egress: manifest.spec.egress.map((rule) => ({
                ...rule,
                to: rule.to?.filter((peer) => peer.ipBlock?.cidr !== "10.30.65.0/24"),
              })),
            },
          }
        : manifest,
    );
    assert.throws(
      () => planProbes({ stack: "prod", ...loaded, manifests, options: DEFAULT_OPTIONS }),
      (error: Error) =>
        error instanceof ExpectationError &&
        /treats the addresses of one target differently/.test(error.message),
    );
  });
});
