import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { computeConnlist, manifestSetOf, parseManifestText, readManifests } from "../../analyzer/manifests";
import { PROJECT_ROOT, runCli } from "../support/runCli";

const SHOP = path.join(PROJECT_ROOT, "tests/fixtures/manifests/shop");
const ALL = "All Connections";
const LOW = "0.0.0.0-9.255.255.255";
const TEN = "10.0.0.0-10.255.255.255";
const HIGH = "11.0.0.0-255.255.255.255";
const noStdin = (): string => {
  throw new Error("stdin not expected");
};

/**
 * Derived by hand from upstream semantics (not from our output). Isolation: every shop pod for
 * ingress (default-deny-ingress); payments/legacy for egress. Source ranges come from ingress
 * ipBlocks (0.0.0.0/0 except 10/8: cuts at 10.0.0.0 and 11.0.0.0), destination ranges from egress
 * ipBlocks (10.0.0.0/8: the same cuts). ipBlocks never select pods.
 */
const UNISOLATED = [
  "default/debug[Pod]",
  "payments/legacy[ReplicationController]",
  "payments/orphan-rs[ReplicaSet]",
];
function toUnisolatedAndExternal(src: string): { src: string; dst: string; conn: string }[] {
  // No egress isolation: every pod outside shop (ingress open) and every destination range.
  return [LOW, TEN, HIGH, ...UNISOLATED.filter((dst) => dst !== src)].map((dst) => ({ src, dst, conn: ALL }));
}
const DB_CLIENT_PORTS = "TCP 5432,9100-9102"; // named port pg resolves on db to 5432; 9100-9102 by endPort
const EXPECTED = [
  // External sources reach the unisolated pods fully; web only on its named port http (8080),
  // and only from outside the except range 10.0.0.0/8.
  ...UNISOLATED.map((dst) => ({ src: LOW, dst, conn: ALL })),
  { src: LOW, dst: "shop/web[Deployment]", conn: "TCP 8080" },
  ...UNISOLATED.map((dst) => ({ src: TEN, dst, conn: ALL })),
  ...UNISOLATED.map((dst) => ({ src: HIGH, dst, conn: ALL })),
  { src: HIGH, dst: "shop/web[Deployment]", conn: "TCP 8080" },
  ...toUnisolatedAndExternal("default/debug[Pod]"),
  // legacy's egress: UDP 53 to 10/8 only; shop's pods admit no ingress from payments.
  { src: "payments/legacy[ReplicationController]", dst: TEN, conn: "UDP 53" },
  ...toUnisolatedAndExternal("payments/orphan-rs[ReplicaSet]"),
  // The host-network agent is evaluated as a pod (np-guard does the same).
  ...toUnisolatedAndExternal("shop/agent[DaemonSet]"),
  ...toUnisolatedAndExternal("shop/db[StatefulSet]"),
  // db admits web, migrate and report (app In [...]) on pg and 9100-9102.
  ...[LOW, TEN, HIGH, UNISOLATED[0], UNISOLATED[1], UNISOLATED[2]].map((dst) => ({
    src: "shop/migrate[Job]",
    dst,
    conn: ALL,
  })),
  { src: "shop/migrate[Job]", dst: "shop/db[StatefulSet]", conn: DB_CLIENT_PORTS },
  ...[LOW, TEN, HIGH, ...UNISOLATED].map((dst) => ({ src: "shop/report[CronJob]", dst, conn: ALL })),
  { src: "shop/report[CronJob]", dst: "shop/db[StatefulSet]", conn: DB_CLIENT_PORTS },
  ...[LOW, TEN, HIGH, ...UNISOLATED].map((dst) => ({ src: "shop/web[Deployment]", dst, conn: ALL })),
  { src: "shop/web[Deployment]", dst: "shop/db[StatefulSet]", conn: DB_CLIENT_PORTS },
];
const byPair = (a: { src: string; dst: string }, b: { src: string; dst: string }): number =>
  a.src !== b.src ? (a.src < b.src ? -1 : 1) : a.dst < b.dst ? -1 : a.dst > b.dst ? 1 : 0;

function writeTemp(name: string, text: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "manifests-")), name);
  writeFileSync(file, text);
  return file;
}

