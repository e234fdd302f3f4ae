/**
 * Bad stack config values are config errors naming the key, for `check` (exit 2, bad input) and for
 * `plan` (exit 1, the program fails), never a crash in the model. Each value is one a careless edit
 * could write; what is expected is read off AWS's and Kubernetes' rules, not off the messages.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runCli } from "../support/runCli";
import { freeAddresses } from "../../analyzer/flash/addresses";

const FIXTURES = path.join("tests", "fixtures", "policies");

describe("stack config values that make no sense are config errors naming the key @process", function () {
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "flash-netpol-config-values-"))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** The stack file with `block` inserted under the top-level `config:` key (a later key would win). */
  function stackFile(stack: "dev" | "prod", block: string, replace?: [RegExp, string]): string {
    let text = fs.readFileSync(`Pulumi.${stack}.yaml`, "utf8");
    if (replace !== undefined) text = text.replace(replace[0], replace[1]);
    else
      text = text
        .replace(/^ {2}flash-netpol:alb:\n(?: {4}.*\n)*/m, "")
        .replace(/^config:\n/m, `config:\n${block}`);
    const file = path.join(dir, `Pulumi.${stack}-${Math.random().toString(36).slice(2)}.yaml`);
    fs.writeFileSync(file, text);
    return file;
  }

  it("alb.cidrs [0.0.0.0/0]: check exits 2 and plan exits 1, naming flash-netpol:alb.cidrs (not the model)", async () => {
    const file = stackFile("prod", "  flash-netpol:alb:\n    cidrs: [0.0.0.0/0]\n");
    const checked = await runCli(
      "cli/check.ts",
      path.join(FIXTURES, "compliant.yaml"),
      ...["--stack", "prod", "--config-file", file],
    );
    assert.equal(checked.code, 2, checked.stdout);
    assert.match(
      checked.stderr,
      /flash-netpol:alb\.cidrs\.0: got "0\.0\.0\.0\/0"; expected the CIDR of one of the ALB's subnets/,
    );
    assert.match(checked.stderr, /Fix: /);
    const planned = await runCli("cli/plan.ts", "--stack", "prod", "--config-file", file, "--no-policy-pack");
    assert.equal(planned.code, 1);
    assert.match(planned.stderr, /flash-netpol:alb\.cidrs/);
    assert.doesNotMatch(planned.stderr, /no room for the model's pods/);
  });

  it("alb.cidrs outside the cluster's VPC: refused at lookup, naming the key and the VPC", async () => {
    const file = stackFile("prod", "  flash-netpol:alb:\n    cidrs: [10.99.0.0/24]\n");
    const planned = await runCli("cli/plan.ts", "--stack", "prod", "--config-file", file, "--no-policy-pack");
    assert.equal(planned.code, 1);
    // prod's VPC (fixtures/aws/prod.json) is 10.30.0.0/16 plus 100.64.0.0/16.
    assert.match(
      planned.stderr,
      /flash-netpol:alb\.cidrs: got \["10\.99\.0\.0\/24"\]; expected subnets of the cluster's VPC .*10\.30\.0\.0\/16/,
    );
  });

  it("alb.cidrs that are the whole VPC: the model says which subnets fill the VPC and which key to fix", async () => {
    // dev's VPC is the single range 10.20.0.0/16: AWS allows a subnet that size, but pods need room too.
    const file = stackFile("dev", "  flash-netpol:alb:\n    cidrs: [10.20.0.0/16]\n");
    const planned = await runCli("cli/plan.ts", "--stack", "dev", "--config-file", file, "--no-policy-pack");
    assert.equal(planned.code, 1);
    assert.match(
      planned.stderr,
      /no room for pods outside the subnets the flow table names: alb \[10\.20\.0\.0\/16\] \(flash-netpol:alb\.cidrs/,
    );
    assert.match(planned.stderr, /Fix: set flash-netpol:alb\.cidrs/);
  });

  it("dns.nodeLocalAddress at a credential endpoint or outside link-local space: refused, naming the key", async () => {
    for (const [address, why] of [
      ["169.254.169.254", /instance metadata service/],
      ["169.254.170.23", /Pod Identity agent/],
      ["10.30.0.2", /inside 169\.254\.0\.0\/16/],
    ] as const) {
      const file = stackFile("prod", "", [
        /nodeLocalAddress: 169\.254\.20\.10/,
        `nodeLocalAddress: ${address}`,
      ]);
      const planned = await runCli(
        "cli/plan.ts",
        "--stack",
        "prod",
        "--config-file",
        file,
        "--no-policy-pack",
      );
      assert.equal(planned.code, 1, address);
      assert.match(planned.stderr, /flash-netpol:dns\.nodeLocalAddress: got /);
      assert.match(planned.stderr, why);
    }
  });

  it("paymentApi.cidrs: 0.0.0.0/0 and a provider's /32 are fine; a private or link-local range is refused", async () => {
    const single = stackFile("prod", "", [/- 0\.0\.0\.0\/0/, "- 198.51.100.7/32"]);
    const ok = await runCli("cli/plan.ts", "--stack", "prod", "--config-file", single, "--no-policy-pack");
    assert.equal(ok.code, 0, ok.stderr);
    for (const range of ["10.0.0.0/8", "169.254.169.254/32", "127.0.0.1/32"]) {
      const file = stackFile("prod", "", [/- 0\.0\.0\.0\/0/, `- ${range}`]);
      const planned = await runCli(
        "cli/plan.ts",
        "--stack",
        "prod",
        "--config-file",
        file,
        "--no-policy-pack",
      );
      assert.equal(planned.code, 1, range);
      assert.match(planned.stderr, /flash-netpol:paymentApi\.cidrs: got .*, which lies inside /);
    }
  });

  it("the model places an address in a range smaller than its usual offset (a /32, a /29)", () => {
    assert.deepEqual(freeAddresses("198.51.100.7/32", [], 1), ["198.51.100.7"]);
    assert.deepEqual(freeAddresses("198.51.100.0/29", [], 2), ["198.51.100.0", "198.51.100.1"]);
  });
});
