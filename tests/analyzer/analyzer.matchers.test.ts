// Expectations come from the networking.k8s.io/v1 API reference and the Kubernetes
// NetworkPolicy concept page, not from running the analyzer.
import assert from "node:assert/strict";
import {
  PolicyAnalyzer,
  compileIpBlock,
  compileLabelSelector,
  compilePorts,
  effectivePolicyTypes,
  parseAddress,
  parseScenario,
  ScenarioError,
  type ContainerPort,
} from "../../analyzer";
import { at, cluster, external, namespace, pod, policy, probe } from "./analyzer.fixtures";

describe("analyzer: label selectors", () => {
  const labels = { app: "web", tier: "frontend" };

  it("an empty selector selects every label set, including none", () => {
    assert.equal(compileLabelSelector({})(labels), true);
    assert.equal(compileLabelSelector({})({}), true);
  });

  it("matchLabels needs every pair to be present with equal value", () => {
    assert.equal(compileLabelSelector({ matchLabels: { app: "web" } })(labels), true);
    assert.equal(compileLabelSelector({ matchLabels: { app: "web", tier: "backend" } })(labels), false);
    assert.equal(compileLabelSelector({ matchLabels: { app: "web" } })({}), false);
  });

  it("In: the key exists and its value is listed", () => {
    const selector = compileLabelSelector({
      matchExpressions: [{ key: "app", operator: "In", values: ["api", "web"] }],
    });
    assert.equal(selector(labels), true);
    assert.equal(selector({ app: "db" }), false);
    assert.equal(selector({}), false);
  });

  it("NotIn: the key is absent, or its value is not listed", () => {
    const selector = compileLabelSelector({
      matchExpressions: [{ key: "app", operator: "NotIn", values: ["web"] }],
    });
    assert.equal(selector(labels), false);
    assert.equal(selector({ app: "api" }), true);
    assert.equal(selector({}), true);
  });

  it("Exists and DoesNotExist look only at the key", () => {
    const exists = compileLabelSelector({ matchExpressions: [{ key: "tier", operator: "Exists" }] });
    const absent = compileLabelSelector({ matchExpressions: [{ key: "tier", operator: "DoesNotExist" }] });
    assert.equal(exists(labels), true);
    assert.equal(exists({ tier: "" }), true);
    assert.equal(exists({ app: "web" }), false);
    assert.equal(absent(labels), false);
    assert.equal(absent({ app: "web" }), true);
  });

  it("matchLabels and matchExpressions are ANDed", () => {
    const selector = compileLabelSelector({
      matchLabels: { app: "web" },
      matchExpressions: [{ key: "tier", operator: "In", values: ["backend"] }],
    });
    assert.equal(selector(labels), false);
    assert.equal(selector({ app: "web", tier: "backend" }), true);
  });
});

describe("analyzer: ipBlock", () => {
  const inBlock = (cidr: string, except: string[], ip: string): boolean =>
    compileIpBlock({ cidr, except })(parseAddress(ip));

  it("matches inside cidr and outside every except range", () => {
    assert.equal(inBlock("10.0.0.0/8", ["10.1.0.0/16"], "10.2.3.4"), true);
    assert.equal(inBlock("10.0.0.0/8", ["10.1.0.0/16"], "10.1.2.3"), false);
    assert.equal(inBlock("10.0.0.0/8", ["10.1.0.0/16"], "11.0.0.1"), false);
    assert.equal(inBlock("172.17.0.0/16", ["172.17.1.0/24", "172.17.2.5/32"], "172.17.2.5"), false);
    assert.equal(inBlock("172.17.0.0/16", ["172.17.1.0/24", "172.17.2.5/32"], "172.17.2.6"), true);
  });

  it("handles prefixes that do not end on an octet", () => {
    assert.equal(inBlock("192.0.0.0/4", [], "192.168.1.10"), true);
    assert.equal(inBlock("192.0.0.0/4", [], "207.255.255.255"), true);
    assert.equal(inBlock("192.0.0.0/4", [], "208.0.0.0"), false);
    assert.equal(inBlock("0.0.0.0/0", [], "8.8.8.8"), true);
  });

  it("handles IPv6 and never matches across address families", () => {
    assert.equal(inBlock("fd00::/8", ["fd00:1::/32"], "fd00:2::1"), true);
    assert.equal(inBlock("fd00::/8", ["fd00:1::/32"], "fd00:1::5"), false);
    assert.equal(inBlock("::/0", [], "10.0.0.1"), false);
    assert.equal(inBlock("0.0.0.0/0", [], "2001:db8::1"), false);
  });
});

