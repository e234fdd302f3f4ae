/**
 * The program's own targets as test bases: prod's full target (every rollout flag enforced) and
 * dev's target, rendered by `npm run plan` into tests/fixtures/policies (the files say how), and
 * each stack's committed pack config for one rule. Tests mutate deep copies.
 */
import * as fs from "fs";
import * as path from "path";
import { parseAllDocuments } from "yaml";
import { strict as assert } from "assert";
import type { ResourceValidationPolicy } from "@pulumi/policy";
import type { NetworkPolicyView, PeerView, RuleView } from "../../policies/rules/k8s";
import { runRule } from "./ruleArgs";
import { stackConfigOf } from "../../offline/stacks";

const FIXTURES = path.join(__dirname, "..", "fixtures", "policies");
const CONFIGS = path.join(__dirname, "..", "..", "policies", "config");

export type Target = NetworkPolicyView[];

function load(file: string): Target {
  const text = fs.readFileSync(path.join(FIXTURES, file), "utf8");
  return parseAllDocuments(text)
    .map((document) => document.toJSON() as NetworkPolicyView | null)
    .filter((policy): policy is NetworkPolicyView => policy !== null);
}

export const prodFullTarget = (): Target => load("prod-full-target.yaml");
export const devTarget = (): Target => load("dev-target.yaml");

/** The rule's entry in policies/config/<stack>.json, without its level. */
export function packRuleConfig(stack: "prod" | "dev", rule: string): Record<string, unknown> {
  const config = JSON.parse(fs.readFileSync(path.join(CONFIGS, `${stack}.json`), "utf8")) as Record<
    string,
    unknown
  >;
  const entry = config[rule];
  if (entry === undefined || typeof entry === "string") return {};
  const properties = { ...(entry as Record<string, unknown>) };
  delete properties["enforcementLevel"];
  return properties;
}

/**
 * The control every rule's test starts with: prod's full target under prod's pack config, and dev's
 * target under dev's, get no verdict from the rule.
 */
export function assertTargetsPass(rule: ResourceValidationPolicy): void {
  const configs = { prod: packRuleConfig("prod", rule.name), dev: packRuleConfig("dev", rule.name) };
  for (const policy of prodFullTarget())
    assert.deepEqual(runRule(rule, policy, configs.prod), [], `prod: ${policy.metadata?.name}`);
  for (const policy of devTarget())
    assert.deepEqual(runRule(rule, policy, configs.dev), [], `dev: ${policy.metadata?.name}`);
}

export function policyNamed(target: Target, name: string): NetworkPolicyView {
  const found = target.find((policy) => policy.metadata?.name === name);
  if (found === undefined) throw new Error(`target has no NetworkPolicy ${name}`);
  return found;
}

export function ruleOf(policy: NetworkPolicyView, direction: "ingress" | "egress", index: number): RuleView {
  const rule = policy.spec?.[direction]?.[index];
  if (rule === undefined) throw new Error(`${policy.metadata?.name} has no ${direction}[${index}]`);
  return rule;
}

/** A copy of one policy of the target with `edit` applied. */
export function mutated(
  target: Target,
  name: string,
  edit: (policy: NetworkPolicyView) => void,
): NetworkPolicyView {
  const copy = structuredClone(policyNamed(target, name));
  edit(copy);
  return copy;
}

/** A policy of the target with one egress rule appended: `to` peers on `ports`. */
export function withEgress(
  target: Target,
  name: string,
  to: PeerView[],
  ports: { port: number; protocol?: "TCP" | "UDP"; endPort?: number }[],
): NetworkPolicyView {
  return mutated(target, name, (policy) => {
    policy.spec!.egress = [
      ...(policy.spec!.egress ?? []),
      { to, ports: ports.map((port) => ({ protocol: "TCP", ...port })) },
    ];
  });
}

/** A policy of the target with one ingress rule appended: `from` peers on `ports`. */
export function withIngress(
  target: Target,
  name: string,
  from: PeerView[],
  ports: { port: number; protocol?: "TCP" | "UDP"; endPort?: number }[],
): NetworkPolicyView {
  return mutated(target, name, (policy) => {
    policy.spec!.ingress = [
      ...(policy.spec!.ingress ?? []),
      { from, ports: ports.map((port) => ({ protocol: "TCP", ...port })) },
    ];
  });
}

/**
 * Within the calling describe block, the pack sees `stack`'s config as `pulumi preview` hands it
 * (PULUMI_CONFIG: Pulumi.<stack>.yaml over Pulumi.yaml), so rules that read the flow table from it
 * (known-peers-only, data-store-egress and public-egress callers) judge as in a real preview.
 */
export function useStackConfig(stack: "prod" | "dev"): void {
  let saved: string | undefined;
  before(() => {
    saved = process.env.PULUMI_CONFIG;
    process.env.PULUMI_CONFIG = JSON.stringify(stackConfigOf(stack));
  });
  after(() => {
    if (saved === undefined) delete process.env.PULUMI_CONFIG;
    else process.env.PULUMI_CONFIG = saved;
  });
}
