/**
 * Which policy is the program's own emergency allow-all, exempt from the pack's rules (and reported
 * by break-glass-active as advisory). The label alone proves nothing: anyone can put it on a policy
 * to slip past the pack. So the exemption holds only for the policy the generator renders
 * (core/networkPolicies.ts breakGlassPolicy): named break-glass-allow-all, in the stack's
 * namespace, with exactly its labels and spec. The spec may list, after the allow-all rule of each
 * direction, one rule of plain ipBlocks (the ranges other policies except, so the EKS agent's
 * deny-all keys for them become allow-all keys); which ranges depends on the other policies, and
 * after an allow-all rule they cannot allow anything more, so their values are not compared.
 */
import type { PolicyProviderResource } from "@pulumi/policy";
import { BREAK_GLASS_LABEL, BREAK_GLASS_NAME, MANAGED_BY_LABELS } from "../../core/networkPolicies";
import { isBreakGlass, namespaceOf, type NetworkPolicyView, type PeerView, type RuleView } from "./k8s";
import { stackNamespace } from "./stackConfig";

const sameKeys = (value: object, keys: readonly string[]): boolean => {
  const own = Object.keys(value).filter((key) => (value as Record<string, unknown>)[key] !== undefined);
  return own.length === keys.length && keys.every((key) => own.includes(key));
};

const isEmptyObject = (value: unknown): boolean =>
  value !== null && typeof value === "object" && sameKeys(value, []);

const isPlainBlock = (peer: PeerView): boolean =>
  sameKeys(peer, ["ipBlock"]) &&
  peer.ipBlock !== undefined &&
  sameKeys(peer.ipBlock, ["cidr"]) &&
  typeof peer.ipBlock.cidr === "string";

/** `[{}]` or `[{}, {<peersKey>: [plain ipBlocks]}]`, as the generator renders a direction. */
function isGeneratedDirection(rules: readonly RuleView[] | undefined, peersKey: "from" | "to"): boolean {
  if (rules === undefined || rules.length < 1 || rules.length > 2 || !isEmptyObject(rules[0])) return false;
  const plain = rules[1];
  if (plain === undefined) return true;
  const peers = plain[peersKey];
  return sameKeys(plain, [peersKey]) && peers !== undefined && peers.length > 0 && peers.every(isPlainBlock);
}

function hasExactlyLabels(policy: NetworkPolicyView): boolean {
  const labels = policy.metadata?.labels ?? {};
  const expected: Record<string, string> = { ...MANAGED_BY_LABELS, [BREAK_GLASS_LABEL]: "true" };
  return (
    sameKeys(labels, Object.keys(expected)) &&
    Object.entries(expected).every(([key, value]) => labels[key] === value)
  );
}

/**
 * True only for the program's own break-glass policy in `namespace` (by default the stack's
 * flash-netpol:namespace as the CLI hands it to the pack; with no stack config nothing is exempt).
 */
export function isProgramsBreakGlass(
  policy: NetworkPolicyView,
  provider?: PolicyProviderResource,
  stackNamespaceOverride?: string,
): boolean {
  // Most policies carry no label: answer them before reading the stack config (every rule asks).
  if (!isBreakGlass(policy)) return false;
  const namespace = stackNamespaceOverride ?? stackNamespace();
  if (namespace === undefined) return false;
  if (policy.metadata?.name !== BREAK_GLASS_NAME || namespaceOf(policy, provider) !== namespace) return false;
  const spec = policy.spec;
  if (spec === undefined || !sameKeys(spec, ["podSelector", "policyTypes", "ingress", "egress"]))
    return false;
  const types = spec.policyTypes ?? [];
  return (
    hasExactlyLabels(policy) &&
    isEmptyObject(spec.podSelector) &&
    types.length === 2 &&
    types[0] === "Ingress" &&
    types[1] === "Egress" &&
    isGeneratedDirection(spec.ingress, "from") &&
    isGeneratedDirection(spec.egress, "to")
  );
}
