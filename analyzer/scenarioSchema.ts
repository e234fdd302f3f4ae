import { z } from "zod";
import { portNumberSchema } from "../core/kubernetes";
import { isValidAddress, isValidCidr } from "./ipBlock";
import type {
  ContainerPort,
  IPBlock,
  LabelSelector,
  NamespaceInfo,
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  PodInfo,
} from "../core/kubernetes";

// Schemas for the scenario format of tests/fixtures/netpol-cases/README.md. They enforce the API-server
// validation rules the analyzer relies on (e.g. one kind of peer, endPort only with a numeric
// port), so a policy the cluster would reject is reported instead of silently mis-evaluated.

const labels = z.record(z.string(), z.string());
const protocol = z.enum(["TCP", "UDP", "SCTP"]);
const ipAddress = z.string().refine(isValidAddress, { error: "expected an IPv4 or IPv6 address" });
const cidr = z.string().refine(isValidCidr, { error: "expected a CIDR such as 10.0.0.0/8 or fd00::/8" });

const labelSelector: z.ZodType<LabelSelector> = z.object({
  matchLabels: labels.optional(),
  matchExpressions: z
    .array(
      z
        .object({
          key: z.string().min(1),
          operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]),
          values: z.array(z.string()).optional(),
        })
        .superRefine((requirement, context) => {
          const valueCount = requirement.values?.length ?? 0;
          const needsValues = requirement.operator === "In" || requirement.operator === "NotIn";
          if (needsValues && valueCount === 0) {
            context.addIssue({
              code: "custom",
              path: ["values"],
              message: `expected values for ${requirement.operator}`,
            });
          }
          if (!needsValues && valueCount > 0) {
            context.addIssue({
              code: "custom",
              path: ["values"],
              message: `expected no values for ${requirement.operator}`,
            });
          }
        }),
    )
    .optional(),
});

const ipBlock: z.ZodType<IPBlock> = z.object({ cidr, except: z.array(cidr).optional() });

const peer: z.ZodType<NetworkPolicyPeer> = z
  .object({
    podSelector: labelSelector.optional(),
    namespaceSelector: labelSelector.optional(),
    ipBlock: ipBlock.optional(),
  })
  .refine(
    (p) =>
      p.ipBlock !== undefined
        ? p.podSelector === undefined && p.namespaceSelector === undefined
        : p.podSelector !== undefined || p.namespaceSelector !== undefined,
    { error: "expected either ipBlock alone, or podSelector and/or namespaceSelector" },
  );

const policyPort: z.ZodType<NetworkPolicyPort> = z
  .object({
    protocol: protocol.optional(),
    port: z
      .union([portNumberSchema, z.string().min(1)], { error: "expected a port number or a port name" })
      .optional(),
    endPort: portNumberSchema.optional(),
  })
  .superRefine((entry, context) => {
    if (entry.endPort === undefined) return;
    if (typeof entry.port !== "number") {
      context.addIssue({
        code: "custom",
        path: ["endPort"],
        message: "expected endPort only with a numeric port",
      });
    } else if (entry.endPort < entry.port) {
      context.addIssue({ code: "custom", path: ["endPort"], message: "expected endPort >= port" });
    }
  });

const policyTypes = z.array(z.enum(["Ingress", "Egress"]));

export const networkPolicySchema: z.ZodType<NetworkPolicy> = z.object({
  apiVersion: z.literal("networking.k8s.io/v1"),
  kind: z.literal("NetworkPolicy"),
  metadata: z.object({
    name: z.string().min(1),
    namespace: z.string().min(1),
    labels: labels.optional(),
    annotations: labels.optional(),
  }),
  spec: z.object({
    podSelector: labelSelector,
    policyTypes: policyTypes.optional(),
    ingress: z
      .array(z.object({ from: z.array(peer).optional(), ports: z.array(policyPort).optional() }))
      .optional(),
    egress: z
      .array(z.object({ to: z.array(peer).optional(), ports: z.array(policyPort).optional() }))
      .optional(),
  }),
});

const namespace: z.ZodType<NamespaceInfo> = z.object({ name: z.string().min(1), labels });

const containerPort: z.ZodType<ContainerPort> = z.object({
  name: z.string().min(1).optional(),
  port: portNumberSchema,
  protocol,
});

const pod: z.ZodType<PodInfo> = z.object({
  namespace: z.string().min(1),
  name: z.string().min(1),
  labels,
  ip: ipAddress,
  ports: z.array(containerPort),
});

export type ProbeEndpointRef = string | { readonly ip: string };

const endpointRef: z.ZodType<ProbeEndpointRef> = z.union(
  [z.string().regex(/^[^/]+\/[^/]+$/), z.object({ ip: ipAddress })],
  { error: 'expected "namespace/pod" or {"ip": "<address>"}' },
);

export interface ScenarioProbe {
  readonly from: ProbeEndpointRef;
  readonly to: ProbeEndpointRef;
  readonly port: number;
  readonly protocol: ContainerPort["protocol"];
  /** The expected verdict, when the scenario records one. */
  readonly allowed?: boolean;
}

const probe: z.ZodType<ScenarioProbe> = z.object({
  from: endpointRef,
  to: endpointRef,
  port: portNumberSchema,
  protocol: protocol.default("TCP"),
  allowed: z.boolean().optional(),
});

export interface ScenarioDocument {
  readonly name: string;
  readonly source?: string;
  readonly notes?: string;
  readonly namespaces: readonly NamespaceInfo[];
  readonly pods: readonly PodInfo[];
  readonly policies: readonly NetworkPolicy[];
  readonly probes: readonly ScenarioProbe[];
}

export const scenarioSchema: z.ZodType<ScenarioDocument> = z.object({
  name: z.string(),
  source: z.string().optional(),
  notes: z.string().optional(),
  namespaces: z.array(namespace),
  pods: z.array(pod),
  policies: z.array(networkPolicySchema),
  probes: z.array(probe),
});
