/**
 * `npm run plan -- --enforcer eks-vpc-cni --k8s-fixture K` with cluster network policies and the
 * agent version recorded: the contract of issue 21. Each fixture is dev's recorded cluster plus the
 * keys a real `kubectl get clusternetworkpolicies -o json` / `kubectl get daemonset aws-node -n
 * kube-system -o json` would add; the expectations follow the agent source (docs/fidelity/eks-tiers.md).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import YAML from "yaml";
import { readEksClusterState } from "../../offline/eksClusterState";
import { PROJECT_ROOT, runCli } from "../support/runCli";

const POSTGRES_SUBNETS = ["10.20.64.0/24", "10.20.65.0/24"]; // fixtures/aws/dev.json, flash-dev-postgres's subnet group
const POSTGRES_PORT = 15432; // Pulumi.dev.yaml dataStores.postgres.port
const NAMESPACE = { matchLabels: { "kubernetes.io/metadata.name": "flash-ticket" } };

interface MatrixRow {
  from: string;
  to: string;
  port: number;
  protocol: string;
  allowed: boolean;
  viaService?: string;
}
interface PlanOutput {
  matrix: MatrixRow[];
  cidrs: Record<string, string[]>;
  eksAgent: { version: string | null; source: string };
  clusterPolicies: { kind: string; name: string; tier?: string; enforced: boolean }[];
  breakGlassCannotOpen: string[];
}

function awsNode(tag: string): object {
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: "aws-node", namespace: "kube-system" },
    spec: {
      template: {
        spec: {
          containers: [
            {
              name: "aws-node",
              image: "602401143452.dkr.ecr.ap-northeast-2.amazonaws.com/amazon-k8s-cni:v1.21.2-eksbuild.1",
            },
            {
              name: "aws-eks-nodeagent",
              image: `602401143452.dkr.ecr.ap-northeast-2.amazonaws.com/amazon/aws-network-policy-agent:${tag}-eksbuild.1`,
            },
          ],
        },
      },
    },
  };
}

function cnp(
  name: string,
  tier: string,
  priority: number,
  action: string,
  to: object[],
  ports?: object[],
): object {
  return {
    apiVersion: "networking.k8s.aws/v1alpha1",
    kind: "ClusterNetworkPolicy",
    metadata: { name },
    spec: {
      tier,
      priority,
      subject: { namespaces: NAMESPACE },
      egress: [{ name: `${name}-egress`, action, to, ...(ports ? { ports } : {}) }],
    },
  };
}

const denyPostgres = cnp(
  "deny-postgres",
  "Admin",
  10,
  "Deny",
  [{ networks: POSTGRES_SUBNETS }],
  [{ portNumber: { protocol: "TCP", port: POSTGRES_PORT } }],
);

describe("plan under EKS cluster network policies and agent versions @process", function () {
  let dir: string;
  const recorded = JSON.parse(
    fs.readFileSync(path.join(PROJECT_ROOT, "fixtures", "k8s", "dev.json"), "utf8"),
  ) as Record<string, unknown>;

  function k8sFixture(name: string, extra: Record<string, unknown>, drop: string[] = []): string {
    const fixture: Record<string, unknown> = { ...recorded, ...extra };
    const commands = { ...(recorded.commands as Record<string, string>) };
    for (const key of drop) {
      delete fixture[key];
      delete commands[key];
    }
    fixture.commands = {
      ...commands,
      clusterNetworkPolicies: "kubectl get clusternetworkpolicies.networking.k8s.aws -o json",
      applicationNetworkPolicies:
        "kubectl get applicationnetworkpolicies.networking.k8s.aws -n flash-ticket -o json",
      awsNode: "kubectl get daemonset aws-node -n kube-system -o json",
    };
    const file = path.join(dir, `${name}.json`);
    fs.writeFileSync(file, JSON.stringify(fixture));
    return file;
  }

  const plan = (...args: string[]) =>
    runCli(
      "cli/plan.ts",
      "--stack",
      "dev",
      "--format",
      "json",
      "--enforcer",
      "eks-vpc-cni",
      "--no-policy-pack",
      ...args,
    );
  const parse = (stdout: string) => JSON.parse(stdout) as PlanOutput;
  const cell = (output: PlanOutput, from: string, to: string, port: number) =>
    output.matrix.filter(
      (row) => row.from === from && row.to === to && row.port === port && row.protocol === "TCP",
    );

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-eks-tiers-"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("an Admin Deny on the postgres subnets is an outage naming the cluster policy (agent v1.3.5)", async () => {
    const k8s = k8sFixture("admin-deny", {
      awsNode: awsNode("v1.3.5"),
      clusterNetworkPolicies: { items: [denyPostgres] },
    });
    const { code, stdout, stderr } = await plan("--k8s-fixture", k8s);
    assert.equal(code, 3, stderr);
    assert.match(
      stderr,
      /outage: flash-ticket\/flash-api -> postgres 15432\/TCP is blocked.*ClusterNetworkPolicy deny-postgres \(Admin, priority 10/,
    );
    const output = parse(stdout);
    assert.equal(output.eksAgent.version, "v1.3.5");
    assert.deepEqual(
      output.clusterPolicies.map((read) => [read.kind, read.name, read.enforced]),
      [["ClusterNetworkPolicy", "deny-postgres", true]],
    );
    assert.ok(cell(output, "flash-ticket/flash-api", "postgres", POSTGRES_PORT).every((row) => !row.allowed));
    // Same subnets, another port: redis is untouched by a rule that names only 15432.
    assert.ok(cell(output, "flash-ticket/flash-api", "redis", 6379).every((row) => row.allowed));
  });

  it("with breakGlass: true the plan says break-glass cannot open it, and what blocks it", async () => {
    const k8s = k8sFixture("admin-deny-bg", {
      awsNode: awsNode("v1.3.5"),
      clusterNetworkPolicies: { items: [denyPostgres] },
    });
    const stack = YAML.parse(fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.dev.yaml"), "utf8")) as {
      config: Record<string, unknown>;
    };
    stack.config["flash-netpol:breakGlass"] = true;
    const stackFile = path.join(dir, "Pulumi.dev.yaml");
    fs.writeFileSync(stackFile, YAML.stringify(stack));
    const { code, stdout, stderr } = await plan("--k8s-fixture", k8s, "--config-file", stackFile);
    assert.equal(code, 3, stderr);
    assert.match(
      stderr,
      /break-glass cannot open flash-ticket\/flash-api -> postgres 15432\/TCP: blocked by ClusterNetworkPolicy deny-postgres/,
    );
    const output = parse(stdout);
    assert.ok(output.breakGlassCannotOpen.length > 0);
    assert.ok(output.breakGlassCannotOpen.every((line) => line.includes("deny-postgres")));
  });

  it("a Baseline Deny and an Admin Pass change no verdict, and are still listed as read", async () => {
    const plain = parse(
      (await plan("--k8s-fixture", k8sFixture("plain", { awsNode: awsNode("v1.3.5") }))).stdout,
    );
    const k8s = k8sFixture("baseline-pass", {
      awsNode: awsNode("v1.3.5"),
      clusterNetworkPolicies: {
        items: [
          cnp("baseline-deny-all", "Baseline", 0, "Deny", [{ networks: ["0.0.0.0/0"] }]),
          cnp("admin-pass-postgres", "Admin", 0, "Pass", [{ networks: POSTGRES_SUBNETS }]),
        ],
      },
    });
    const { code, stdout, stderr } = await plan("--k8s-fixture", k8s);
    assert.equal(code, 0, stderr);
    const output = parse(stdout);
    assert.deepEqual(output.clusterPolicies.map((read) => `${read.name} ${read.tier}`).sort(), [
      "admin-pass-postgres Admin",
      "baseline-deny-all Baseline",
    ]);
    assert.deepEqual(output.matrix, plain.matrix);
  });

  it("agent v1.2.7 (dev's recorded vpc-cni v1.20.4) reads the Admin Deny but does not enforce it", async () => {
    const k8s = k8sFixture("v127", { clusterNetworkPolicies: { items: [denyPostgres] } }, ["awsNode"]);
    const { code, stdout, stderr } = await plan("--k8s-fixture", k8s);
    assert.equal(code, 0, stderr);
    const output = parse(stdout);
    assert.equal(output.eksAgent.version, "v1.2.7");
    assert.match(output.eksAgent.source, /vpc-cni add-on v1\.20\.4-eksbuild\.1 .*describe-addon/);
    assert.deepEqual(
      output.clusterPolicies.map((read) => [read.name, read.enforced]),
      [["deny-postgres", false]],
    );
  });

  it("agent v1.2.2 is modelled: flash-pay's 0.0.0.0/0:443 ports reach the broker's key (MQ on 443)", async () => {
    const output = parse(
      (await plan("--k8s-fixture", k8sFixture("v122", { awsNode: awsNode("v1.2.2") }))).stdout,
    );
    assert.equal(output.eksAgent.version, "v1.2.2");
    assert.ok(cell(output, "flash-ticket/flash-pay", "mq", 443).every((row) => row.allowed));
    const current = parse(
      (await plan("--k8s-fixture", k8sFixture("v135", { awsNode: awsNode("v1.3.5") }))).stdout,
    );
    assert.ok(cell(current, "flash-ticket/flash-pay", "mq", 443).every((row) => !row.allowed));
  });

  it("dev's recorded aws-node names the agent; keys missing from a k8s fixture are reported, not assumed silently", async () => {
    const recordedRun = parse((await plan()).stdout) as PlanOutput & { clusterPoliciesNotRecorded: string[] };
    assert.equal(recordedRun.eksAgent.version, "v1.2.7");
    assert.match(
      recordedRun.eksAgent.source,
      /awsNode: container aws-eks-nodeagent image .*aws-network-policy-agent:v1\.2\.7-eksbuild\.1/,
    );
    assert.deepEqual(recordedRun.clusterPoliciesNotRecorded, []);
    const bare = k8sFixture("bare", {}, ["awsNode", "clusterNetworkPolicies", "applicationNetworkPolicies"]);
    const { code, stdout, stderr } = await plan("--k8s-fixture", bare, "--format", "summary");
    assert.equal(code, 0, stderr);
    assert.match(stdout, /EKS network policy agent: v1\.2\.7 \(.*vpc-cni add-on v1\.20\.4-eksbuild\.1/);
    assert.match(
      stdout,
      /NOT RECORDED: .*bare\.json: clusterNetworkPolicies \(the proofs assume there are none\)/,
    );
    assert.match(stdout, /NOT RECORDED: .*bare\.json: applicationNetworkPolicies/);
  });

  it("no agent version recorded anywhere: reported as null and the assumption named", () => {
    const reading = readEksClusterState("dev", { deployments: { items: [] } }, undefined);
    assert.equal(reading.agent.version, null);
    assert.match(reading.agent.source, /not recorded: .*ASSUMED the pinned main commit/);
  });

  it("an unknown agent version is refused by name (exit 2)", async () => {
    const { code, stderr } = await plan("--k8s-fixture", k8sFixture("v999", { awsNode: awsNode("v9.9.9") }));
    assert.equal(code, 2);
    assert.match(stderr, /aws-network-policy-agent v9\.9\.9 is not a version the plan models/);
    assert.match(stderr, /awsNode: container aws-eks-nodeagent/);
  });

  it("--k8s-fixture is the only source of cluster objects: no Services there, no ClusterIP probes", async () => {
    const withServices = parse((await plan("--k8s-fixture", k8sFixture("services", {}))).stdout);
    assert.ok(withServices.matrix.some((row) => row.viaService !== undefined));
    const { stdout, stderr } = await plan(
      "--k8s-fixture",
      k8sFixture("no-services", {}, ["services", "kubeDnsService"]),
    );
    assert.ok(stdout.length > 0, stderr);
    assert.equal(parse(stdout).matrix.filter((row) => row.viaService !== undefined).length, 0);
  });
});
