/**
 * accepted-risks: a data store on the cluster's subnets, accepted with allowSharedSubnets, reaches
 * the pack as the component's recorded discoveryWarnings and comes back as advisory verdicts, even
 * under prod's `"all": "mandatory"`.
 */
import { strict as assert } from "assert";
import { loadAwsFixture, type AwsFixture } from "../../offline/awsFixtureFile";
import { mandatoryVerdicts, stackPackConfigPath, type PolicyVerdict } from "../../offline/policyHarness";
import { loadPolicyPackConfigFile } from "../../offline/policyPackConfig";
import { sharedPolicyHarness } from "../../offline/sharedPolicyHarness";
import { fromRegisteredResources } from "../../offline/policyResources";
import { runStack } from "../../offline/runProgram";
import { checkAcceptedRisks } from "../../policies/rules/acceptedRisks";
import { COMPONENT_TYPE } from "../../core/resourceTypes";

const RULE = "accepted-risks";

/** prod's cache subnet group moved onto two of the EKS node subnets (fixtures/aws/prod.json). */
function prodCacheOnNodeSubnets(): AwsFixture {
  const fixture = loadAwsFixture("fixtures/aws/prod.json");
  for (const call of fixture.calls) {
    for (const group of call.output.CacheSubnetGroups ?? []) {
      group.Subnets = [
        { SubnetIdentifier: "subnet-9f14e2fa16398c462" },
        { SubnetIdentifier: "subnet-09f1bc582e3cecbd5" },
      ];
    }
  }
  return fixture;
}

const PROD_STORES = {
  redis: { replicationGroupId: "flash-prod-redis", port: 6379 },
  postgres: { dbClusterIdentifier: "flash-prod-aurora", port: 15432 },
  mq: { brokerName: "flash-prod-mq", port: 5671 },
};

describe("policy pack: accepted-risks on the program's prod stack @process", function () {
  async function prodPreview(allowSharedSubnets: boolean, shared: boolean) {
    const run = await runStack({
      stack: "prod",
      ...(shared ? { fixture: prodCacheOnNodeSubnets() } : {}),
      configOverrides: {
        "flash-netpol:dataStores": { ...PROD_STORES, redis: { ...PROD_STORES.redis, allowSharedSubnets } },
      },
    });
    if (run.error !== undefined) throw run.error;
    // The pack config states the moved cache's subnets, and accepts them for the cluster rule, as an
    // operator who accepts the shared subnets would write it (otherwise the stale facts are reported).
    const packConfig = loadPolicyPackConfigFile(stackPackConfigPath("prod"));
    if (shared) {
      const nodeSubnets = ["10.30.16.0/20", "10.30.32.0/20"];
      const stores = packConfig.get("data-store-egress")!;
      const storeList = (stores.properties["stores"] as { name: string; cidrs: string[] }[]).map((store) =>
        store.name === "redis" ? { ...store, cidrs: nodeSubnets } : store,
      );
      packConfig.set("data-store-egress", {
        ...stores,
        properties: { ...stores.properties, stores: storeList },
      });
      const cluster = packConfig.get("cluster-infrastructure")!;
      packConfig.set("cluster-infrastructure", {
        ...cluster,
        properties: {
          ...cluster.properties,
          sharedWithDataStores: nodeSubnets.map((cidr) => ({ cidr, ports: [6379] })),
        },
      });
    }
    const harness = await sharedPolicyHarness({ stack: "prod", packConfig });
    return harness.preview(fromRegisteredResources(run.resources));
  }

  it("cache on the node subnets with allowSharedSubnets: one advisory verdict per shared subnet, nothing mandatory", async () => {
    const verdicts = await prodPreview(true, true);
    // The accepting pack config differs from the shipped baseline (policies/config/prod.json), so the
    // pack refuses it as weaker until the change is made in the baseline itself, under review: those
    // are the only mandatory verdicts, each naming a key this test changed.
    const mandatory = mandatoryVerdicts(verdicts);
    for (const verdict of mandatory) {
      assert.equal(verdict.policy, "pack-config-not-weakened", JSON.stringify(mandatory, null, 2));
      assert.match(
        verdict.message,
        /^.*\n(cluster-infrastructure\.sharedWithDataStores|data-store-egress\.stores) is weaker/,
      );
    }
    const accepted = verdicts.filter((verdict: PolicyVerdict) => verdict.policy === RULE);
    // The cluster and its node group both use the two subnets (fixtures/aws/prod.json): 2 x 2 pairs.
    assert.equal(accepted.length, 4, JSON.stringify(accepted, null, 2));
    for (const verdict of accepted) {
      assert.equal(verdict.level, "advisory");
      assert.match(verdict.message, /flash-netpol:dataStores\.redis\.allowSharedSubnets is true/);
      assert.match(verdict.message, /cache subnet group flash-prod-redis-subnets subnet subnet-/);
      assert.match(verdict.message, /Fix: move the redis data store to subnets of its own/);
    }
    const named = (subnet: string) => accepted.filter((verdict) => verdict.message.includes(subnet)).length;
    assert.equal(named("subnet-9f14e2fa16398c462 (10.30.16.0/20) is EKS"), 2);
    assert.equal(named("subnet-09f1bc582e3cecbd5 (10.30.32.0/20) is EKS"), 2);
  });

  it("without shared subnets the rule says nothing", async () => {
    const verdicts = await prodPreview(false, false);
    assert.deepEqual(
      verdicts.filter((verdict) => verdict.policy === RULE),
      [],
    );
  });
});

describe("accepted-risks without a pack process", () => {
  const component = (props: Record<string, unknown>) => ({
    type: COMPONENT_TYPE,
    name: "flash-ticket",
    urn: "urn:pulumi:dev::flash-netpol::flash-netpol:index:FlashNetworkPolicies::flash-ticket",
    props,
  });
  const asResources = (props: Record<string, unknown>) =>
    [component(props)] as unknown as Parameters<typeof checkAcceptedRisks>[0];

  it("reports nothing for no warnings, or for state recorded without the key", () => {
    assert.deepEqual(checkAcceptedRisks(asResources({ discoveryWarnings: [] })), []);
    assert.deepEqual(checkAcceptedRisks(asResources({})), []);
  });

  it("keeps a warning it does not know verbatim, still advisory", () => {
    const [found, ...rest] = checkAcceptedRisks(asResources({ discoveryWarnings: ["something else"] }));
    assert.deepEqual(rest, []);
    assert.equal(found!.forceLevel, "advisory");
    assert.match(found!.message, /accepted risk recorded by the component: something else/);
  });
});
