/**
 * `check` runs the whole guard on any file: prod's own full target (every rollout flag enforced)
 * passes; variants beyond the flow table, which only flows-match-flow-table can see, are refused
 * naming the policy. The target is rendered by `npm run plan --format yaml`; each variant is a hand
 * edit of it, the expectations written from the flow table (README "Flow table"), not from check.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import type { PolicyVerdict } from "../../offline/policyHarness";
import { runCli } from "../support/runCli";

interface Manifest {
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  spec: {
    ingress?: Record<string, unknown>[];
    egress?: Record<string, unknown>[];
    [key: string]: unknown;
  };
}

let dir: string;

function writeConfig(name: string, edit: (text: string) => string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, edit(fs.readFileSync("Pulumi.prod.yaml", "utf8")));
  return file;
}

async function render(configFile: string): Promise<Manifest[]> {
  const result = await runCli(
    "cli/plan.ts",
    "--stack",
    "prod",
    "--config-file",
    configFile,
    "--format",
    "yaml",
    "--no-policy-pack",
  );
  assert.equal(result.code, 0, result.stderr);
  return YAML.parseAllDocuments(result.stdout).map((document) => document.toJS() as Manifest);
}

async function check(
  manifests: readonly Manifest[],
  ...args: string[]
): Promise<{ code: number; verdicts: PolicyVerdict[]; stderr: string }> {
  const file = path.join(dir, `variant-${Math.random().toString(36).slice(2)}.yaml`);
  fs.writeFileSync(file, manifests.map((manifest) => YAML.stringify(manifest)).join("---\n"));
  const result = await runCli("cli/check.ts", file, ...args);
  let verdicts: PolicyVerdict[] = [];
  try {
    verdicts = JSON.parse(result.stdout) as PolicyVerdict[];
  } catch {
    // stderr says why
  }
  return { code: result.code, verdicts, stderr: result.stderr };
}

const mandatory = (verdicts: readonly PolicyVerdict[]) =>
  verdicts.filter((verdict) => verdict.level === "mandatory");

/** A mandatory verdict naming the policy, in its resource or its message. */
function refusedNaming(
  verdicts: readonly PolicyVerdict[],
  policy: string,
  rule?: string,
): PolicyVerdict | undefined {
  return mandatory(verdicts).find(
    (verdict) =>
      (verdict.resource.includes(policy) || verdict.message.includes(policy)) &&
      (rule === undefined || verdict.policy === rule),
  );
}