describe("analyzer: ports", () => {
  const declared: ContainerPort[] = [
    { name: "http", port: 8080, protocol: "TCP" },
    { name: "dns", port: 53, protocol: "UDP" },
  ];

  it("absent or empty ports allow every port and protocol", () => {
    assert.equal(compilePorts(undefined).matches(1, "SCTP", undefined), true);
    assert.equal(compilePorts([]).matches(65535, "UDP", undefined), true);
  });

  it("an absent protocol means TCP", () => {
    const ports = compilePorts([{ port: 80 }]);
    assert.equal(ports.matches(80, "TCP", undefined), true);
    assert.equal(ports.matches(80, "UDP", undefined), false);
  });

  it("a protocol without a port allows every port of that protocol", () => {
    const ports = compilePorts([{ protocol: "UDP" }]);
    assert.equal(ports.matches(1, "UDP", undefined), true);
    assert.equal(ports.matches(65535, "UDP", undefined), true);
    assert.equal(ports.matches(53, "TCP", undefined), false);
  });

  it("endPort makes an inclusive range", () => {
    const ports = compilePorts([{ protocol: "TCP", port: 32000, endPort: 32768 }]);
    assert.deepEqual(
      [31999, 32000, 32500, 32768, 32769].map((port) => ports.matches(port, "TCP", undefined)),
      [false, true, true, true, false],
    );
  });

  it("SCTP is its own protocol", () => {
    const ports = compilePorts([{ protocol: "SCTP", port: 5000 }]);
    assert.equal(ports.matches(5000, "SCTP", undefined), true);
    assert.equal(ports.matches(5000, "TCP", undefined), false);
  });

  it("a named port resolves against the destination's declared port of that name and protocol", () => {
    const http = compilePorts([{ port: "http" }]);
    assert.equal(http.matches(8080, "TCP", declared), true);
    assert.equal(http.matches(80, "TCP", declared), false);
    assert.equal(http.matches(8080, "UDP", declared), false);
    assert.equal(http.matches(8080, "TCP", undefined), false, "nothing to resolve against");
    const dns = compilePorts([{ port: "dns" }]);
    assert.equal(dns.matches(53, "UDP", declared), false, "the entry means TCP, the declared port is UDP");
    assert.equal(compilePorts([{ protocol: "UDP", port: "dns" }]).matches(53, "UDP", declared), true);
  });
});

describe("analyzer: policyTypes defaulting", () => {
  it("explicit policyTypes are used as written", () => {
    assert.deepEqual(effectivePolicyTypes({ podSelector: {}, policyTypes: ["Egress"], ingress: [{}] }), [
      "Egress",
    ]);
  });

  it("absent: Ingress, plus Egress when there are egress rules", () => {
    assert.deepEqual(effectivePolicyTypes({ podSelector: {} }), ["Ingress"]);
    assert.deepEqual(effectivePolicyTypes({ podSelector: {}, egress: [{}] }), ["Ingress", "Egress"]);
  });

  it("absent with an empty egress list stays Ingress-only, as the API server defaults it", () => {
    assert.deepEqual(effectivePolicyTypes({ podSelector: {}, egress: [] }), ["Ingress"]);
    assert.deepEqual(effectivePolicyTypes({ podSelector: {}, policyTypes: [], egress: [{}] }), [
      "Ingress",
      "Egress",
    ]);
  });
});

