// The analyzer computes a pod's isolating policies once per pod and direction and answers isAllowed
// without building query objects (the plan's hot path). Expectations by hand from the NetworkPolicy
// API reference: a pod is isolated for ingress exactly by the Ingress policies of its own namespace
// whose podSelector selects its labels; the cache must never share that between pods that differ.
import assert from "node:assert/strict";
import { PolicyAnalyzer, type Direction } from "../../analyzer";
import { at, cluster, external, namespace, pod, policy, probe } from "./analyzer.fixtures";

describe("analyzer: isolation computed once per pod", () => {
  const shop = namespace("shop");
  const other = namespace("other");
  // Ingress of app=web pods in shop admits only TCP 80 from app=lb pods of shop.
  const webIngress = policy("shop/web-ingress", {
    podSelector: { matchLabels: { app: "web" } },
    policyTypes: ["Ingress"],
    ingress: [{ from: [{ podSelector: { matchLabels: { app: "lb" } } }], ports: [{ port: 80 }] }],
  });
  const web = pod("shop/web", "10.0.0.1", { app: "web" });
  const lb = pod("shop/lb", "10.0.0.2", { app: "lb" });
  // Same namespace as web, other labels: not isolated.
  const db = pod("shop/db", "10.0.0.3", { app: "db" });
  // Same labels as web, other namespace: shop's policy does not select it.
  const webElsewhere = pod("other/web", "10.0.0.4", { app: "web" });
  const pods = [web, lb, db, webElsewhere];
  const analyzer = () => new PolicyAnalyzer(cluster([shop, other], pods, [webIngress]));

  it("asks in turn about pods of one namespace, and of one label set, each answered for itself", () => {
    // One analyzer, web asked first: a cache keyed by namespace would isolate db, one keyed by
    // labels would isolate other/web.
    const shared = analyzer();
    assert.equal(shared.isAllowed(probe(at(lb), at(web), 22)), false);
    assert.equal(shared.isAllowed(probe(at(lb), at(web), 80)), true);
    assert.equal(shared.isAllowed(probe(at(lb), at(db), 22)), true);
    assert.equal(shared.isAllowed(probe(at(lb), at(webElsewhere), 22)), true);
    assert.equal(shared.isAllowed(probe(external("192.0.2.1"), at(web), 80)), false);
    assert.deepEqual(
      pods.map((subject) => shared.isolatingPolicies(subject, "ingress").map((p) => p.key)),
      [["shop/web-ingress"], [], [], []],
    );
    assert.deepEqual(
      pods.map((subject) => shared.isolatingPolicies(subject, "egress").length),
      [0, 0, 0, 0],
    );
  });

  it("directionAllows and isAllowed say what explain says, side by side, for every pair and port", () => {
    const shared = analyzer();
    const endpoints = [...pods.map(at), external("192.0.2.1")];
    const sides: [Direction, "egress" | "ingress"][] = [
      ["egress", "egress"],
      ["ingress", "ingress"],
    ];
    for (const from of endpoints)
      for (const to of endpoints)
        for (const port of [22, 80]) {
          const connection = probe(from, to, port);
          const explanation = analyzer().explain(connection);
          assert.equal(shared.isAllowed(connection), explanation.allowed);
          for (const [direction, key] of sides)
            assert.equal(shared.directionAllows(connection, direction), explanation[key].kind !== "denied");
        }
  });
});