describe("analyzer: manifests reader", function () {
  it("reads every workload kind, names it by its controlling owner, and counts ignored kinds", () => {
    const manifests = readManifests(SHOP, noStdin);
    assert.deepEqual(
      manifests.workloads.map((w) => `${w.namespace}/${w.name}[${w.kind}]${w.hostNetwork ? " host" : ""}`),
      [
        "default/debug[Pod]",
        "payments/legacy[ReplicationController]",
        "payments/orphan-rs[ReplicaSet]",
        "shop/agent[DaemonSet] host",
        "shop/db[StatefulSet]",
        "shop/migrate[Job]",
        "shop/report[CronJob]",
        "shop/web[Deployment]",
      ],
    );
    assert.deepEqual(manifests.workloads.find((w) => w.name === "db")?.ports, [
      { name: "pg", port: 5432, protocol: "TCP" },
    ]);
    assert.deepEqual(manifests.ignored, { ConfigMap: 1 });
    assert.deepEqual(
      manifests.services.map((s) => `${s.namespace}/${s.name}`),
      ["shop/db"],
    );
    assert.equal(manifests.policies.length, 4);
    assert.deepEqual(manifests.namespaces, [
      { name: "default", labels: { "kubernetes.io/metadata.name": "default" } },
      { name: "payments", labels: { "kubernetes.io/metadata.name": "payments" } },
      { name: "shop", labels: { team: "shop", "kubernetes.io/metadata.name": "shop" } },
    ]);
  });

  it("a mirror pod (controller is a Node) keeps its own name; a Deployment's ReplicaSet not in the files stays a ReplicaSet", () => {
    const file = writeTemp(
      "pods.yaml",
      [
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: etcd-node1\n  namespace: kube-system\n  ownerReferences:\n  - {kind: Node, name: node1, controller: true}\nspec:\n  containers: [{name: etcd}]",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: api-5c-x\n  ownerReferences:\n  - {kind: ReplicaSet, name: api-5c, controller: true}\nspec:\n  containers: [{name: api}]",
      ].join("\n---\n"),
    );
    const names = readManifests(file, noStdin).workloads.map((w) => `${w.namespace}/${w.name}[${w.kind}]`);
    assert.deepEqual(names, ["default/api-5c[ReplicaSet]", "kube-system/etcd-node1[Pod]"]);
  });
});

describe("analyzer: manifests connlist semantics", function () {
  it("ipBlocks never select pods, not even ::/0 or 0.0.0.0/0; touching excepts cut the space once", () => {
    const text = [
      "kind: Pod\napiVersion: v1\nmetadata: {name: a, labels: {app: a}}\nspec: {containers: [{name: c}]}",
      "kind: Pod\napiVersion: v1\nmetadata: {name: b}\nspec: {containers: [{name: c}]}",
      [
        "kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\nmetadata: {name: p}",
        "spec:\n  podSelector: {matchLabels: {app: a}}\n  ingress:\n  - from:",
        "    - ipBlock: {cidr: '::/0'}",
        "    - ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/9, 10.128.0.0/9]}",
      ].join("\n"),
    ].join("\n---\n");
    const result = computeConnlist(manifestSetOf(parseManifestText(text, "inline.yaml")), {
      kind: "upstream",
    });
    // Sources: 0.0.0.0/0 minus 10.0.0.0/8 (the two /9 excepts touch) -> cuts at 10.0.0.0 and 11.0.0.0.
    // Destinations: no egress ipBlock -> one range. b -> a: no pod is in any ipBlock.
    assert.deepEqual(result.connections, [
      { src: "0.0.0.0-9.255.255.255", dst: "default/a[Pod]", conn: ALL },
      { src: "0.0.0.0-9.255.255.255", dst: "default/b[Pod]", conn: ALL },
      { src: "10.0.0.0-10.255.255.255", dst: "default/b[Pod]", conn: ALL },
      { src: "11.0.0.0-255.255.255.255", dst: "default/a[Pod]", conn: ALL },
      { src: "11.0.0.0-255.255.255.255", dst: "default/b[Pod]", conn: ALL },
      { src: "default/a[Pod]", dst: "0.0.0.0-255.255.255.255", conn: ALL },
      { src: "default/a[Pod]", dst: "default/b[Pod]", conn: ALL },
      { src: "default/b[Pod]", dst: "0.0.0.0-255.255.255.255", conn: ALL },
    ]);
  });
});

