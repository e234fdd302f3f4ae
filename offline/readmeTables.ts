/**
 * The README's two tables, the flow table by service and the NetworkPolicies the program deploys,
 * rendered from a plan (`npm run plan -- --stack dev --format markdown`). The README holds this
 * output, and tests/repository/readme.tables.test.ts checks that it still does, so a new service or flow shows
 * in the README by re-running the plan, never by writing prose.
 */
import {
  BREAK_GLASS_NAME,
  DEFAULT_DENY_NAME,
  DNS_EGRESS_NAME,
  servicePolicyName,
} from "../core/networkPolicies";
import type { EffectiveFlow } from "../components/flashNetworkPolicies";
import type { PlanReport } from "./planReport";

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(3, title.length, ...rows.map((row) => row[column].length)),
  );
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, column) => cell.padEnd(widths[column])).join(" | ")} |`;
  return [line(header), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)].join("\n");
}

function portsText(flow: EffectiveFlow): string {
  const byPort = new Map<number, string[]>();
  for (const { port, protocol } of flow.ports) byPort.set(port, [...(byPort.get(port) ?? []), protocol]);
  return [...byPort].map(([port, protocols]) => `${port}/${protocols.join("+")}`).join(" ");
}

/** How the README names a place and its ports in a policy's rules. */
function placeText(flow: EffectiveFlow, side: "from" | "to", services: ReadonlySet<string>): string {
  const name = flow[side];
  const ports = portsText(flow);
  if (services.has(name)) return `${name} ${ports}`;
  switch (name) {
    case "alb":
      return `the ALB subnets ${ports}`;
    case "dns":
      return `DNS ${ports}`;
    case "payment-api":
      return `payment-api ${ports} except the VPC, RFC1918 and 169.254.0.0/16`;
    default:
      return `${name} subnets ${ports}`;
  }
}

const selectorText = (labels: Readonly<Record<string, string>>) =>
  `\`${Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(",")}\``;

/** `| service | may be reached by | may call |`, one row per service of the stack. */
export function renderFlowTable(report: PlanReport): string {
  const rows = report.services.map((service) => {
    const inbound = report.flowTable.filter((flow) => flow.to === service.name);
    const outbound = report.flowTable.filter((flow) => flow.from === service.name);
    return [
      service.name,
      inbound.length === 0
        ? "nobody"
        : `${inbound.map((flow) => flow.from).join(", ")} on ${portsText(inbound[0])}`,
      outbound.map((flow) => `${flow.to} ${portsText(flow)}`).join(", ") || "nothing",
    ];
  });
  return table(["service", "may be reached by", "may call"], rows);
}

/** `| NetworkPolicy | selects | allows |`: each service's two policies and the namespace-wide ones. */
export function renderPolicyTable(report: PlanReport): string {
  const services = new Set(report.services.map((service) => service.name));
  const rows: string[][] = [];
  for (const service of report.services) {
    const selects = selectorText(service.podLabels);
    const inbound = report.flowTable.filter((flow) => flow.to === service.name);
    const outbound = report.flowTable.filter((flow) => flow.from === service.name);
    rows.push([
      `\`${servicePolicyName(service.name, "ingress")}\``,
      selects,
      inbound.length === 0
        ? "nothing (`ingress: []`)"
        : `from ${inbound.map((flow) => placeText(flow, "from", services)).join(", ")}`,
    ]);
    rows.push([
      `\`${servicePolicyName(service.name, "egress")}\``,
      selects,
      outbound.length === 0
        ? "nothing (`egress: []`)"
        : `to ${outbound.map((flow) => placeText(flow, "to", services)).join(", ")}`,
    ]);
  }
  rows.push(
    [
      `\`${DNS_EGRESS_NAME}\``,
      "every pod",
      "to kube-dns in kube-system (and NodeLocal DNSCache) on 53/UDP+TCP",
    ],
    [`\`${DEFAULT_DENY_NAME}\``, "every pod", "nothing, both directions; created last, deleted first"],
    [`\`${BREAK_GLASS_NAME}\``, "every pod", "everything; only while `breakGlass: true`"],
  );
  return table(["NetworkPolicy", "selects", "allows"], rows);
}

export function renderReadmeTables(report: PlanReport): string {
  return `${renderFlowTable(report)}\n\n${renderPolicyTable(report)}\n`;
}