describe("analyzer: policy semantics", () => {
  const x = namespace("x", { team: "a" });
  const y = namespace("y", { team: "b" });
  const web: ContainerPort[] = [{ name: "http", port: 8080, protocol: "TCP" }];
  const xa = pod("x/a", "10.0.1.1", { app: "a" }, web);
  const xb = pod("x/b", "10.0.1.2", { app: "b" }, web);
  const ya = pod("y/a", "10.0.2.1", { app: "a" }, web);
  const yb = pod("y/b", "10.0.2.2", { app: "b" }, web);
  const pods = [xa, xb, ya, yb];
  const analyze = (...policies: Parameters<typeof policy>[]) =>
    new PolicyAnalyzer(
      cluster(
        [x, y],
        pods,
        policies.map((args) => policy(...args)),
      ),
    );

  it("a podSelector-only peer means pods of the policy's namespace", () => {
    const analyzer = analyze([
      "x/p",
      {
        podSelector: { matchLabels: { app: "a" } },
        ingress: [{ from: [{ podSelector: { matchLabels: { app: "b" } } }] }],
      },
    ]);
    assert.equal(analyzer.isAllowed(probe(at(xb), at(xa), 80)), true);
    assert.equal(analyzer.isAllowed(probe(at(yb), at(xa), 80)), false);
  });

  it("a namespaceSelector-only peer means every pod of the matching namespaces", () => {
    const analyzer = analyze([
      "x/p",
      {
        podSelector: { matchLabels: { app: "a" } },
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: "b" } } }] }],
      },
    ]);
    assert.equal(analyzer.isAllowed(probe(at(ya), at(xa), 80)), true);
    assert.equal(analyzer.isAllowed(probe(at(yb), at(xa), 80)), true);
    assert.equal(analyzer.isAllowed(probe(at(xb), at(xa), 80)), false);
  });

  it("podSelector and namespaceSelector in one peer must both match; separate peers are ORed", () => {
    const both = analyze([
      "x/p",
      {
        podSelector: { matchLabels: { app: "a" } },
        ingress: [
          {
            from: [
              {
                namespaceSelector: { matchLabels: { team: "b" } },
                podSelector: { matchLabels: { app: "b" } },
              },
            ],
          },
        ],
      },
    ]);
    assert.equal(both.isAllowed(probe(at(yb), at(xa), 80)), true);
    assert.equal(both.isAllowed(probe(at(ya), at(xa), 80)), false);
    assert.equal(both.isAllowed(probe(at(xb), at(xa), 80)), false);
    const either = analyze([
      "x/p",
      {
        podSelector: { matchLabels: { app: "a" } },
        ingress: [
          {
            from: [
              { namespaceSelector: { matchLabels: { team: "b" } } },
              { podSelector: { matchLabels: { app: "b" } } },
            ],
          },
        ],
      },
    ]);
    assert.equal(either.isAllowed(probe(at(ya), at(xa), 80)), true);
    assert.equal(either.isAllowed(probe(at(xb), at(xa), 80)), true);
  });

  it("selectors never match external addresses; ipBlock matches them and pod IPs alike", () => {
    const selectors = analyze(["x/p", { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {} }] }] }]);
    assert.equal(selectors.isAllowed(probe(external("10.0.2.1"), at(xa), 80)), false);
    const block = analyze([
      "x/p",
      {
        podSelector: {},
        ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.0/16", except: ["10.0.2.2/32"] } }] }],
      },
    ]);
    assert.equal(block.isAllowed(probe(external("10.0.9.9"), at(xa), 80)), true);
    assert.equal(block.isAllowed(probe(at(ya), at(xa), 80)), true);
    assert.equal(block.isAllowed(probe(at(yb), at(xa), 80)), false);
  });

  it("an empty rule allows everything; an empty rule list allows nothing", () => {
    const allowAll = analyze(["x/p", { podSelector: {}, ingress: [{}] }]);
    assert.equal(allowAll.isAllowed(probe(external("8.8.8.8"), at(xa), 9999, "SCTP")), true);
    const denyAll = analyze(["x/p", { podSelector: {}, policyTypes: ["Ingress"], ingress: [] }]);
    assert.equal(denyAll.isAllowed(probe(at(xb), at(xa), 80)), false);
    assert.equal(denyAll.isAllowed(probe(at(xa), at(ya), 80)), true, "egress is not isolated");
  });

  it("allows from several policies are a union", () => {
    const analyzer = analyze(
      ["x/port-80", { podSelector: { matchLabels: { app: "a" } }, ingress: [{ ports: [{ port: 80 }] }] }],
      ["x/port-81", { podSelector: { matchLabels: { app: "a" } }, ingress: [{ ports: [{ port: 81 }] }] }],
    );
    assert.deepEqual(
      [79, 80, 81, 82].map((port) => analyzer.isAllowed(probe(at(xb), at(xa), port))),
      [false, true, true, false],
    );
  });

  it("policies apply only to pods of their own namespace", () => {
    const analyzer = analyze(["x/deny", { podSelector: {}, ingress: [] }]);
    assert.equal(analyzer.isAllowed(probe(at(xa), at(ya), 80)), true);
    assert.equal(analyzer.isAllowed(probe(at(ya), at(xa), 80)), false);
  });

  it("a connection needs the source's egress and the destination's ingress", () => {
    const analyzer = analyze(
      ["x/egress-deny", { podSelector: { matchLabels: { app: "a" } }, policyTypes: ["Egress"] }],
      ["y/ingress-allow", { podSelector: {}, ingress: [{}] }],
    );
    assert.equal(analyzer.isAllowed(probe(at(xa), at(ya), 80)), false);
    assert.equal(analyzer.isAllowed(probe(at(xb), at(ya), 80)), true);
  });

  it("egress named ports resolve against the destination pod; an external address never resolves", () => {
    const analyzer = analyze([
      "x/egress-http",
      { podSelector: { matchLabels: { app: "a" } }, egress: [{ ports: [{ port: "http" }] }] },
    ]);
    assert.equal(analyzer.isAllowed(probe(at(xa), at(ya), 8080)), true);
    assert.equal(analyzer.isAllowed(probe(at(xa), at(ya), 80)), false);
    assert.equal(analyzer.isAllowed(probe(at(xa), external("8.8.8.8"), 8080)), false);
  });

  it("omitted policyTypes with egress rules isolates egress; with `egress: []` it does not", () => {
    const withRules = analyze([
      "x/p",
      {
        podSelector: { matchLabels: { app: "a" } },
        ingress: [{}],
        egress: [{ ports: [{ port: 53, protocol: "UDP" }] }],
      },
    ]);
    assert.equal(withRules.isAllowed(probe(at(xa), at(ya), 80)), false);
    assert.equal(withRules.isAllowed(probe(at(xa), at(ya), 53, "UDP")), true);
    const emptyEgress = analyze([
      "x/p",
      { podSelector: { matchLabels: { app: "a" } }, ingress: [{}], egress: [] },
    ]);
    assert.equal(emptyEgress.isAllowed(probe(at(xa), at(ya), 80)), true);
  });

  it("rules of a direction missing from explicit policyTypes are ignored", () => {
    const analyzer = analyze([
      "x/p",
      { podSelector: { matchLabels: { app: "a" } }, policyTypes: ["Egress"], ingress: [], egress: [{}] },
    ]);
    assert.equal(analyzer.isAllowed(probe(at(xb), at(xa), 80)), true);
  });

  it("explain names the allowing policy and rule index, or the isolating policies", () => {
    const analyzer = analyze(
      ["x/deny", { podSelector: {}, policyTypes: ["Ingress"] }],
      [
        "x/allow-b",
        {
          podSelector: { matchLabels: { app: "a" } },
          ingress: [{ ports: [{ port: 1 }] }, { from: [{ podSelector: { matchLabels: { app: "b" } } }] }],
        },
      ],
    );
    assert.deepEqual(analyzer.explain(probe(at(xb), at(xa), 80)), {
      allowed: true,
      egress: { kind: "not-isolated" },
      ingress: {
        kind: "allowed",
        isolatedBy: ["x/deny", "x/allow-b"],
        allowedBy: [{ policy: "x/allow-b", direction: "ingress", ruleIndex: 1 }],
      },
    });
    assert.deepEqual(analyzer.explain(probe(external("8.8.8.8"), at(xb), 80)), {
      allowed: false,
      egress: { kind: "not-a-pod" },
      ingress: { kind: "denied", isolatedBy: ["x/deny"] },
    });
  });
});

