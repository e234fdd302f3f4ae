/**
 * The facts the flash-ticket model is built from: where each endpoint lives and which flows the
 * table declares, with their ports. Two sources produce it: stack config plus the resolved CIDRs
 * (the plan and the proofs), and the outputs FlashNetworkPolicies registers in the engine's state
 * (the stack policy, which never sees config). Both end in the same shape, so the proofs and the
 * policy pack reason over identical models.
 */
import type { StackConfig } from "../../core/config";
import { endpointPorts } from "../../core/configQueries";
import { endpointNamed, resolveFlows, type ResolvedFlow, type ServiceName } from "../../core/flowTable";
import type { ResolvedCidrs } from "../../core/networkPolicies";
import { describeRecordedStateIssues, recordedStateSchema } from "../../core/recordedState";
import type { ServiceInfo } from "../eks/model";

export interface FlashService {
  readonly podLabels: Readonly<Record<string, string>>;
  readonly port: number;
}

export interface FlashTopology {
  readonly namespace: string;
  readonly services: Readonly<Record<ServiceName, FlashService>>;
  readonly cidrs: ResolvedCidrs;
  /** The NodeLocal DNSCache address pods resolve through, when the cluster runs it. */
  readonly nodeLocalDnsAddress?: string;
  /** ClusterIP range: no pod or external endpoint of the model may sit inside it. */
  readonly serviceIpv4Cidr?: string;
  /** The declared flows with the ports this stack gives them. */
  readonly flows: readonly ResolvedFlow[];
  /**
   * The cluster's Services (the namespace's and kube-dns) as kubectl recorded them: pods reach a
   * service through its ClusterIP, which the EKS enforcer sees on the egress side. Absent: pods are
   * probed at their own addresses only.
   */
  readonly clusterServices?: readonly ServiceInfo[];
}

export function topologyFromConfig(config: StackConfig, cidrs: ResolvedCidrs): FlashTopology {
  return {
    namespace: config.namespace,
    services: config.services,
    cidrs,
    nodeLocalDnsAddress: config.dns.nodeLocalAddress,
    flows: resolveFlows(endpointPorts(config), config.flows),
  };
}

/** What the model needs of the recorded state; extra keys are ignored, missing ones fail. */
const modelOfRecordedState = recordedStateSchema.pick({
  namespace: true,
  services: true,
  nodeLocalDnsAddress: true,
  serviceIpv4Cidr: true,
  cidrs: true,
  flowTable: true,
});

export type TopologyResult =
  { readonly ok: true; readonly topology: FlashTopology } | { readonly ok: false; readonly problem: string };

/**
 * Rebuilds the topology from the component's registered outputs. The flows are the ones recorded in
 * state (what the deployed policies were generated from), not this process's stack config, so a pack
 * older or newer than the program still judges the stack by its own table.
 */
export function topologyFromComponentOutputs(outputs: unknown): TopologyResult {
  const parsed = modelOfRecordedState.safeParse(outputs);
  if (!parsed.success) {
    const where = describeRecordedStateIssues(parsed.error);
    return { ok: false, problem: `the component's outputs do not describe the model (${where})` };
  }
  const recorded = parsed.data;
  const flows: ResolvedFlow[] = [];
  const services = Object.keys(recorded.services);
  for (const flow of recorded.flowTable) {
    const from = endpointNamed(flow.from, services);
    const to = endpointNamed(flow.to, services);
    if (from === undefined || to === undefined) {
      return {
        ok: false,
        problem: `the recorded flow table names an unknown endpoint (${flow.from} -> ${flow.to})`,
      };
    }
    flows.push({ from, to, ports: flow.ports, purpose: flow.purpose });
  }
  return {
    ok: true,
    topology: {
      namespace: recorded.namespace,
      services: recorded.services,
      cidrs: recorded.cidrs,
      nodeLocalDnsAddress: recorded.nodeLocalDnsAddress ?? undefined,
      serviceIpv4Cidr: recorded.serviceIpv4Cidr ?? undefined,
      flows,
    },
  };
}
