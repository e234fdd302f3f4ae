/**
 * The flash-ticket NetworkPolicies as one component: AWS discovery, then one NetworkPolicy per
 * service and direction, the DNS allow and the namespace default deny, on a Kubernetes provider for
 * the EKS cluster.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { discoverNetwork, type DiscoveredNetwork } from "./awsLookups";
import { endpointPorts, isEnforced, type StackConfig } from "./config";
import { FLOW_TABLE, SERVICE_NAMES, describeEndpoint, resolveFlows, type PortProtocol } from "./flowTable";
import { eksKubeconfig, validateKubeconfig } from "./kubeconfig";
import { generatePolicies, type GeneratedPolicy, type ResolvedCidrs } from "./networkPolicies";

export interface FlashNetworkPoliciesArgs {
  readonly config: StackConfig;
}

export interface FlashNetworkPoliciesOptions extends pulumi.ComponentResourceOptions {
  /** Use this provider instead of building one from the EKS cluster or the kubeconfig in config. */
  readonly kubernetesProvider?: k8s.Provider;
}

/** One row of the flow table as this stack enforces it. */
export interface EffectiveFlow {
  readonly from: string;
  readonly to: string;
  readonly ports: readonly PortProtocol[];
  readonly purpose: string;
  /** The source's egress policy is deployed (only services have one). */
  readonly egressEnforced: boolean;
  /** The destination's ingress policy is deployed (only services have one). */
  readonly ingressEnforced: boolean;
}

export function effectiveFlowTable(config: StackConfig): EffectiveFlow[] {
  return resolveFlows(endpointPorts(config), FLOW_TABLE).map((flow) => ({
    from: describeEndpoint(flow.from),
    to: describeEndpoint(flow.to),
    ports: flow.ports,
    purpose: flow.purpose,
    egressEnforced: flow.from.kind === "service" && isEnforced(config.rollout, flow.from.service, "egress"),
    ingressEnforced: flow.to.kind === "service" && isEnforced(config.rollout, flow.to.service, "ingress"),
  }));
}

export class FlashNetworkPolicies extends pulumi.ComponentResource {
  public readonly namespace: string;
  public readonly policyNames: string[];
  public readonly cidrs: ResolvedCidrs;
  public readonly network: DiscoveredNetwork;
  public readonly flowTable: EffectiveFlow[];
  public readonly policies: k8s.networking.v1.NetworkPolicy[];

  /**
   * Discovers the network and renders every manifest before registering anything: a missing AWS
   * object or a bad value fails the preview with nothing half-registered.
   */
  static async create(
    name: string,
    args: FlashNetworkPoliciesArgs,
    opts: FlashNetworkPoliciesOptions = {},
  ): Promise<FlashNetworkPolicies> {
    const { config } = args;
    if (config.kubeconfig !== undefined) validateKubeconfig(config.kubeconfig, "flash-netpol:kubeconfig");
    const network = await discoverNetwork(config, config.lookupTimeoutSeconds * 1000);
    const generated = generatePolicies(config, network.cidrs);
    return new FlashNetworkPolicies(name, args, network, generated, opts);
  }

  private constructor(
    name: string,
    args: FlashNetworkPoliciesArgs,
    network: DiscoveredNetwork,
    generated: GeneratedPolicy[],
    opts: FlashNetworkPoliciesOptions,
  ) {
    const { kubernetesProvider, ...componentOptions } = opts;
    super("flash-netpol:index:FlashNetworkPolicies", name, {}, componentOptions);
    const { config } = args;
    this.namespace = config.namespace;
    this.network = network;
    this.cidrs = network.cidrs;
    this.flowTable = effectiveFlowTable(config);
    this.policyNames = generated.map((policy) => policy.manifest.metadata.name);

    const provider =
      kubernetesProvider ??
      new k8s.Provider(
        `${name}-eks`,
        {
          kubeconfig: pulumi.secret(
            config.kubeconfig ?? eksKubeconfig(network.cluster, config.cluster.region),
          ),
          // The namespace belongs to the application; this program only manages policies inside it.
          namespace: config.namespace,
          deleteUnreachable: false,
        },
        { parent: this },
      );

    const register = (policy: GeneratedPolicy, dependsOn: pulumi.Resource[]) =>
      new k8s.networking.v1.NetworkPolicy(policy.manifest.metadata.name, policy.manifest, {
        parent: this,
        provider,
        dependsOn,
      });

    // Allows first; the default deny depends on all of them, so `pulumi up` creates it last and
    // `pulumi destroy` deletes it first: no moment has the deny without its allows.
    const allows = generated
      .filter((policy) => policy.role.kind !== "defaultDeny")
      .map((policy) => register(policy, []));
    const denies = generated
      .filter((policy) => policy.role.kind === "defaultDeny")
      .map((policy) => register(policy, allows));
    this.policies = [...allows, ...denies];

    // Recorded in the engine's state, so a stack policy (flows-match-flow-table) can rebuild the
    // model the policies were generated from without re-reading config or AWS.
    this.registerOutputs({
      namespace: this.namespace,
      services: Object.fromEntries(
        SERVICE_NAMES.map((service) => [
          service,
          { podLabels: config.services[service].podLabels, port: config.services[service].port },
        ]),
      ),
      dataStorePorts: endpointPorts(config).dataStorePorts,
      paymentApiPorts: config.paymentApi.ports,
      nodeLocalDnsAddress: config.dns.nodeLocalAddress ?? null,
      serviceIpv4Cidr: network.cluster.serviceIpv4Cidr ?? null,
      rollout: config.rollout,
      cidrs: this.cidrs,
      policyNames: this.policyNames,
      flowTable: this.flowTable,
    });
  }
}
