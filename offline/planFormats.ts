/** Renders a plan report as a readable summary, kubectl-ready YAML, or the JSON other tools read. */
import * as YAML from "yaml";
import { DIRECTIONS, SERVICE_NAMES } from "../components/flowTable";
import type { NetworkPolicyManifest, NetworkPolicyPeer, NetworkPolicyPort } from "../components/networkPolicies";
import type { PlanReport } from "./planReport";

export function renderYaml(report: PlanReport): string {
  const header =
    `# flash-netpol: NetworkPolicies of stack ${report.stack} (namespace ${report.namespace}).\n` +
    `# Rendered offline by 'npm run plan -- --stack ${report.stack} --format yaml'. Emergency path without Pulumi:\n` +
    `#   kubectl apply -f security/network-policies.yaml   (allows come first, the default deny last)\n`;
  return header + report.manifests.map((manifest) => YAML.stringify(manifest)).join("---\n");
}

function describeSelector(selector: { matchLabels?: Record<string, string> } | undefined): string {
  const labels = Object.entries(selector?.matchLabels ?? {});
  return labels.length === 0 ? "all pods" : labels.map(([key, value]) => `${key}=${value}`).join(",");
}

function describePeer(peer: NetworkPolicyPeer): string {
  if (peer.ipBlock) {
    const except = peer.ipBlock.except?.length ? ` except ${peer.ipBlock.except.join(" ")}` : "";
    return `${peer.ipBlock.cidr}${except}`;
  }
  const pods = peer.podSelector ? `pods ${describeSelector(peer.podSelector)}` : "all pods";
  return peer.namespaceSelector ? `${pods} in namespaces ${describeSelector(peer.namespaceSelector)}` : pods;
}

function describePorts(ports: NetworkPolicyPort[] | undefined): string {
  if (!ports || ports.length === 0) return "all ports";
  return ports.map((port) => `${port.port ?? "*"}/${port.protocol ?? "TCP"}`).join(" ");
}

function describePolicy(manifest: NetworkPolicyManifest): string[] {
  const { spec } = manifest;
  const lines = [`  ${manifest.metadata.name}  [${spec.policyTypes.join("+")}] selects ${describeSelector(spec.podSelector)}`];
  for (const rule of spec.ingress ?? []) {
    lines.push(`      in  from ${(rule.from ?? []).map(describePeer).join(" | ") || "anywhere"} on ${describePorts(rule.ports)}`);
  }
  for (const rule of spec.egress ?? []) {
    lines.push(`      out to   ${(rule.to ?? []).map(describePeer).join(" | ") || "anywhere"} on ${describePorts(rule.ports)}`);
  }
  if (spec.policyTypes.includes("Ingress") && (spec.ingress ?? []).length === 0) lines.push("      in  nothing allowed");
  if (spec.policyTypes.includes("Egress") && (spec.egress ?? []).length === 0) lines.push("      out nothing allowed");
  return lines;
}

export function renderSummary(report: PlanReport): string {
  const lines: string[] = [];
  lines.push(`Plan of stack ${report.stack}: namespace ${report.namespace}, ${report.manifests.length} NetworkPolicies, ${report.awsLookups} AWS lookups`);
  lines.push("");
  lines.push("Rollout stage:");
  lines.push(`  default deny (namespace)  ${report.rollout.defaultDeny}`);
  for (const service of SERVICE_NAMES) {
    const flags = DIRECTIONS.map((direction) => `${direction} ${report.rollout.services[service][direction]}`).join(", ");
    lines.push(`  ${service.padEnd(24)}  ${flags}`);
  }
  lines.push("");
  lines.push("Resolved CIDRs:");
  for (const [name, cidrs] of Object.entries(report.cidrs)) lines.push(`  ${name.padEnd(9)} ${cidrs.join(" ")}`);
  lines.push("");
  lines.push("Flow table (E = the policy on that side is enforced):");
  for (const flow of report.flowTable) {
    const ports = flow.ports.map((port) => `${port.port}/${port.protocol}`).join(" ");
    const sides = `${flow.egressEnforced ? "E" : "-"}${flow.ingressEnforced ? "E" : "-"}`;
    lines.push(`  ${sides} ${flow.from.padEnd(13)} -> ${flow.to.padEnd(13)} ${ports.padEnd(16)} ${flow.purpose}`);
  }
  lines.push("");
  lines.push("NetworkPolicies (in apply order):");
  for (const manifest of report.manifests) lines.push(...describePolicy(manifest));
  return lines.join("\n") + "\n";
}

/** The JSON contract of `npm run plan -- --format json`; keys are only ever added, never renamed. */
export function planJson(report: PlanReport): Record<string, unknown> {
  return {
    stack: report.stack,
    namespace: report.namespace,
    services: report.services,
    cidrs: report.cidrs,
    manifests: report.manifests,
    rollout: report.rollout,
    flowTable: report.flowTable,
  };
}
