/**
 * flows-match-flow-table through the gRPC harness, on what the program registers: the component's
 * outputs carry the model, the NetworkPolicies are judged against the flow table.
 */
import { strict as assert } from "assert";
import { PolicyHarness, stackPackConfigPath, type PolicyVerdict } from "../../offline/policyHarness";
import { fromRegisteredResources } from "../../offline/policyResources";
import { runStack, type RunOptions } from "../../offline/runProgram";

const RULE = "flows-match-flow-table";

describe("policy pack: flows-match-flow-table on the program's stacks @process", function () {
  let harness: PolicyHarness;
  before(async () => {
    harness = await PolicyHarness.start({ stack: "prod" });
  });
  after(async () => harness?.close());

  async function flowVerdicts(options: RunOptions, packStack: "dev" | "prod"): Promise<PolicyVerdict[]> {
    const run = await runStack(options);
    if (run.error !== undefined) throw run.error;
    await harness.configure(stackPackConfigPath(packStack));
    return (await harness.preview(fromRegisteredResources(run.resources))).filter(
      (verdict) => verdict.policy === RULE,
    );
  }

  it("dev (full enforcement) and prod (stage 3) match the flow table: no verdict at all", async () => {
    assert.deepEqual(await flowVerdicts({ stack: "dev" }, "dev"), []);
    assert.deepEqual(await flowVerdicts({ stack: "prod" }, "prod"), []);
  });

  it("prod's next stage (flash-api egress enforced) still matches", async () => {
    const verdicts = await flowVerdicts(
      {
        stack: "prod",
        configOverrides: {
          "flash-netpol:rollout": {
            defaultDeny: "off",
            services: {
              "flash-gateway": { ingress: "enforce", egress: "enforce" },
              "flash-api": { ingress: "enforce", egress: "enforce" },
              "flash-pay": { ingress: "enforce", egress: "enforce" },
            },
          },
        },
      },
      "prod",
    );
    assert.deepEqual(verdicts, []);
  });

  it("break-glass in prod: the exposures it opens are reported, but only as advisory", async () => {
    const verdicts = await flowVerdicts(
      { stack: "prod", configOverrides: { "flash-netpol:breakGlass": true } },
      "prod",
    );
    assert.ok(verdicts.length > 0, "the allow-all exposes isolated pods and must be visible");
    assert.deepEqual([...new Set(verdicts.map((verdict) => verdict.level))], ["advisory"]);
    assert.ok(
      verdicts.every((verdict) => verdict.resource === "NetworkPolicy flash-ticket/break-glass-allow-all"),
    );
  });
});
