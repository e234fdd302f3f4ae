/**
 * The flash-ticket model: where its endpoints sit and which probes the flow table intends.
 *
 * Expected intents are written out by hand from the README's flow table ("may be reached by" /
 * "may call") and the stacks' subnets (fixtures/aws), not read back from the model's code.
 */
import * as assert from "node:assert/strict";
import {
  buildFlashModel,
  topologyFromConfig,
  type FlashModel,
  type NamedEndpoint,
} from "../../analyzer/flash";
import { ipv4InAny } from "../../analyzer/flash/addresses";
import { buildPlan } from "../../offline/planReport";
import { listStacks } from "../../offline/stacks";

const addressOf = (named: NamedEndpoint) =>
  named.endpoint.kind === "pod" ? named.endpoint.pod.ip : named.endpoint.ip;

async function modelOf(stack: string): Promise<FlashModel> {
  const { report, config } = await buildPlan({ stack });
  return buildFlashModel(topologyFromConfig(config, report.cidrs));
}

function intendedProbes(model: FlashModel): string[] {
  return model.probes
    .filter((probe) => probe.intendedBy.length > 0)
    .map((probe) => `${probe.from.name} -> ${probe.to.name} ${probe.port}/${probe.protocol}`)
    .sort();
}

const DNS = (from: string, dnsEndpoints: readonly string[]) =>
  dnsEndpoints.flatMap((to) => [`${from} -> ${to} 53/TCP`, `${from} -> ${to} 53/UDP`]);

// dev: Redis and RDS share 10.20.64.0/24 and 10.20.65.0/24, MQ sits in 10.20.64.0/24 only, so by
// address the "postgres" endpoint on 6379 IS the Redis subnet. No NodeLocal DNSCache.
const DEV_IN_64 = ["redis", "postgres", "mq"];
const DEV_IN_64_OR_65 = ["redis", "redis-2", "postgres", "postgres-2", "mq"];
const DEV_INTENDED = [
  ...["alb", "alb-2", "alb-3"].map((alb) => `${alb} -> flash-ticket/flash-gateway 3000/TCP`),
  "flash-ticket/flash-gateway -> flash-ticket/flash-api 4000/TCP",
  ...DEV_IN_64_OR_65.map((to) => `flash-ticket/flash-gateway -> ${to} 6379/TCP`),
  ...DEV_IN_64_OR_65.map((to) => `flash-ticket/flash-api -> ${to} 15432/TCP`),
  ...DEV_IN_64_OR_65.map((to) => `flash-ticket/flash-api -> ${to} 6379/TCP`),
  ...DEV_IN_64.map((to) => `flash-ticket/flash-api -> ${to} 5671/TCP`),
  ...DEV_IN_64.map((to) => `flash-ticket/flash-pay -> ${to} 5671/TCP`),
  "flash-ticket/flash-pay -> internet 443/TCP",
  // Every pod of the namespace resolves names: allow-dns-egress is part of the target.
  ...["flash-gateway", "flash-api", "flash-pay", "unlabelled"].flatMap((pod) =>
    DNS(`flash-ticket/${pod}`, ["kube-system/kube-dns"]),
  ),
].sort();

// prod: disjoint subnets per store, NodeLocal DNSCache at 169.254.20.10.
const PROD_INTENDED = [
  ...["alb", "alb-2", "alb-3"].map((alb) => `${alb} -> flash-ticket/flash-gateway 3000/TCP`),
  "flash-ticket/flash-gateway -> flash-ticket/flash-api 4000/TCP",
  ...["redis", "redis-2", "redis-3"].map((to) => `flash-ticket/flash-gateway -> ${to} 6379/TCP`),
  ...["postgres", "postgres-2", "postgres-3"].map((to) => `flash-ticket/flash-api -> ${to} 15432/TCP`),
  ...["redis", "redis-2", "redis-3"].map((to) => `flash-ticket/flash-api -> ${to} 6379/TCP`),
  ...["mq", "mq-2"].map((to) => `flash-ticket/flash-api -> ${to} 5671/TCP`),
  ...["mq", "mq-2"].map((to) => `flash-ticket/flash-pay -> ${to} 5671/TCP`),
  "flash-ticket/flash-pay -> internet 443/TCP",
  ...["flash-gateway", "flash-api", "flash-pay", "unlabelled"].flatMap((pod) =>
    DNS(`flash-ticket/${pod}`, ["kube-system/kube-dns", "node-local-dns"]),
  ),
].sort();

