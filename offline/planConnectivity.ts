/**
 * What the plan says about connectivity: the rollout proofs of the stack, the matrix of its current
 * stage and of the full target, and `--explain` for one connection. The reasoning lives in
 * analyzer/flash; this file adapts it to the plan's report and names.
 */
import * as path from "node:path";
import type { StackConfig } from "../core/config";
import type { Protocol } from "../core/flowTable";
import { PolicyAnalyzer, type ProbeExplanation } from "../analyzer";
import {
  ENFORCERS,
  clusterWith,
  describeOutage,
  enforcerDifferences,
  describeRollout,
  endpointNamed,
  flowsIntending,
  stageCountJson,
  flashModelFor,
  proveRollout,
  type ConnectivityReport,
  type EnforcerDifference,
  type EnforcerName,
  type IntendedFlow,
  type RolloutProof,
} from "../analyzer/flash";
import type { ServiceInfo } from "../analyzer/eks";
import { generatePolicies } from "../core/networkPolicies";
import { ConnectivityEvaluator, describeProbe } from "../analyzer/flash/connectivity";
import { clusterServicesOf } from "./clusterServices";
import { readEksClusterState, type EksClusterReading } from "./eksClusterState";
import type { KubernetesFixture } from "./kubernetesFixture";
import { recordedStateOf, type PlanReport } from "./planReport";
import { PROJECT_ROOT } from "./stackConfig";
import type { ProgramRun } from "./runProgram";
import { DEFAULT_PROTOCOL, MAX_PORT } from "../core/kubernetes";

/** One cell of the JSON `matrix`: names as `--explain` takes them. */
export interface MatrixRow {
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol: Protocol;
  readonly allowed: boolean;
  readonly intended: boolean;
  /** The address the model probes from. */
  readonly fromAddress: string;
  /** The address the source connects to: the pod's own, or the ClusterIP of the Service in `viaService`. */
  readonly toAddress: string;
  /** "namespace/name:port" of the Service the connection goes through; absent when it goes to the pod. */
  readonly viaService?: string;
}

/** One probe the two enforcers judge differently (JSON `enforcerDifferences`). */
export interface EnforcerDifferenceRow extends MatrixRow {
  readonly upstream: boolean;
  readonly eksVpcCni: boolean;
  readonly reason: string;
}

export interface PlanConnectivity {
  readonly proof: RolloutProof;
  /** "defaultDeny off; enforced: ..." */
  readonly currentStage: string;
  readonly current: ConnectivityReport;
  readonly target: ConnectivityReport;
  /** The manifests of the current stage, as the program registered them. */
  readonly manifests: PlanReport["manifests"];
  /** The enforcers the plan ran, the first being the one of `proof`, `current`, `target` and the matrix. */
  readonly enforcers: readonly EnforcerName[];
  /** Each enforcer's proofs. */
  readonly proofs: Partial<Record<EnforcerName, RolloutProof>>;
  /** Probes of the current stage the two enforcers judge differently; set when both ran. */
  readonly differences?: readonly EnforcerDifference[];
  /** Set when the EKS enforcer ran: the agent version modelled and every cluster policy read. */
  readonly eksCluster?: EksClusterReading;
  /**
   * EKS: intended connections the break-glass allow-all cannot open at the current stage (a cluster
   * policy decides before any NetworkPolicy), each naming what blocks it. Empty when break-glass works.
   */
  readonly breakGlassCannotOpen?: readonly string[];
}

export interface PlanConnectivityOptions {
  /** Default: both (every stack of this program runs on EKS). */
  readonly enforcers?: readonly EnforcerName[];
  /** The cluster's Services for ClusterIP probes; default: those of `kubernetesFixture`. */
  readonly clusterServices?: readonly ServiceInfo[];
  /** The recorded cluster (`--k8s-fixture`), the only source of cluster objects when given; default fixtures/k8s/<stack>.json. */
  readonly kubernetesFixture?: string | KubernetesFixture;
  /** The AWS fixture (`--fixture`), for the vpc-cni add-on version; default fixtures/aws/<stack>.json. */
  readonly awsFixture?: string;
}

