/**
 * The Pulumi type tokens this project names: the ones the program registers and the ones the pack,
 * the offline engine, the plan, verify and the tests look resources up by. One place, so a rename
 * (an SDK's, or ours) is one edit and never a lookup that silently finds nothing.
 */

/** The program's own component: its registered outputs are the recorded state (./recordedState.ts). */
export const COMPONENT_TYPE = "flash-netpol:index:FlashNetworkPolicies";

export const NETWORK_POLICY_TYPE = "kubernetes:networking.k8s.io/v1:NetworkPolicy";
export const NAMESPACE_TYPE = "kubernetes:core/v1:Namespace";
export const DEPLOYMENT_TYPE = "kubernetes:apps/v1:Deployment";
export const SERVICE_TYPE = "kubernetes:core/v1:Service";
/** The EKS add-on resource the vpc-cni add-on is adopted as (@pulumi/aws aws.eks.Addon). */
export const EKS_ADDON_TYPE = "aws:eks/addon:Addon";
/** @pulumi/eks's remote component for the vpc-cni add-on. */
export const VPC_CNI_ADDON_TYPE = "eks:index:VpcCniAddon";

export const KUBERNETES_PROVIDER_TYPE = "pulumi:providers:kubernetes";
export const AWS_PROVIDER_TYPE = "pulumi:providers:aws";

/**
 * The EKS network policy agent's cluster-tier kinds (networking.k8s.aws, any version), as
 * @pulumi/kubernetes types a CustomResource: `kubernetes:${apiVersion}:${kind}`
 * (apiextensions/customResource.js, 4.34.2).
 */
const EKS_POLICY_GROUP = "kubernetes:networking.k8s.aws/";
export const isClusterNetworkPolicyType = (type: string): boolean =>
  type.startsWith(EKS_POLICY_GROUP) && type.endsWith(":ClusterNetworkPolicy");
export const isApplicationNetworkPolicyType = (type: string): boolean =>
  type.startsWith(EKS_POLICY_GROUP) && type.endsWith(":ApplicationNetworkPolicy");
/** The type token of a Kubernetes object as @pulumi/kubernetes registers it. */
export const kubernetesTypeOf = (apiVersion: string, kind: string): string =>
  `kubernetes:${apiVersion === "v1" ? "core/v1" : apiVersion}:${kind}`;
