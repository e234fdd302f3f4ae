/** Renders a plan report as a readable summary, kubectl-ready YAML, or the JSON other tools read. */
import * as YAML from "yaml";
import type { PolicyVerdict } from "./policyHarness";
import { DIRECTIONS, protocolOf } from "../core/kubernetes";
import type { NetworkPolicyManifest, NetworkPolicyPeer, NetworkPolicyPort } from "../core/networkPolicies";
import { describeExplanation, type RuleReference } from "../analyzer";
import {
  describeOutage,
  failingStages,
  stageCountJson,
  type ConnectivityReport,
  type EnforcerName,
  type ProbeVerdict,
  type RolloutProof,
} from "../analyzer/flash";
import {
  currentOutages,
  differenceRows,
  matrixRows,
  stagesProven,
  type ExplainResult,
  type PlanConnectivity,
} from "./planConnectivity";
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
  return ports.map((port) => `${port.port ?? "*"}/${protocolOf(port)}`).join(" ");
}

function describePolicy(manifest: NetworkPolicyManifest): string[] {
  const { spec } = manifest;
  const lines = [
    `  ${manifest.metadata.name}  [${spec.policyTypes.join("+")}] selects ${describeSelector(spec.podSelector)}`,
  ];
  for (const rule of spec.ingress ?? []) {
    lines.push(
      `      in  from ${(rule.from ?? []).map(describePeer).join(" | ") || "anywhere"} on ${describePorts(rule.ports)}`,
    );
  }
  for (const rule of spec.egress ?? []) {
    lines.push(
      `      out to   ${(rule.to ?? []).map(describePeer).join(" | ") || "anywhere"} on ${describePorts(rule.ports)}`,
    );
  }
  if (spec.policyTypes.includes("Ingress") && (spec.ingress ?? []).length === 0)
    lines.push("      in  nothing allowed");
  if (spec.policyTypes.includes("Egress") && (spec.egress ?? []).length === 0)
    lines.push("      out nothing allowed");
  return lines;
}

export function renderSummary(report: PlanReport, connectivity?: PlanConnectivity): string {
  const lines: string[] = [];
  lines.push(
    `Plan of stack ${report.stack}: namespace ${report.namespace}, ${report.manifests.length} NetworkPolicies, ${report.awsLookups} AWS lookups`,
  );
  for (const warning of report.warnings) lines.push(`WARNING: ${warning}`);
  lines.push("");
  lines.push("Rollout stage:");
  lines.push(`  default deny (namespace)  ${report.rollout.defaultDeny}`);
  for (const { name: service } of report.services) {
    const flags = DIRECTIONS.map(
      (direction) => `${direction} ${report.rollout.services[service]?.[direction] ?? "off"}`,
    ).join(", ");
    lines.push(`  ${service.padEnd(24)}  ${flags}`);
  }
  lines.push("");
  lines.push("Resolved CIDRs:");
  for (const [name, cidrs] of Object.entries(report.cidrs))
    lines.push(`  ${name.padEnd(9)} ${cidrs.join(" ")}`);
  lines.push("");
  lines.push("Flow table (E = the policy on that side is enforced):");
  for (const flow of report.flowTable) {
    const ports = flow.ports.map((port) => `${port.port}/${port.protocol}`).join(" ");
    const sides = `${flow.egressEnforced ? "E" : "-"}${flow.ingressEnforced ? "E" : "-"}`;
    lines.push(
      `  ${sides} ${flow.from.padEnd(13)} -> ${flow.to.padEnd(13)} ${ports.padEnd(16)} ${flow.purpose}`,
    );
  }
  lines.push("");
  lines.push("NetworkPolicies (in apply order):");
  for (const manifest of report.manifests) lines.push(...describePolicy(manifest));
  const text = lines.join("\n") + "\n";
  return connectivity === undefined ? text : `${text}\n${renderConnectivitySummary(connectivity)}`;
}

/** The JSON contract of `npm run plan -- --format json`; keys are only ever added, never renamed. */
export function planJson(
  report: PlanReport,
  connectivity?: PlanConnectivity,
  policyViolations?: readonly PolicyVerdict[],
): Record<string, unknown> {
  return {
    stack: report.stack,
    namespace: report.namespace,
    services: report.services,
    cidrs: report.cidrs,
    clusterCidrs: report.clusterCidrs,
    manifests: report.manifests,
    rollout: report.rollout,
    flowTable: report.flowTable,
    warnings: report.warnings,
    resources: report.resources,
    ...(connectivity === undefined ? {} : connectivityJson(connectivity)),
    ...(policyViolations === undefined ? {} : { policyViolations }),
  };
}