describe("check: the whole guard on prod's full target @process", function () {
  let full: Manifest[];
  let breakGlass: Manifest[];

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "flash-netpol-check-guard-"));
    const fullConfig = writeConfig("Pulumi.prod-full.yaml", (text) => text.replace(/"off"/g, "enforce"));
    full = await render(fullConfig);
    breakGlass = await render(
      writeConfig("Pulumi.prod-break-glass.yaml", (text) =>
        text
          .replace(/"off"/g, "enforce")
          .replace(/^config:\n/m, "config:\n  flash-netpol:breakGlass: true\n"),
      ),
    );
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const edited = (edit: (byName: Map<string, Manifest>) => void, from = () => full): Manifest[] => {
    const copy = structuredClone(from());
    edit(new Map(copy.map((manifest) => [manifest.metadata.name, manifest])));
    return copy;
  };

  it("controls: the full target passes with the committed config, without the exemption, and with break-glass on", async () => {
    // The default deny comes last in the target, as the namespace rule needs it.
    assert.ok(full.some((manifest) => manifest.metadata.name === "default-deny-all"));
    const committed = await check(full, "--stack", "prod");
    assert.equal(
      committed.code,
      0,
      JSON.stringify(mandatory(committed.verdicts), null, 2) + committed.stderr,
    );

    const withoutExemption = path.join(dir, "prod-no-exemption.json");
    const prodConfig = JSON.parse(fs.readFileSync("policies/config/prod.json", "utf8")) as Record<
      string,
      Record<string, unknown>
    >;
    delete prodConfig["namespace-default-deny"]!["exemptions"];
    fs.writeFileSync(withoutExemption, JSON.stringify(prodConfig));
    const stricter = await check(full, "--stack", "prod", "--policy-pack-config", withoutExemption);
    assert.equal(stricter.code, 0, JSON.stringify(mandatory(stricter.verdicts), null, 2) + stricter.stderr);

    assert.ok(breakGlass.some((manifest) => manifest.metadata.name === "break-glass-allow-all"));
    const emergency = await check(breakGlass, "--stack", "prod");
    assert.equal(emergency.code, 0, JSON.stringify(mandatory(emergency.verdicts), null, 2));
    // Still visible: an emergency allow-all is reported, advisory.
    assert.ok(emergency.verdicts.some((verdict) => verdict.message.includes("break-glass-allow-all")));
  });

  const variants: {
    name: string;
    policy: string;
    edit: (byName: Map<string, Manifest>) => void;
  }[] = [
    {
      name: "flash-api to the payment API (only flash-pay may call it)",
      policy: "flash-ticket/flash-api-egress",
      edit: (byName) =>
        byName.get("flash-api-egress")!.spec.egress!.push({
          to: [
            {
              ipBlock: {
                cidr: "0.0.0.0/0",
                except: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10"],
              },
            },
          ],
          ports: [{ port: 443, protocol: "TCP" }],
        }),
    },
    {
      name: "flash-api -> flash-gateway (the reverse of a flow)",
      policy: "flash-ticket/flash-gateway-ingress",
      edit: (byName) => {
        byName.get("flash-api-egress")!.spec.egress!.push({
          to: [{ podSelector: { matchLabels: { app: "flash-gateway" } } }],
          ports: [{ port: 3000, protocol: "TCP" }],
        });
        byName.get("flash-gateway-ingress")!.spec.ingress!.push({
          from: [{ podSelector: { matchLabels: { app: "flash-api" } } }],
          ports: [{ port: 3000, protocol: "TCP" }],
        });
      },
    },
    {
      name: "flash-gateway -> flash-pay (no flow reaches the pay worker)",
      policy: "flash-ticket/flash-gateway-egress",
      edit: (byName) => {
        byName.get("flash-gateway-egress")!.spec.egress!.push({
          to: [{ podSelector: { matchLabels: { app: "flash-pay" } } }],
        });
        byName.get("flash-pay-ingress")!.spec.ingress = [
          { from: [{ podSelector: { matchLabels: { app: "flash-gateway" } } }] },
        ];
      },
    },
    {
      name: "an extra port to Redis (22 besides 6379)",
      policy: "flash-ticket/flash-gateway-egress",
      edit: (byName) => {
        const redis = byName
          .get("flash-gateway-egress")!
          .spec.egress!.find((rule) => JSON.stringify(rule).includes("6379"))!;
        (redis["ports"] as unknown[]).push({ port: 22, protocol: "TCP" });
      },
    },
    {
      name: "an endPort range on the Redis rule",
      policy: "flash-ticket/flash-gateway-egress",
      edit: (byName) => {
        const redis = byName
          .get("flash-gateway-egress")!
          .spec.egress!.find((rule) => JSON.stringify(rule).includes("6379"))!;
        redis["ports"] = [{ port: 6379, endPort: 9000, protocol: "TCP" }];
      },
    },
    {
      name: "ingress to flash-api from the pod CIDR (100.64.0.0/16, prod's secondary VPC range)",
      policy: "flash-ticket/flash-api-ingress",
      edit: (byName) =>
        byName.get("flash-api-ingress")!.spec.ingress!.push({
          from: [{ ipBlock: { cidr: "100.64.0.0/16" } }],
          ports: [{ port: 4000, protocol: "TCP" }],
        }),
    },
  ];

  // Where attackers go: each is a probe endpoint or port of the flash model (analyzer/flash/model.ts).
  const egressOfApi = (peer: Record<string, unknown>, port: number) => (byName: Map<string, Manifest>) =>
    void byName
      .get("flash-api-egress")!
      .spec.egress!.push({ to: [peer], ports: [{ port, protocol: "TCP" }] });
  variants.push(
    {
      name: "egress to IMDS 169.254.169.254/32 (node IAM credentials)",
      policy: "flash-ticket/flash-api-egress",
      edit: egressOfApi({ ipBlock: { cidr: "169.254.169.254/32" } }, 80),
    },
    {
      name: "egress to the EKS Pod Identity agent 169.254.170.23/32 (pod IAM credentials)",
      policy: "flash-ticket/flash-api-egress",
      edit: egressOfApi({ ipBlock: { cidr: "169.254.170.23/32" } }, 80),
    },
    {
      name: "egress to all of kube-system on 443 (not only kube-dns)",
      policy: "flash-ticket/flash-api-egress",
      edit: egressOfApi(
        { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } } },
        443,
      ),
    },
    {
      name: "egress to the node subnets on the kubelet port 10250",
      policy: "flash-ticket/flash-api-egress",
      edit: egressOfApi({ ipBlock: { cidr: "10.30.0.0/16" } }, 10250),
    },
    {
      name: "egress to another namespace's pods (a namespaceSelector Exists expression)",
      policy: "flash-ticket/flash-api-egress",
      edit: egressOfApi(
        {
          namespaceSelector: {
            matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "Exists" }],
          },
        },
        4000,
      ),
    },
    {
      name: "a public /3 on port 22",
      policy: "flash-ticket/flash-api-egress",
      edit: egressOfApi({ ipBlock: { cidr: "192.0.0.0/3" } }, 22),
    },
  );

  for (const variant of variants) {
    it(`refused, naming ${variant.policy}: ${variant.name}`, async () => {
      const result = await check(edited(variant.edit), "--stack", "prod");
      assert.equal(result.code, 1, result.stderr);
      assert.ok(
        refusedNaming(result.verdicts, variant.policy, "flows-match-flow-table"),
        `no mandatory flows-match-flow-table verdict naming ${variant.policy}:\n${JSON.stringify(result.verdicts, null, 2)}`,
      );
    });
  }

  it("a flow-table service's policy deleted is an outage: refused, naming the flow and the isolating default deny", async () => {
    const withoutApiIngress = full.filter((manifest) => manifest.metadata.name !== "flash-api-ingress");
    const result = await check(withoutApiIngress, "--stack", "prod");
    assert.equal(result.code, 1, result.stderr);
    const outage = refusedNaming(result.verdicts, "flash-ticket/default-deny-all", "flows-match-flow-table");
    assert.ok(outage, JSON.stringify(result.verdicts, null, 2));
    assert.match(outage.message, /outage .*flash-gateway -> flash-api/);
  });

  it("under dev the same classes are reported, advisory", async () => {
    // dev's own full target is dev's plan; prod's file judged as dev is beyond dev's table (other CIDRs).
    const result = await check(full, "--stack", "dev");
    assert.equal(result.code, 0, result.stderr);
    assert.ok(result.verdicts.some((verdict) => verdict.policy === "flows-match-flow-table"));
    assert.deepEqual(mandatory(result.verdicts), []);
  });
});