describe("analyzer: analyze manifests CLI @process", function () {
  it("prints the hand-derived connlist for a folder (multi-document YAML, a List in JSON, a NetworkPolicyList)", async () => {
    const { code, stdout, stderr } = await runCli("cli/analyze.ts", SHOP, "--format", "connlist");
    assert.equal(code, 0, stderr);
    assert.deepEqual(JSON.parse(stdout), [...EXPECTED].sort(byPair));
    assert.match(stderr, /ignored 1 ConfigMap/);
  });

  it("json is the same array; txt prints np-guard's `src => dst : conn` lines and names host-network workloads", async () => {
    const json = await runCli("cli/analyze.ts", SHOP, "--format", "json");
    assert.deepEqual(JSON.parse(json.stdout), [...EXPECTED].sort(byPair));
    const txt = await runCli("cli/analyze.ts", SHOP, "--format", "txt");
    assert.ok(txt.stdout.includes("shop/web[Deployment] => shop/db[StatefulSet] : TCP 5432,9100-9102\n"));
    assert.match(txt.stdout, /host-network workloads .*: shop\/agent\[DaemonSet\]/);
    const md = await runCli("cli/analyze.ts", SHOP, "--format", "md");
    assert.ok(md.stdout.includes("| shop/migrate[Job] | shop/db[StatefulSet] | TCP 5432,9100-9102 |"));
    const mermaid = await runCli("cli/analyze.ts", SHOP, "--format", "mermaid");
    assert.match(mermaid.stdout, /^flowchart LR\n/);
    assert.match(mermaid.stdout, /-->\|"UDP 53"\|/);
    const dot = await runCli("cli/analyze.ts", SHOP, "--format", "dot");
    assert.ok(
      dot.stdout.includes(
        '"payments/legacy[ReplicationController]" -> "10.0.0.0-10.255.255.255" [label="UDP 53"];',
      ),
    );
  });

  it("reads stdin with -", () => {
    const text = [
      "apiVersion: v1\nkind: Pod\nmetadata: {name: a, labels: {app: a}}\nspec: {containers: [{name: c, ports: [{containerPort: 53, protocol: UDP, name: dns}]}]}",
      "apiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec: {containers: [{name: c}]}",
      "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec:\n  podSelector: {matchLabels: {app: a}}\n  ingress: [{ports: [{port: dns, protocol: UDP}]}]\n  egress: []\n  policyTypes: [Ingress, Egress]",
    ].join("\n---\n");
    const result = spawnSync(
      process.execPath,
      [require.resolve("ts-node/dist/bin.js"), "--transpile-only", "cli/analyze.ts", "-", "--format", "json"],
      { cwd: PROJECT_ROOT, input: text, encoding: "utf8" },
    );
    assert.equal(result.status, 0, result.stderr);
    // a: ingress only UDP 53 (named port dns, from anyone), egress denied. b: unisolated.
    assert.deepEqual(JSON.parse(result.stdout), [
      { src: "0.0.0.0-255.255.255.255", dst: "default/a[Pod]", conn: "UDP 53" },
      { src: "0.0.0.0-255.255.255.255", dst: "default/b[Pod]", conn: ALL },
      { src: "default/b[Pod]", dst: "0.0.0.0-255.255.255.255", conn: ALL },
      { src: "default/b[Pod]", dst: "default/a[Pod]", conn: "UDP 53" },
    ]);
  });

  it("--enforcer eks-vpc-cni evaluates the same manifests under the EKS model", async () => {
    const { code, stdout, stderr } = await runCli("cli/analyze.ts", SHOP, "--enforcer", "eks-vpc-cni");
    assert.equal(code, 0, stderr);
    assert.ok(Array.isArray(JSON.parse(stdout)));
  });

  it("exits 2 naming the file, document and line of invalid YAML", async () => {
    const file = writeTemp(
      "bad.yaml",
      "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\nkind: Pod\nmetadata: [unclosed\n",
    );
    const { code, stdout, stderr } = await runCli("cli/analyze.ts", file);
    assert.equal(code, 2);
    assert.equal(stdout, "");
    assert.match(stderr, /bad\.yaml: document 1: line \d+: expected valid YAML or JSON/);
  });

  it("exits 2 naming the document and field of an invalid NetworkPolicy", async () => {
    const file = writeTemp(
      "np.yaml",
      "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec:\n  podSelector: {}\n  ingress: [{ports: [{port: 70000}]}]\n",
    );
    const { code, stderr } = await runCli("cli/analyze.ts", file, "--format", "json");
    assert.equal(code, 2);
    assert.match(
      stderr,
      /np\.yaml: document 0: line 1: NetworkPolicy \$\.spec\.ingress\[0\]\.ports\[0\]\.port/,
    );
  });

  it("exits 2 on an object without kind, and on a missing folder", async () => {
    const noKind = await runCli(
      "cli/analyze.ts",
      writeTemp("x.yml", "apiVersion: v1\nmetadata: {name: a}\n"),
      "--format",
      "json",
    );
    assert.equal(noKind.code, 2);
    assert.match(noKind.stderr, /x\.yml: document 0: line 1: expected a "kind" field/);
    const missing = await runCli("cli/analyze.ts", "/nonexistent/manifests", "--format", "json");
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /\/nonexistent\/manifests: cannot read \(ENOENT\)/);
  });

  it("keeps reading scenario files given as before", async () => {
    const scenario = writeTemp(
      "scenario.json",
      JSON.stringify({
        name: "s",
        namespaces: [{ name: "x", labels: {} }],
        pods: [{ namespace: "x", name: "a", labels: {}, ip: "10.0.0.1", ports: [] }],
        policies: [],
        probes: [{ from: { ip: "1.2.3.4" }, to: "x/a", port: 80, protocol: "TCP" }],
      }),
    );
    const { code, stdout } = await runCli("cli/analyze.ts", scenario);
    assert.equal(code, 0);
    assert.equal(JSON.parse(stdout)[0].allowed, true);
    assert.ok(readFileSync(scenario, "utf8").length > 0);
  });
});
