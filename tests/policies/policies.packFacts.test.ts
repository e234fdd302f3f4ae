/**
 * Pack config facts against the account (issue 9, item 7): policies/config/<stack>.json repeats the
 * VPC CIDRs, the service CIDR and the NodeLocal address the program discovers or is configured with;
 * flows-match-flow-table reports where they disagree, naming both values and the file, at the level
 * the stack's pack config gives it. One pack process, driven over gRPC as the engine drives it.
 */
import { projectConfigValues } from "../../offline/stackConfig";
import { strict as assert } from "assert";
import * as fs from "node:fs";
import { PolicyHarness, stackPackConfigPath, type PolicyVerdict } from "../../offline/policyHarness";
import { fromRegisteredResources } from "../../offline/policyResources";
import { runStack, type RunOptions } from "../../offline/runProgram";

const RULE = "flows-match-flow-table";

function packConfig(
  stack: "dev" | "prod",
  change: (config: Record<string, Record<string, unknown>>) => void,
) {
  const config = JSON.parse(fs.readFileSync(stackPackConfigPath(stack), "utf8")) as Record<
    string,
    Record<string, unknown>
  >;
  change(config);
  return config;
}

describe("policy pack: pack config facts match what the program discovered", function () {
  let harness: PolicyHarness;
  before(async () => {
    harness = await PolicyHarness.start({ stack: "prod" });
  });
  after(async () => harness?.close());

  async function verdicts(options: RunOptions, config: string | object): Promise<PolicyVerdict[]> {
    const run = await runStack(options);
    if (run.error !== undefined) throw run.error;
    const file = typeof config === "string" ? config : `${fs.mkdtempSync("/tmp/pack-facts-")}/config.json`;
    if (typeof config !== "string") fs.writeFileSync(file, JSON.stringify(config));
    await harness.configure(file);
    return (await harness.preview(fromRegisteredResources(run.resources))).filter(
      (verdict) => verdict.policy === RULE,
    );
  }

  it("the committed pack configs agree with dev and prod: no verdict", async () => {
    assert.deepEqual(await verdicts({ stack: "dev" }, stackPackConfigPath("dev")), []);
    assert.deepEqual(await verdicts({ stack: "prod" }, stackPackConfigPath("prod")), []);
  });

  it("prod's pack config missing the secondary VPC range: mandatory, naming both values and the file", async () => {
    const found = await verdicts(
      { stack: "prod" },
      packConfig("prod", (config) => (config["public-egress"]!.vpcCidrs = ["10.30.0.0/16"])),
    );
    assert.equal(found.length, 1, JSON.stringify(found));
    assert.equal(found[0]!.level, "mandatory");
    // fixtures/aws/prod.json: the VPC has 10.30.0.0/16 and 100.64.0.0/16 associated.
    assert.match(
      found[0]!.message,
      /public-egress\.vpcCidrs in policies\/config\/prod\.json is \[10\.30\.0\.0\/16\]/,
    );
    assert.match(found[0]!.message, /discovered \[10\.30\.0\.0\/16, 100\.64\.0\.0\/16\]/);
  });

  /** The project's services with only the gateway's port changed, as a stack file would override it. */
  function withGatewayPort(port: number): Record<string, { port: number }> {
    const services = JSON.parse(projectConfigValues()["flash-netpol:services"]!) as Record<
      string,
      { port: number }
    >;
    return { ...services, "flash-gateway": { ...services["flash-gateway"]!, port } };
  }

  it("public-ingress's ALB targets differ from the flow table's (gateway port changed in stack config): mandatory, naming both", async () => {
    const found = await verdicts(
      {
        stack: "prod",
        configOverrides: {
          "flash-netpol:services": JSON.stringify(withGatewayPort(3001)),
        },
      },
      stackPackConfigPath("prod"),
    );
    const albTargets = found.filter((verdict) => /public-ingress\.albTargets/.test(verdict.message));
    assert.equal(albTargets.length, 1, JSON.stringify(found));
    assert.equal(albTargets[0]!.level, "mandatory");
    assert.match(albTargets[0]!.message, /policies\/config\/prod\.json is \[.*3000\]\]/);
    assert.match(albTargets[0]!.message, /lets the ALB reach .* \[.*3001\]\]/);
  });

  it("a service CIDR and a NodeLocal address that differ are reported too (advisory in dev)", async () => {
    const found = await verdicts(
      { stack: "dev" },
      packConfig("dev", (config) => {
        config["eks-vpc-cni-lints"]!.serviceCidrs = ["10.100.0.0/16"];
        config["dns-egress-kube-dns-only"] = { nodeLocalAddress: "169.254.20.10" };
      }),
    );
    assert.deepEqual(
      found.map((verdict) => verdict.level),
      ["advisory", "advisory"],
    );
    const text = found.map((verdict) => verdict.message).join("\n");
    assert.match(
      text,
      /eks-vpc-cni-lints\.serviceCidrs in policies\/config\/dev\.json is \[10\.100\.0\.0\/16\].*\[172\.20\.0\.0\/16\]/,
    );
    assert.match(
      text,
      /dns-egress-kube-dns-only\.nodeLocalAddress in policies\/config\/dev\.json is 169\.254\.20\.10.*none/,
    );
  });

  it("the new rules' facts, each stale in prod's pack config: one mandatory verdict per key, naming it", async () => {
    const found = await verdicts(
      { stack: "prod" },
      packConfig("prod", (config) => {
        config["public-ingress"]!.albCidrs = ["0.0.0.0/0"];
        config["link-local-egress"] = { nodeLocalAddress: "169.254.20.11" };
        config["cluster-infrastructure"]!.nodeCidrs = [];
        config["data-store-egress"]!.vpcCidrs = ["10.30.0.0/16"];
        const stores = config["data-store-egress"]!.stores as { name: string; cidrs: string[] }[];
        stores.find((store) => store.name === "postgres")!.cidrs = ["10.30.0.0/16"];
        // The services of the flow table, stated in the pack config, plus one the table does not have.
        config["known-peers-only"] = {
          workloads: ["flash-gateway", "flash-api", "flash-pay", "anything"].map((app) => ({
            namespace: "flash-ticket",
            podLabels: { app },
          })),
        };
        const endpoints = config["public-egress"]!.externalEndpoints as { ports: number[] }[];
        endpoints[0]!.ports = [443, 22];
      }),
    );
    const keys = [
      "public-ingress.albCidrs",
      "link-local-egress.nodeLocalAddress",
      "cluster-infrastructure.nodeCidrs",
      "data-store-egress.vpcCidrs",
      "data-store-egress.stores",
      "known-peers-only.workloads",
      "public-egress.externalEndpoints",
    ];
    for (const key of keys) {
      const named = found.filter((verdict) =>
        verdict.message.includes(`${key} in policies/config/prod.json`),
      );
      assert.equal(named.length, 1, `${key}: ${JSON.stringify(found.map((verdict) => verdict.message))}`);
      assert.equal(named[0]!.level, "mandatory");
    }
    assert.equal(found.length, keys.length);
    // fixtures/aws/prod.json: the node group flash-prod-general's three private subnets.
    assert.match(
      found.map((verdict) => verdict.message).join("\n"),
      /cluster-infrastructure\.nodeCidrs in policies\/config\/prod\.json is \[\], but the program discovered the node group subnets as \[10\.30\.16\.0\/20, 10\.30\.32\.0\/20, 10\.30\.48\.0\/20\]/,
    );
  });
});
