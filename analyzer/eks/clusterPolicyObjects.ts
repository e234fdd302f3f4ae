/**
 * ClusterNetworkPolicy and ApplicationNetworkPolicy (networking.k8s.aws/v1alpha1) as
 * `kubectl get ... -o json` prints them, read into the fields the controller resolves. The shapes
 * follow amazon-network-policy-controller-k8s api/v1alpha1/clusternetworkpolicy_types.go and
 * applicationnetworkpolicy_types.go at ecc7e6a (docs/fidelity/eks-tiers.md). A malformed object is an
 * error naming the file, key and field, and what was expected.
 */
import { z } from "zod";
import { portNumberSchema } from "../../core/kubernetes";
import type {
  LabelSelector,
  NetworkPolicyIngressRule,
  NetworkPolicyPort,
  PolicyType,
} from "../../core/kubernetes";

const requirement = z.object({
  key: z.string(),
  operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]),
  values: z.array(z.string()).optional(),
});
const selector = z.object({
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: z.array(requirement).optional(),
});
const protocol = z.enum(["TCP", "UDP", "SCTP"]);

/** NamespacedPod: both selectors are required (`json:"namespaceSelector"`, `json:"podSelector"`). */
const namespacedPod = z.object({ namespaceSelector: selector, podSelector: selector });

/** ClusterNetworkPolicyPort: portNumber | portRange | namedPort; protocol defaults to TCP (+kubebuilder:default). */
const cnpPort = z.object({
  portNumber: z.object({ protocol: protocol.default("TCP"), port: portNumberSchema }).optional(),
  portRange: z
    .object({ protocol: protocol.default("TCP"), start: portNumberSchema, end: portNumberSchema })
    .refine((range) => range.start < range.end, "Start port must be less than End port")
    .optional(),
  namedPort: z.string().optional(),
});

/** Exactly one field per peer and per subject (MinProperties=1, MaxProperties=1). */
const exactlyOne = (value: object) =>
  Object.values(value).filter((field) => field !== undefined).length === 1;

const ingressPeer = z
  .object({ namespaces: selector.optional(), pods: namespacedPod.optional() })
  .strict()
  .refine(exactlyOne, "exactly one of namespaces, pods must be set");
const egressPeer = z
  .object({
    namespaces: selector.optional(),
    pods: namespacedPod.optional(),
    networks: z.array(z.string()).min(1).max(25).optional(),
    domainNames: z.array(z.string()).min(1).max(25).optional(),
  })
  .strict()
  .refine(exactlyOne, "exactly one of namespaces, pods, networks, domainNames must be set");
const action = z.enum(["Accept", "Deny", "Pass"]);

const clusterNetworkPolicySchema = z.object({
  metadata: z.object({ name: z.string().min(1) }),
  spec: z.object({
    tier: z.enum(["Admin", "Baseline"]),
    priority: z.number().int().min(0).max(1000),
    subject: z
      .object({ namespaces: selector.optional(), pods: namespacedPod.optional() })
      .strict()
      .refine(exactlyOne, "exactly one of namespaces, pods must be set"),
    ingress: z
      .array(
        z.object({
          name: z.string().max(100).optional(),
          action,
          from: z.array(ingressPeer).min(1).max(100),
          ports: z.array(cnpPort).min(1).max(100).optional(),
        }),
      )
      .max(100)
      .optional(),
    egress: z
      .array(
        z
          .object({
            name: z.string().max(100).optional(),
            action,
            to: z.array(egressPeer).min(1).max(100),
            ports: z.array(cnpPort).min(1).max(100).optional(),
          })
          // The CRD's XValidation: "domainNames peer can only be used with Accept action".
          .refine(
            (rule) => rule.action === "Accept" || rule.to.every((peer) => peer.domainNames === undefined),
            "domainNames peer can only be used with Accept action",
          ),
      )
      .max(100)
      .optional(),
  }),
});

export type ClusterNetworkPolicy = z.output<typeof clusterNetworkPolicySchema>;
export type ClusterPolicyAction = z.output<typeof action>;
export type ClusterPolicyTier = ClusterNetworkPolicy["spec"]["tier"];
export type ClusterNetworkPolicyPort = z.output<typeof cnpPort>;
export type NamespacedPod = z.output<typeof namespacedPod>;

const npPort = z.object({
  protocol: protocol.optional(),
  port: z.union([portNumberSchema, z.string().min(1)]).optional(),
  endPort: portNumberSchema.optional(),
});
const ipBlock = z.object({ cidr: z.string(), except: z.array(z.string()).optional() });
const npPeer = z.object({
  podSelector: selector.optional(),
  namespaceSelector: selector.optional(),
  ipBlock: ipBlock.optional(),
});

const applicationNetworkPolicySchema = z.object({
  metadata: z.object({ name: z.string().min(1), namespace: z.string().min(1) }),
  spec: z.object({
    podSelector: selector,
    policyTypes: z.array(z.enum(["Ingress", "Egress"])).optional(),
    ingress: z
      .array(z.object({ from: z.array(npPeer).optional(), ports: z.array(npPort).optional() }))
      .optional(),
    egress: z
      .array(
        z.object({
          ports: z.array(npPort).optional(),
          to: z.array(npPeer.extend({ domainNames: z.array(z.string()).optional() })).optional(),
        }),
      )
      .optional(),
  }),
});

export interface ApplicationNetworkPolicy {
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly spec: {
    readonly podSelector: LabelSelector;
    readonly policyTypes?: readonly PolicyType[];
    readonly ingress?: readonly NetworkPolicyIngressRule[];
    readonly egress?: readonly {
      readonly ports?: readonly NetworkPolicyPort[];
      readonly to?: readonly {
        readonly podSelector?: LabelSelector;
        readonly namespaceSelector?: LabelSelector;
        readonly ipBlock?: { readonly cidr: string; readonly except?: readonly string[] };
        readonly domainNames?: readonly string[];
      }[];
    }[];
  };
}

function parseEach<T>(
  schema: z.ZodType<T>,
  objects: readonly unknown[],
  where: string,
  expected: string,
): T[] {
  return objects.map((object, index) => {
    const parsed = schema.safeParse(object);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const at = issue.path.length > 0 ? `.${issue.path.join(".")}` : "";
      throw new Error(`${where}[${index}]${at}: ${issue.message}; expected ${expected}`);
    }
    return parsed.data;
  });
}

/** Each item of `kubectl get clusternetworkpolicies -o json`; `where` names the file and key. */
export function clusterNetworkPoliciesFromKubectl(
  objects: readonly unknown[],
  where: string,
): ClusterNetworkPolicy[] {
  return parseEach(
    clusterNetworkPolicySchema,
    objects,
    where,
    "a ClusterNetworkPolicy (networking.k8s.aws/v1alpha1) as `kubectl get clusternetworkpolicies -o json` prints it",
  );
}

/** Each item of `kubectl get applicationnetworkpolicies -n NS -o json`. */
export function applicationNetworkPoliciesFromKubectl(
  objects: readonly unknown[],
  where: string,
): ApplicationNetworkPolicy[] {
  return parseEach(
    applicationNetworkPolicySchema,
    objects,
    where,
    "an ApplicationNetworkPolicy (networking.k8s.aws/v1alpha1) as `kubectl get applicationnetworkpolicies -n NAMESPACE -o json` prints it",
  );
}