describe("analyzer: scenario validation", () => {
  const base = {
    name: "t",
    namespaces: [{ name: "x", labels: {} }],
    pods: [{ namespace: "x", name: "a", labels: {}, ip: "10.0.0.1", ports: [] }],
    policies: [] as unknown[],
    probes: [] as unknown[],
  };
  const errorOf = (document: unknown): ScenarioError => {
    try {
      parseScenario(JSON.stringify(document), "case.json");
    } catch (error) {
      if (error instanceof ScenarioError) return error;
      throw error;
    }
    assert.fail("expected a ScenarioError");
  };
  const withPolicySpec = (spec: unknown) => ({
    ...base,
    policies: [
      {
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name: "p", namespace: "x" },
        spec,
      },
    ],
  });

  it("names the file, the JSON path and what was expected", () => {
    const error = errorOf({ ...base, pods: [{ ...base.pods[0], ports: [{ port: "80", protocol: "TCP" }] }] });
    assert.equal(error.file, "case.json");
    assert.equal(error.jsonPath, "$.pods[0].ports[0].port");
    assert.match(error.message, /^case\.json: \$\.pods\[0\]\.ports\[0\]\.port: .*expected number/);
  });

  it("rejects endPort with a named port, an empty peer, and In without values", () => {
    assert.equal(
      errorOf(withPolicySpec({ podSelector: {}, ingress: [{ ports: [{ port: "http", endPort: 90 }] }] }))
        .jsonPath,
      "$.policies[0].spec.ingress[0].ports[0].endPort",
    );
    assert.equal(
      errorOf(withPolicySpec({ podSelector: {}, ingress: [{ from: [{}] }] })).jsonPath,
      "$.policies[0].spec.ingress[0].from[0]",
    );
    assert.equal(
      errorOf(withPolicySpec({ podSelector: { matchExpressions: [{ key: "k", operator: "In" }] } })).jsonPath,
      "$.policies[0].spec.podSelector.matchExpressions[0].values",
    );
  });

  it("rejects pods in undeclared namespaces and probes of unknown pods", () => {
    assert.equal(
      errorOf({ ...base, pods: [{ ...base.pods[0], namespace: "nope" }] }).jsonPath,
      "$.pods[0].namespace",
    );
    assert.equal(
      errorOf({ ...base, probes: [{ from: "x/a", to: "x/b", port: 80, protocol: "TCP" }] }).jsonPath,
      "$.probes[0].to",
    );
  });
});

describe("analyzer: scenario namespaces", () => {
  it("every namespace carries the automatic kubernetes.io/metadata.name label", () => {
    const { cluster } = parseScenario(
      JSON.stringify({
        name: "t",
        namespaces: [{ name: "x", labels: {} }],
        pods: [],
        policies: [],
        probes: [],
      }),
      "case.json",
    );
    assert.deepEqual(cluster.namespaces[0].labels, { "kubernetes.io/metadata.name": "x" });
  });
});