// ---- Connectivity: the matrix sections, the Mermaid drawing and `--explain` (offline/planConnectivity.ts) ----

interface PairCells {
  readonly from: string;
  readonly to: string;
  readonly cells: ProbeVerdict[];
}

/** Verdicts grouped by (source, destination), in the model's order. */
function pairsOf(report: ConnectivityReport): PairCells[] {
  const pairs = new Map<string, PairCells>();
  for (const verdict of report.verdicts) {
    const key = `${verdict.probe.from.name}\u0000${verdict.probe.to.name}`;
    let pair = pairs.get(key);
    if (pair === undefined) {
      pair = { from: verdict.probe.from.name, to: verdict.probe.to.name, cells: [] };
      pairs.set(key, pair);
    }
    pair.cells.push(verdict);
  }
  return [...pairs.values()];
}

function portList(cells: readonly ProbeVerdict[], everyProbedPort: number): string {
  if (cells.length === everyProbedPort && everyProbedPort > 1) return "every probed port";
  return cells.map(({ probe }) => `${probe.port}/${probe.protocol}`).join(" ");
}

function isIntended(cell: ProbeVerdict): boolean {
  return cell.probe.intendedBy.length > 0;
}

/** The matrix as one line per pair with anything allowed or intended, and the difference to the table. */
function renderMatrix(title: string, report: ConnectivityReport): string[] {
  const pairs = pairsOf(report);
  const width = Math.max(...pairs.map((pair) => `${pair.from} -> ${pair.to}`.length));
  const lines = [title];
  const section = (heading: string, pick: (cell: ProbeVerdict) => boolean) => {
    const rows = pairs
      .map((pair) => ({ pair, cells: pair.cells.filter(pick) }))
      .filter((row) => row.cells.length > 0);
    lines.push(`  ${heading}: ${rows.length === 0 ? "none" : `${rows.length} pair(s)`}`);
    for (const { pair, cells } of rows) {
      lines.push(`    ${`${pair.from} -> ${pair.to}`.padEnd(width)}  ${portList(cells, pair.cells.length)}`);
    }
  };
  section("allowed, in the flow table", (cell) => cell.allowed && isIntended(cell));
  const policed = new Set(report.exposures.filter((e) => e.admittedBy.length > 0).map((e) => e.probe));
  section(
    "exposure admitted by a deployed rule (allowed, not in the table)",
    (cell) => cell.allowed && !isIntended(cell) && policed.has(cell.probe),
  );
  section(
    "exposure where no policy isolates either side yet (expected mid-rollout)",
    (cell) => cell.allowed && !isIntended(cell) && !policed.has(cell.probe),
  );
  section("outage (in the table, blocked)", (cell) => !cell.allowed && isIntended(cell));
  const quiet = pairs.filter((pair) => pair.cells.every((cell) => !cell.allowed && !isIntended(cell))).length;
  lines.push(`  ${quiet} other pair(s): nothing allowed, nothing intended`);
  return lines;
}

/** "1/2 ..." proof lines of one enforcer's proof. */
function proofLines(proof: RolloutProof, enforcerName: string): string[] {
  const failing = failingStages(proof);
  const enforcerAllowed = proof.target.exposures.filter((exposure) =>
    [exposure.explanation.egress, exposure.explanation.ingress].some(
      (side) => side.kind === "enforcer-allowed",
    ),
  ).length;
  const otherExposures = proof.target.exposures.length - enforcerAllowed;
  const exact = otherExposures === 0 && proof.target.outages.length === 0;
  return [
    `Rollout proof (${enforcerName}): ${proof.stages.stagesProven}/${proof.stages.stageCount} reachable stages allow every intended flow and no rule wider than the table (${proof.stages.policySetsJudged} policy sets judged)`,
    ...failing.map((family) => `  FAILS whenever ${family.condition} (${family.example})`),
    `Target proof (${enforcerName}): ${
      exact
        ? `the target allows exactly the flow table and DNS${enforcerAllowed > 0 ? `, plus ${enforcerAllowed} probe(s) the enforcer allows whatever the policies say (the pod's own node)` : ""}`
        : `${otherExposures} exposure(s), ${proof.target.outages.length} outage(s) at the target`
    }`,
  ];
}

const ENFORCER_TITLES: Record<EnforcerName, string> = {
  upstream: "upstream Kubernetes semantics",
  "eks-vpc-cni": "EKS VPC CNI agent",
};