describe("flash model", () => {
  const models: Record<string, FlashModel> = {};
  before(async () => {
    for (const stack of listStacks()) models[stack] = await modelOf(stack);
  });

  for (const stack of listStacks()) {
    it(`${stack}: pods sit in the VPC, outside every ALB and data-store subnet, each at its own address`, () => {
      const { topology, pods, endpoints } = models[stack];
      const places = [
        ...topology.cidrs.alb,
        ...topology.cidrs.redis,
        ...topology.cidrs.postgres,
        ...topology.cidrs.mq,
      ];
      for (const pod of pods) {
        assert.ok(ipv4InAny(pod.ip, topology.cidrs.vpc), `${pod.name} ${pod.ip} outside the VPC`);
        assert.ok(!ipv4InAny(pod.ip, places), `${pod.name} ${pod.ip} inside an ALB or data-store subnet`);
      }
      const addresses = endpoints.map(addressOf);
      assert.equal(new Set(addresses).size, addresses.length, "two endpoints share an address");
    });

    it(`${stack}: the namespace holds one pod per service with config labels and port, and an unlabelled pod`, () => {
      const { pods } = models[stack];
      const inNamespace = pods.filter((pod) => pod.namespace === "flash-ticket");
      assert.deepEqual(
        inNamespace.map((pod) => [pod.name, pod.labels, pod.ports.map((port) => port.port)]),
        [
          ["flash-gateway", { app: "flash-gateway" }, [3000]],
          ["flash-api", { app: "flash-api" }, [4000]],
          ["flash-pay", { app: "flash-pay" }, [8080]],
          ["unlabelled", {}, [8080]],
        ],
      );
      const dns = pods.find((pod) => pod.namespace === "kube-system");
      assert.deepEqual(dns?.labels, { "k8s-app": "kube-dns" });
      assert.deepEqual(dns?.ports.map((port) => `${port.port}/${port.protocol}`).sort(), [
        "53/TCP",
        "53/UDP",
      ]);
      assert.ok(pods.some((pod) => pod.namespace === "other-app"));
      for (const namespace of models[stack].namespaces) {
        assert.equal(namespace.labels["kubernetes.io/metadata.name"], namespace.name);
      }
    });

    it(`${stack}: each data-store and ALB endpoint lies in its own subnet; vpc-other in the VPC but in none`, () => {
      const { topology, endpoints } = models[stack];
      const at = (name: string) => {
        const found = endpoints.find((endpoint) => endpoint.name === name);
        assert.ok(found, `no endpoint ${name}`);
        return addressOf(found);
      };
      for (const place of ["alb", "redis", "postgres", "mq"] as const) {
        topology.cidrs[place].forEach((cidr, index) => {
          const name = index === 0 ? place : `${place}-${index + 1}`;
          assert.ok(ipv4InAny(at(name), [cidr]), `${name} ${at(name)} not in ${cidr}`);
        });
      }
      const places = [
        ...topology.cidrs.alb,
        ...topology.cidrs.redis,
        ...topology.cidrs.postgres,
        ...topology.cidrs.mq,
      ];
      assert.ok(ipv4InAny(at("vpc-other"), topology.cidrs.vpc));
      assert.ok(!ipv4InAny(at("vpc-other"), places));
      assert.equal(at("metadata-service"), "169.254.169.254");
      assert.equal(at("internet"), "203.0.113.10");
    });

    it(`${stack}: probes every flow-table port, every service port and 22, 80, 5432, 8080`, () => {
      const ports = models[stack].ports.map((port) => `${port.port}/${port.protocol}`);
      for (const expected of [
        "53/UDP",
        "53/TCP",
        "443/TCP",
        "3000/TCP",
        "4000/TCP",
        "5671/TCP",
        "6379/TCP",
        "15432/TCP",
        "8080/TCP",
        "22/TCP",
        "80/TCP",
        "5432/TCP",
      ]) {
        assert.ok(ports.includes(expected), `${expected} not probed`);
      }
    });

    it(`${stack}: no external -> external probe, and every probe touches a flash-ticket pod`, () => {
      for (const probe of models[stack].probes) {
        assert.ok(probe.from.endpoint.kind === "pod" || probe.to.endpoint.kind === "pod");
        assert.ok(probe.from.name.startsWith("flash-ticket/") || probe.to.name.startsWith("flash-ticket/"));
      }
    });
  }

  it("prod: pods take the secondary VPC range 100.64.0.0/16, which holds no ALB or data-store subnet", () => {
    for (const pod of models.prod.pods)
      assert.ok(ipv4InAny(pod.ip, ["100.64.0.0/16"]), `${pod.name} ${pod.ip}`);
    assert.ok(models.prod.endpoints.some((endpoint) => endpoint.name === "node-local-dns"));
    assert.ok(!models.dev.endpoints.some((endpoint) => endpoint.name === "node-local-dns"));
  });

  it("dev: intended probes are the flow table by address (shared Redis/RDS/MQ subnets) plus DNS for every pod", () => {
    assert.deepEqual(intendedProbes(models.dev), DEV_INTENDED);
  });

  it("prod: intended probes are the flow table by address plus DNS (kube-dns and NodeLocal) for every pod", () => {
    assert.deepEqual(intendedProbes(models.prod), PROD_INTENDED);
  });

  it("the look-alike in other-app wears flash-api's and kube-dns's labels but is intended by no flow", () => {
    for (const stack of listStacks()) {
      const touching = models[stack].probes.filter(
        (probe) => probe.from.name === "other-app/lookalike" || probe.to.name === "other-app/lookalike",
      );
      assert.ok(touching.length > 0);
      assert.deepEqual(
        touching.filter((probe) => probe.intendedBy.length > 0),
        [],
      );
    }
  });
});
