/**
 * The plan's connectivity output end to end, through the CLI as a user runs it, and the outage
 * verdict that makes the plan fail, in process.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { runCli, type CliResult } from "../support/runCli";
import { currentOutages, planConnectivity } from "../../offline/planConnectivity";
import { buildPlan } from "../../offline/planReport";

const plan = (...args: string[]): Promise<CliResult> => runCli("cli/plan.ts", ...args);

interface MatrixRow {
  from: string;
  to: string;
  port: number;
  protocol: string;
  allowed: boolean;
  intended: boolean;
  fromAddress: string;
  toAddress: string;
  viaService?: string;
}

const INVOCATIONS = {
  prodJson: ["--stack", "prod", "--format", "json"],
  devJson: ["--stack", "dev", "--format", "json"],
  prodSummary: ["--stack", "prod"],
  prodMermaid: ["--stack", "prod", "--format", "mermaid"],
  explainAllowed: [
    "--stack",
    "prod",
    "--explain",
    "flash-ticket/flash-gateway",
    "flash-ticket/flash-api",
    "4000",
  ],
  explainDenied: ["--stack", "prod", "--explain", "flash-ticket/flash-api", "flash-ticket/flash-pay", "8080"],
  explainDns: ["--stack", "dev", "--explain", "flash-ticket/unlabelled", "kube-system/kube-dns", "53/UDP"],
  explainUnknown: ["--stack", "dev", "--explain", "flash-ticket/flash-api", "nowhere", "443"],
} as const;

describe("plan CLI: connectivity @process", function () {
  const results = {} as Record<keyof typeof INVOCATIONS, CliResult>;
  before(async () => {
    // In this process: program runs take turns (the mock runtime is process-wide), and the plans of
    // a stack share one policy pack process.
    const entries = Object.entries(INVOCATIONS) as [keyof typeof INVOCATIONS, readonly string[]][];
    const outputs = await Promise.all(entries.map(([, args]) => plan(...args)));
    entries.forEach(([name], index) => (results[name] = outputs[index]));
  });

  const matrixOf = (result: CliResult): MatrixRow[] => {
    assert.equal(result.code, 0, result.stderr);
    return (JSON.parse(result.stdout) as { matrix: MatrixRow[] }).matrix;
  };
  const row = (matrix: MatrixRow[], from: string, to: string, port: number, protocol = "TCP") => {
    const found = matrix.find(
      (cell) => cell.from === from && cell.to === to && cell.port === port && cell.protocol === protocol,
    );
    assert.ok(found, `no matrix row ${from} -> ${to} ${port}/${protocol}`);
    return found;
  };

  it("--format json keeps every existing key and adds the matrix of the current stage", () => {
    const document = JSON.parse(results.prodJson.stdout) as Record<string, unknown>;
    for (const key of [
      "stack",
      "namespace",
      "services",
      "cidrs",
      "manifests",
      "rollout",
      "flowTable",
      "matrix",
    ]) {
      assert.ok(key in document, `missing key ${key}`);
    }
    const matrix = matrixOf(results.prodJson);
    for (const cell of matrix) {
      // The contract only grows: the original keys, plus the addresses probed (and the Service used).
      const keys = Object.keys(cell).filter((key) => key !== "viaService");
      assert.deepEqual(keys.sort(), [
        "allowed",
        "from",
        "fromAddress",
        "intended",
        "port",
        "protocol",
        "to",
        "toAddress",
      ]);
    }
    assert.ok("enforcerDifferences" in document, "both enforcers ran, so the differences are listed");
    const names = new Set(matrix.flatMap((cell) => [cell.from, cell.to]));
    for (const name of [
      "flash-ticket/flash-api",
      "alb",
      "redis",
      "postgres",
      "mq",
      "vpc-other",
      "node-local-dns",
      "metadata-service",
      "internet",
    ]) {
      assert.ok(names.has(name), `no endpoint named ${name}`);
    }
  });

  it("prod's matrix: the table's flows allowed, flash-api's open egress allowed but not intended, nothing intended blocked", () => {
    const matrix = matrixOf(results.prodJson);
    // The gateway reaches flash-api through its Service: prod's fixture maps ClusterIP port 80 to 4000.
    const recorded = JSON.parse(fs.readFileSync("fixtures/k8s/prod.json", "utf8")) as {
      services: { items: { metadata: { name: string }; spec: { clusterIP: string } }[] };
    };
    const apiService = recorded.services.items.find((item) => item.metadata.name === "flash-api")!;
    const gatewayToApi = row(matrix, "flash-ticket/flash-gateway", "flash-ticket/flash-api", 4000);
    assert.deepEqual(gatewayToApi, {
      from: "flash-ticket/flash-gateway",
      to: "flash-ticket/flash-api",
      port: 4000,
      protocol: "TCP",
      allowed: true,
      intended: true,
      fromAddress: gatewayToApi.fromAddress,
      toAddress: apiService.spec.clusterIP,
      viaService: "flash-ticket/flash-api:80",
    });
    // Ports no Service fronts go to the pod itself, from the same source address.
    const direct = row(matrix, "flash-ticket/flash-gateway", "flash-ticket/flash-api", 22);
    assert.equal(direct.fromAddress, gatewayToApi.fromAddress);
    assert.notEqual(direct.toAddress, apiService.spec.clusterIP);
    assert.equal(direct.viaService, undefined);
    assert.equal(row(matrix, "flash-ticket/flash-pay", "internet", 443).allowed, true);
    assert.equal(row(matrix, "flash-ticket/flash-pay", "metadata-service", 443).allowed, false);
    assert.equal(row(matrix, "flash-ticket/flash-pay", "node-local-dns", 53, "UDP").intended, true);
    // flash-api's egress is still off in prod: exposure, expected at this stage.
    assert.deepEqual(
      [row(matrix, "flash-ticket/flash-api", "internet", 443)].map((cell) => [cell.allowed, cell.intended]),
      [[true, false]],
    );
    assert.deepEqual(
      matrix.filter((cell) => cell.intended && !cell.allowed),
      [],
    );
  });

  it("dev's matrix (full enforcement) allows exactly what the flow table intends", () => {
    const matrix = matrixOf(results.devJson);
    assert.deepEqual(
      matrix.filter((cell) => cell.allowed !== cell.intended),
      [],
    );
    assert.equal(matrix.filter((cell) => cell.allowed).length, 34);
  });

  it("the summary shows the current stage and the full target with their difference to the table", () => {
    const { code, stdout } = results.prodSummary;
    assert.equal(code, 0);
    assert.match(stdout, /^Plan of stack prod/);
    assert.match(stdout, /Current stage \(defaultDeny off; enforced: .*\):/);
    assert.match(stdout, /Full target \(every policy enforced\):/);
    assert.match(
      stdout,
      /exposure where no policy isolates either side yet \(expected mid-rollout\): \d+ pair/,
    );
    assert.match(stdout, /flash-ticket\/flash-api -> internet +every probed port/);
    assert.match(stdout, /Rollout proof \(upstream Kubernetes semantics\): 65\/65 reachable stages/);
    assert.match(
      stdout,
      /Target proof \(upstream Kubernetes semantics\): the target allows exactly the flow table and DNS\n/,
    );
    assert.match(stdout, /Rollout proof \(EKS VPC CNI agent\): 65\/65 reachable stages/);
    // The agent always allows a pod's own node, so on EKS the target is the table plus that allowance.
    assert.match(
      stdout,
      /Target proof \(EKS VPC CNI agent\): the target allows exactly the flow table and DNS, plus \d+ probe\(s\) the enforcer allows whatever the policies say \(the pod's own node\)/,
    );
    assert.match(
      stdout,
      /Enforcer differences at the current stage \(upstream vs EKS VPC CNI agent\): \d+ probe\(s\)/,
    );
    assert.match(stdout, /node IP allowance: the agent always allows the pod's own node/);
    const target = stdout.slice(stdout.indexOf("Full target"));
    assert.match(target, /exposure admitted by a deployed rule \(allowed, not in the table\): none/);
    assert.match(target, /outage \(in the table, blocked\): none/);
  });

  it("--format mermaid draws the current stage's allowed flows: solid for the table, dotted for exposure", () => {
    const { code, stdout } = results.prodMermaid;
    assert.equal(code, 0);
    const lines = stdout.split("\n");
    assert.equal(lines[0], "flowchart LR");
    const id = (name: string) =>
      /^\s*(n\d+)\["(.*)"\]$/.exec(lines.find((line) => line.includes(`["${name}"]`)) ?? "")?.[1];
    assert.ok(
      lines.includes(`  ${id("flash-ticket/flash-gateway")} -->|"4000/TCP"| ${id("flash-ticket/flash-api")}`),
    );
    assert.ok(
      lines.includes(`  ${id("flash-ticket/flash-api")} -.->|"every probed port"| ${id("internet")}`),
    );
    // flash-pay is fully isolated in prod: nothing reaches it.
    assert.ok(!lines.some((line) => line.endsWith(`| ${id("flash-ticket/flash-pay")}`)));
  });

  it("--explain names the policy rules that allow a connection, and exits 0", () => {
    const { code, stdout } = results.explainAllowed;
    assert.equal(code, 0);
    assert.match(stdout, /^ALLOWED$/m);
    assert.match(
      stdout,
      /flash-ticket\/flash-gateway-egress egress\[0\]: to pods app=flash-api on 4000\/TCP/,
    );
    assert.match(
      stdout,
      /flash-ticket\/flash-api-ingress ingress\[0\]: from pods app=flash-gateway on 4000\/TCP/,
    );
    assert.match(stdout, /intended: yes, by flash-gateway -> flash-api/);
  });

  it("--explain names the isolation that denies a connection, and still exits 0", () => {
    const { code, stdout } = results.explainDenied;
    assert.equal(code, 0);
    assert.match(stdout, /^DENIED$/m);
    assert.match(stdout, /ingress: denied \(isolated by flash-ticket\/flash-pay-ingress; no rule matched\)/);
    assert.match(stdout, /intended: no/);
  });

  it("--explain takes PORT/UDP", () => {
    const { code, stdout } = results.explainDns;
    assert.equal(code, 0);
    assert.match(stdout, /53\/UDP/);
    assert.match(stdout, /allowed by flash-ticket\/allow-dns-egress egress\[0\]/);
  });

  it("--explain with an unknown endpoint exits 2 and lists the valid names", () => {
    const { code, stderr } = results.explainUnknown;
    assert.equal(code, 2);
    assert.match(stderr, /unknown endpoint "nowhere"/);
    assert.match(
      stderr,
      /valid names: .*flash-ticket\/flash-gateway.*alb.*vpc-other.*metadata-service.*internet/,
    );
  });
});

describe("plan: an outage at the current stage", () => {
  it("is named by flow, from the manifests the program would apply", async () => {
    const { report, config, run } = await buildPlan({ stack: "prod" });
    const broken = structuredClone(report.manifests);
    const payEgress = broken.find((manifest) => manifest.metadata.name === "flash-pay-egress");
    assert.ok(payEgress);
    payEgress.spec.egress = payEgress.spec.egress?.filter(
      (rule) => !rule.ports?.some((port) => port.port === 5671),
    );
    const outages = currentOutages(planConnectivity({ ...report, manifests: broken }, config, run));
    assert.ok(outages.length > 0);
    for (const outage of outages) assert.match(outage, /flow flash-pay -> mq: consumes payment jobs/);
    assert.deepEqual(currentOutages(planConnectivity(report, config, run)), []);
  });
});
