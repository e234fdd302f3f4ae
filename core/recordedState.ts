/**
 * The component's recorded state: what FlashNetworkPolicies passes to registerOutputs, so the
 * engine's state holds the model the policies were generated from. One schema, written by the
 * component and read back by every consumer: the pack's stack rule (the model and the pack-config
 * facts), the offline plan, and verify's probe plan. A reader that needs only some keys picks them
 * from this schema (`recordedStateSchema.pick`), so a stack recorded by an older or newer program
 * is judged on what it shares with this one.
 */
import { z } from "zod";
import { CONFIG_SCHEMA } from "./config";
import { DATA_STORE_NAMES } from "./flowTable";
import { portNumberSchema } from "./kubernetes";
import type { ResolvedCidrs } from "./networkPolicies";

const portProtocol = z.object({ port: portNumberSchema, protocol: z.enum(["TCP", "UDP", "SCTP"]) });
const cidrList = z.array(z.string());
const recordedService = z.object({ podLabels: z.record(z.string(), z.string()), port: portNumberSchema });

const resolvedCidrs: z.ZodType<ResolvedCidrs> = z.object({
  alb: cidrList,
  redis: cidrList,
  postgres: cidrList,
  mq: cidrList,
  vpc: cidrList,
  payment: cidrList,
});

/** A flow of the table as this stack resolved it: endpoints by name, the destination's ports, and the rollout. */
export const recordedFlowSchema = z.object({
  from: z.string(),
  to: z.string(),
  ports: z.array(portProtocol),
  purpose: z.string(),
  /** The source's egress policy is deployed (only services have one). */
  egressEnforced: z.boolean(),
  /** The destination's ingress policy is deployed (only services have one). */
  ingressEnforced: z.boolean(),
});
export type RecordedFlow = z.output<typeof recordedFlowSchema>;

export const recordedStateSchema = z.object({
  namespace: z.string().min(1),
  services: z
    .record(z.string(), recordedService)
    .refine((services) => Object.keys(services).length > 0, "at least one service"),
  dataStorePorts: z.record(z.enum(DATA_STORE_NAMES), z.array(portNumberSchema)),
  paymentApiPorts: z.array(portNumberSchema),
  /** The NodeLocal DNSCache address pods resolve through; null when the cluster does not run it. */
  nodeLocalDnsAddress: z.string().nullable(),
  /** The cluster's ClusterIP range as EKS reports it; null when it reports none. */
  serviceIpv4Cidr: z.string().nullable(),
  rollout: CONFIG_SCHEMA.rollout,
  breakGlass: z.boolean(),
  cidrs: resolvedCidrs,
  /** The cluster's node, control-plane and pod subnets (components/awsLookups.ts ClusterCidrs). */
  clusterCidrs: z.object({ node: cidrList, controlPlane: cidrList, pod: cidrList }),
  /** The data stores' endpoint host names, which verify probes. */
  endpoints: z.object({ redis: z.string(), postgres: z.string(), mq: z.string() }),
  /** Risks the stack accepted in config (allowSharedSubnets): the plan and the pack report them. */
  discoveryWarnings: z.array(z.string()),
  /** The policies in the order the component registers them. */
  policyNames: z.array(z.string()),
  flowTable: z.array(recordedFlowSchema).min(1),
});
export type RecordedState = z.output<typeof recordedStateSchema>;

/** A problem with recorded state, as one line: the first few issues with their paths. */
export function describeRecordedStateIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`)
    .join("; ");
}