export function renderConnectivitySummary(connectivity: PlanConnectivity): string {
  const { model } = connectivity.proof;
  const [primary] = connectivity.enforcers;
  const lines = [
    `Connectivity (flash model: ${model.endpoints.length} endpoints, ${model.ports.length} ports, ${model.probes.length} probes; matrix under ${ENFORCER_TITLES[primary]}):`,
    ...renderMatrix(`Current stage (${connectivity.currentStage}):`, connectivity.current),
    "",
    ...renderMatrix("Full target (every policy enforced):", connectivity.target),
    "",
    ...connectivity.enforcers.flatMap((enforcer) =>
      proofLines(connectivity.proofs[enforcer]!, ENFORCER_TITLES[enforcer]),
    ),
    ...connectivity.enforcers.flatMap((enforcer) =>
      connectivity.proofs[enforcer]!.current.outages.map(
        (outage) => `CURRENT STAGE (${ENFORCER_TITLES[enforcer]}) ${describeOutage(outage)}`,
      ),
    ),
  ];
  if (connectivity.differences !== undefined) {
    lines.push("", ...renderDifferences(connectivity));
  }
  if (connectivity.eksCluster !== undefined) lines.push("", ...eksClusterLines(connectivity));
  return lines.join("\n") + "\n";
}

/** The agent version modelled, every cluster policy read, and what break-glass cannot open. */
function eksClusterLines(connectivity: PlanConnectivity): string[] {
  const { agent, policiesRead, notRecorded } = connectivity.eksCluster!;
  const lines = [
    `EKS network policy agent: ${agent.version ?? "UNKNOWN"} (modelled: ${agent.modelled}; source: ${agent.source})`,
  ];
  for (const key of notRecorded) lines.push(`NOT RECORDED: ${key} (the proofs assume there are none)`);
  if (policiesRead.length === 0) lines.push("Cluster policies read: none");
  for (const read of policiesRead) {
    const tier = read.tier === undefined ? "" : ` tier ${read.tier} priority ${read.priority}`;
    const enforced = read.enforced
      ? ""
      : ` (NOT enforced by agent ${agent.version}: no cluster policy support)`;
    lines.push(`Cluster policy read: ${read.kind} ${read.name}${tier}${enforced}`);
  }
  for (const line of connectivity.breakGlassCannotOpen ?? []) lines.push(`BREAK-GLASS: ${line}`);
  return lines;
}

/** Probes of the current stage where the EKS agent and upstream semantics disagree, grouped by reason. */
function renderDifferences(connectivity: PlanConnectivity): string[] {
  const rows = differenceRows(connectivity);
  const lines = [
    `Enforcer differences at the current stage (upstream vs EKS VPC CNI agent): ${rows.length === 0 ? "none" : `${rows.length} probe(s)`}`,
  ];
  const byReason = new Map<string, typeof rows>();
  for (const row of rows) byReason.set(row.reason, [...(byReason.get(row.reason) ?? []), row]);
  for (const [reason, group] of byReason) {
    lines.push(`  ${reason}:`);
    for (const row of group) {
      lines.push(
        `    ${row.from} -> ${row.to} ${row.port}/${row.protocol} (${row.fromAddress} -> ${row.toAddress}): upstream ${row.upstream ? "allowed" : "blocked"}, EKS ${row.eksVpcCni ? "allowed" : "blocked"}`,
      );
    }
  }
  return lines;
}

/** The keys `--format json` adds: the current stage's matrix and the proofs' verdicts. */
export function connectivityJson(connectivity: PlanConnectivity): Record<string, unknown> {
  const stages = stagesProven(connectivity);
  const summary = (proof: RolloutProof) => {
    const failing = failingStages(proof);
    return {
      stagesProven: stageCountJson(proof.stages.stagesProven),
      stages: stageCountJson(proof.stages.stageCount),
      failingStages: failing.map((family) => family.condition),
      outages: proof.current.outages.map(describeOutage),
      exposures: proof.current.exposures.length,
      policedExposures: proof.current.exposures.filter((e) => e.admittedBy.length > 0).length,
      targetOutages: proof.target.outages.length,
      targetExposures: proof.target.exposures.length,
    };
  };
  return {
    matrix: matrixRows(connectivity.current),
    connectivity: {
      stage: connectivity.currentStage,
      stagesProven: stages.proven,
      stages: stages.total,
      failingStages: stages.failing,
      outages: currentOutages(connectivity),
      exposures: connectivity.current.exposures.length,
      policedExposures: connectivity.current.exposures.filter((e) => e.admittedBy.length > 0).length,
      targetOutages: connectivity.target.outages.length,
      targetExposures: connectivity.target.exposures.length,
      enforcer: connectivity.enforcers[0],
      byEnforcer: Object.fromEntries(
        connectivity.enforcers.map((enforcer) => [enforcer, summary(connectivity.proofs[enforcer]!)]),
      ),
    },
    enforcers: connectivity.enforcers,
    ...(connectivity.differences === undefined ? {} : { enforcerDifferences: differenceRows(connectivity) }),
    ...(connectivity.eksCluster === undefined
      ? {}
      : {
          eksAgent: connectivity.eksCluster.agent,
          clusterPolicies: connectivity.eksCluster.policiesRead,
          clusterPoliciesNotRecorded: connectivity.eksCluster.notRecorded,
          breakGlassCannotOpen: connectivity.breakGlassCannotOpen ?? [],
        }),
  };
}