export function planConnectivity(
  report: PlanReport,
  config: StackConfig,
  run?: ProgramRun,
  options: PlanConnectivityOptions = {},
): PlanConnectivity {
  const enforcers = options.enforcers ?? ENFORCERS;
  const clusterServices =
    options.clusterServices ?? clusterServicesOf(report.stack, options.kubernetesFixture);
  const serviceIpv4Cidr = run === undefined ? undefined : (recordedStateOf(run).serviceIpv4Cidr ?? undefined);
  const eksCluster = enforcers.includes("eks-vpc-cni")
    ? readEksClusterState(
        report.stack,
        options.kubernetesFixture,
        options.awsFixture ?? path.join(PROJECT_ROOT, "fixtures", "aws", `${report.stack}.json`),
      )
    : undefined;
  const proofs: Partial<Record<EnforcerName, RolloutProof>> = {};
  // One model for every enforcer: it depends on the stack, not on who enforces.
  const model = flashModelFor(config, report.cidrs, { serviceIpv4Cidr, clusterServices });
  for (const enforcer of enforcers) {
    proofs[enforcer] = proveRollout(config, report.cidrs, {
      model,
      currentManifests: report.manifests,
      enforcer,
      mode: config.networkPolicyEnforcingMode,
      ...(enforcer === "eks-vpc-cni" && eksCluster !== undefined ? { eks: eksCluster.state } : {}),
    });
  }
  const proof = proofs[enforcers[0]]!;
  const upstream = proofs.upstream;
  const eks = proofs["eks-vpc-cni"];
  return {
    proof,
    currentStage: describeRollout(report.rollout),
    current: proof.current,
    target: proof.target,
    manifests: report.manifests,
    enforcers,
    proofs,
    ...(upstream !== undefined && eks !== undefined
      ? {
          differences: enforcerDifferences(
            upstream.model,
            report.manifests,
            upstream.current,
            eks.current,
            config.networkPolicyEnforcingMode,
            eksCluster?.state,
          ),
        }
      : {}),
    ...(eksCluster === undefined || eks === undefined
      ? {}
      : { eksCluster, breakGlassCannotOpen: breakGlassCannotOpen(config, report, eks, eksCluster) }),
  };
}

/**
 * The current stage with `break-glass-allow-all` added, under the EKS enforcer: every intended
 * connection still blocked is one break-glass cannot open, named with what blocks it.
 */
function breakGlassCannotOpen(
  config: StackConfig,
  report: PlanReport,
  proof: RolloutProof,
  eksCluster: EksClusterReading,
): string[] {
  const manifests = generatePolicies({ ...config, breakGlass: true }, report.cidrs).map(
    (policy) => policy.manifest,
  );
  const evaluator = new ConnectivityEvaluator(proof.model, {
    enforcer: "eks-vpc-cni",
    mode: config.networkPolicyEnforcingMode,
    eks: eksCluster.state,
  });
  return evaluator.outages(manifests).map((outage) => {
    const blockers = [outage.explanation.egress, outage.explanation.ingress]
      .flatMap((verdict) => (verdict.kind === "denied" ? verdict.isolatedBy : []))
      .join(" and ");
    return `break-glass cannot open ${describeProbe(outage.probe)}: blocked by ${blockers}`;
  });
}

export function differenceRows(connectivity: PlanConnectivity): EnforcerDifferenceRow[] {
  return (connectivity.differences ?? []).map((difference) => ({
    ...matrixRow(difference.probe, difference.upstream),
    upstream: difference.upstream,
    eksVpcCni: difference.eksVpcCni,
    reason: difference.reason,
  }));
}

function matrixRow(probe: ConnectivityReport["verdicts"][number]["probe"], allowed: boolean): MatrixRow {
  return {
    from: probe.from.name,
    to: probe.to.name,
    port: probe.port,
    protocol: probe.protocol,
    allowed,
    intended: probe.intendedBy.length > 0,
    fromAddress: probe.fromAddress,
    toAddress: probe.toAddress,
    ...(probe.viaService === undefined
      ? {}
      : { viaService: `${probe.viaService.service}:${probe.viaService.port}` }),
  };
}

export function matrixRows(report: ConnectivityReport): MatrixRow[] {
  return report.verdicts.map(({ probe, allowed }) => matrixRow(probe, allowed));
}

/** Outages of the current stage, one line each; the plan fails when this is not empty. */
export function currentOutages(connectivity: PlanConnectivity): string[] {
  return connectivity.current.outages.map(describeOutage);
}

export function stagesProven(connectivity: PlanConnectivity): {
  proven: number | string;
  total: number | string;
  failing: string[];
} {
  const { stages } = connectivity.proof;
  return {
    proven: stageCountJson(stages.stagesProven),
    total: stageCountJson(stages.stageCount),
    failing: stages.failing.map((family) => family.condition),
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
  if (port < 1 || port > MAX_PORT) return undefined;
  return { port, protocol: (match[2]?.toUpperCase() ?? DEFAULT_PROTOCOL) as Protocol };
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
