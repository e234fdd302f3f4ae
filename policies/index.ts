/**
 * Pack entry point: the Pulumi CLI (and offline/policyHarness.ts) runs this file through
 * @pulumi/pulumi/cmd/run-policy-pack, which serves the rules over gRPC. Nothing else belongs here:
 * the rules live in ./rules so tests can call them without starting a server.
 */
import { PolicyPack } from "@pulumi/policy";
import { PACK_ENFORCEMENT_LEVEL, PACK_NAME, RULES } from "./rules";

// Advisory unless the stack's pack config (policies/config/<stack>.json) raises it.
new PolicyPack(PACK_NAME, { policies: RULES, enforcementLevel: PACK_ENFORCEMENT_LEVEL });
