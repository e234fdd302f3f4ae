/**
 * What the plan says about connectivity: the rollout proofs of the stack, the matrix of its current
 * stage and of the full target, and `--explain` for one connection. The reasoning lives in
 * analyzer/flash; this file adapts it to the plan's report and names.
 */
import type { StackConfig } from "../components/config";
import type { Protocol } from "../components/flowTable";
import { PolicyAnalyzer, type ProbeExplanation } from "../analyzer";
import {
  clusterWith,
  describeOutage,
  describeRollout,
  endpointNamed,
  failingStages,
  flowsIntending,
  proveRollout,
  type ConnectivityReport,
  type IntendedFlow,
  type RolloutProof,
} from "../analyzer/flash";
import { recordedStateOf, type PlanReport } from "./planReport";
import type { ProgramRun } from "./runProgram";

/** One cell of the JSON `matrix`: names as `--explain` takes them. */
export interface MatrixRow {
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol: Protocol;
  readonly allowed: boolean;
  readonly intended: boolean;
}

export interface PlanConnectivity {
  readonly proof: RolloutProof;
  /** "defaultDeny off; enforced: ..." */
  readonly currentStage: string;
  readonly current: ConnectivityReport;
  readonly target: ConnectivityReport;
  /** The manifests of the current stage, as the program registered them. */
  readonly manifests: PlanReport["manifests"];
}

export function planConnectivity(
  report: PlanReport,
  config: StackConfig,
  run?: ProgramRun,
): PlanConnectivity {
  const proof = proveRollout(config, report.cidrs, {
    currentManifests: report.manifests,
    serviceIpv4Cidr: run === undefined ? undefined : (recordedStateOf(run).serviceIpv4Cidr ?? undefined),
  });
  return {
    proof,
    currentStage: describeRollout(report.rollout),
    current: proof.current,
    target: proof.target,
    manifests: report.manifests,
  };
}

export function matrixRows(report: ConnectivityReport): MatrixRow[] {
  return report.verdicts.map(({ probe, allowed }) => ({
    from: probe.from.name,
    to: probe.to.name,
    port: probe.port,
    protocol: probe.protocol,
    allowed,
    intended: probe.intendedBy.length > 0,
  }));
}

/** Outages of the current stage, one line each; the plan fails when this is not empty. */
export function currentOutages(connectivity: PlanConnectivity): string[] {
  return connectivity.current.outages.map(describeOutage);
}

export function stagesProven(connectivity: PlanConnectivity): {
  proven: number;
  total: number;
  failing: string[];
} {
  const failing = failingStages(connectivity.proof);
  return {
    proven: connectivity.proof.stages.length - failing.length,
    total: connectivity.proof.stages.length,
    failing: failing.map((stage) => stage.stage.name),
  };
}

export function endpointNames(connectivity: PlanConnectivity): string[] {
  return connectivity.proof.model.endpoints.map((endpoint) => endpoint.name);
}

export type ExplainResult =
  | {
      readonly ok: true;
      readonly stage: string;
      readonly from: string;
      readonly to: string;
      readonly port: number;
      readonly protocol: Protocol;
      readonly explanation: ProbeExplanation;
      /** The table flows that declare the connection; empty when none does. */
      readonly intendedBy: readonly IntendedFlow[];
    }
  | { readonly ok: false; readonly problem: string };

/** "443", "53/UDP", "53/udp" -> port and protocol; TCP when none is given. */
export function parsePortSpec(text: string): { port: number; protocol: Protocol } | undefined {
  const match = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/i.exec(text.trim());
  if (match === null) return undefined;
  const port = Number(match[1]);
  if (port < 1 || port > 65535) return undefined;
  return { port, protocol: (match[2]?.toUpperCase() ?? "TCP") as Protocol };
}

/** Why one connection is allowed or denied at the current stage, in the analyzer's words. */
export function explainConnection(
  connectivity: PlanConnectivity,
  fromName: string,
  toName: string,
  portText: string,
): ExplainResult {
  const { model } = connectivity.proof;
  const from = endpointNamed(model, fromName);
  const to = endpointNamed(model, toName);
  if (from === undefined || to === undefined) {
    const unknown = [from === undefined ? fromName : undefined, to === undefined ? toName : undefined]
      .filter((name): name is string => name !== undefined)
      .map((name) => `"${name}"`);
    return {
      ok: false,
      problem: `unknown endpoint ${unknown.join(" and ")}; valid names: ${endpointNames(connectivity).join(", ")}`,
    };
  }
  const portProtocol = parsePortSpec(portText);
  if (portProtocol === undefined) {
    return {
      ok: false,
      problem: `"${portText}" is not a port; expected PORT or PORT/UDP (e.g. 443, 53/UDP)`,
    };
  }
  const { port, protocol } = portProtocol;
  const analyzer = new PolicyAnalyzer(clusterWith(model, connectivity.manifests));
  return {
    ok: true,
    stage: connectivity.currentStage,
    from: from.name,
    to: to.name,
    port,
    protocol,
    explanation: analyzer.explain({ from: from.endpoint, to: to.endpoint, port, protocol }),
    intendedBy: flowsIntending(model.flows, from.endpoint, to.endpoint, port, protocol),
  };
}