function mermaidId(index: number): string {
  return `n${index}`;
}

/**
 * The allowed flows of the current stage as a Mermaid flowchart: solid arrows are flows of the
 * table, dotted ones are exposures, each labelled with its ports.
 */
export function renderMermaid(connectivity: PlanConnectivity): string {
  const { model } = connectivity.proof;
  const ids = new Map(model.endpoints.map((endpoint, index) => [endpoint.name, mermaidId(index)]));
  const node = (name: string) => `${ids.get(name)}["${name}"]`;
  const lines = [
    "flowchart LR",
    `  %% stack ${connectivity.currentStage}; solid: in the flow table, dotted: allowed but not declared`,
  ];
  const namespace = model.topology.namespace;
  lines.push(`  subgraph ${namespace}`);
  for (const endpoint of model.endpoints) {
    if (endpoint.name.startsWith(`${namespace}/`)) lines.push(`    ${node(endpoint.name)}`);
  }
  lines.push("  end");
  for (const endpoint of model.endpoints) {
    if (!endpoint.name.startsWith(`${namespace}/`)) lines.push(`  ${node(endpoint.name)}`);
  }
  for (const pair of pairsOf(connectivity.current)) {
    const allowed = pair.cells.filter((cell) => cell.allowed);
    const intended = allowed.filter(isIntended);
    const undeclared = allowed.filter((cell) => !isIntended(cell));
    const from = ids.get(pair.from);
    const to = ids.get(pair.to);
    if (intended.length > 0) lines.push(`  ${from} -->|"${portList(intended, pair.cells.length)}"| ${to}`);
    if (undeclared.length > 0)
      lines.push(`  ${from} -.->|"${portList(undeclared, pair.cells.length)}"| ${to}`);
  }
  return lines.join("\n") + "\n";
}

/** The text of the rule a RuleReference points at, as the policy listing writes it. */
function describeRuleAt(
  manifests: readonly NetworkPolicyManifest[],
  reference: RuleReference,
): string | undefined {
  const manifest = manifests.find(
    (candidate) => `${candidate.metadata.namespace}/${candidate.metadata.name}` === reference.policy,
  );
  if (reference.direction === "ingress") {
    const rule = manifest?.spec.ingress?.[reference.ruleIndex];
    return (
      rule &&
      `from ${(rule.from ?? []).map(describePeer).join(" | ") || "anywhere"} on ${describePorts(rule.ports)}`
    );
  }
  const rule = manifest?.spec.egress?.[reference.ruleIndex];
  return (
    rule &&
    `to ${(rule.to ?? []).map(describePeer).join(" | ") || "anywhere"} on ${describePorts(rule.ports)}`
  );
}

/**
 * The `--explain` answer: the analyzer's verdict per direction, the text of each admitting rule,
 * and whether the flow table intends the connection.
 */
export function renderExplanation(
  result: Extract<ExplainResult, { ok: true }>,
  manifests: readonly NetworkPolicyManifest[],
): string {
  const admitting = [result.explanation.egress, result.explanation.ingress].flatMap((verdict) =>
    verdict.kind === "allowed" ? verdict.allowedBy : [],
  );
  const lines = [
    `${result.from} -> ${result.to} ${result.port}/${result.protocol} at the current stage (${result.stage}):`,
    ...describeExplanation(result.explanation),
    ...admitting.flatMap((reference) => {
      const text = describeRuleAt(manifests, reference);
      return text === undefined
        ? []
        : [`  ${reference.policy} ${reference.direction}[${reference.ruleIndex}]: ${text}`];
    }),
    result.intendedBy.length > 0
      ? `intended: yes, by ${result.intendedBy.map((flow) => `${flow.name} (${flow.purpose})`).join("; ")}`
      : "intended: no, no flow of the table declares it",
  ];
  return lines.join("\n") + "\n";
}
