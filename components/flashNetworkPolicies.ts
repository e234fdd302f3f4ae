/**
 * The flash-ticket NetworkPolicies as one component: AWS discovery, then one NetworkPolicy per
 * service and direction, the DNS allow and the namespace default deny, on a Kubernetes provider for
 * the EKS cluster.
 */
import * as eks from "@pulumi/eks";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { discoverNetwork, type DiscoveredNetwork } from "./awsLookups";
import { endpointPorts, isEnforced, type StackConfig } from "./config";
import {
  checkDeployments,
  checkServices,
  deploymentNameOf,
  serviceNameOf,
  servicesNeedingService,
  type DeploymentSnapshot,
  type ServiceSnapshot,
} from "./deploymentCheck";
import {
  FLOW_TABLE,
  SERVICE_NAMES,
  describeEndpoint,
  resolveFlows,
  type PortProtocol,
  type ServiceName,
} from "./flowTable";
import { eksKubeconfig, validateKubeconfig } from "./kubeconfig";
import { generatePolicies, type GeneratedPolicy, type ResolvedCidrs } from "./networkPolicies";
import { strictModeCuts } from "../analyzer/flash/strictMode";
import { assertNetworkPolicyEnforced, desiredVpcCniConfiguration } from "./vpcCni";

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
  public policies: k8s.networking.v1.NetworkPolicy[] = [];
  private readonly provider: k8s.Provider;
  private readonly vpcCniAddon?: eks.VpcCniAddon;

  /**
   * Checks everything before any NetworkPolicy exists: AWS discovery, the CNI's enforcement, every
   * rendered manifest and, opted in, the Deployments. A failure leaves no policy half-applied.
   */
  static async create(
    name: string,
    args: FlashNetworkPoliciesArgs,
    opts: FlashNetworkPoliciesOptions = {},
  ): Promise<FlashNetworkPolicies> {
    const { config } = args;
    if (config.kubeconfig !== undefined) validateKubeconfig(config.kubeconfig, "flash-netpol:kubeconfig");
    const network = await discoverNetwork(config, config.lookupTimeoutSeconds * 1000);
    if (network.vpcCni !== undefined) assertNetworkPolicyEnforced(config, network.vpcCni);
    const generated = generatePolicies(config, network.cidrs);
    if (config.networkPolicyEnforcingMode === "strict") refuseStrictCuts(config, network.cidrs);
    const component = new FlashNetworkPolicies(name, args, network, generated, opts);
    if (config.verifySelectors) await component.verifyDeployments(config, generated);
    component.registerPolicies(config, generated);
    return component;
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

    this.provider =
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

    if (config.manageVpcCni) {
      this.vpcCniAddon = new eks.VpcCniAddon(
        `${name}-vpc-cni`,
        {
          clusterName: config.cluster.name,
          enableNetworkPolicy: true,
          configurationValues: desiredVpcCniConfiguration(config.networkPolicyEnforcingMode),
          resolveConflictsOnUpdate: "OVERWRITE",
        },
        { parent: this },
      );
    }
  }

  /**
   * Reads each service's Deployment and, for services something connects to, its Service (read-only),
   * and fails on a selector or port that matches nothing.
   */
  private async verifyDeployments(config: StackConfig, generated: GeneratedPolicy[]): Promise<void> {
    const snapshots = await Promise.all(
      SERVICE_NAMES.map(async (service) => {
        const id = `${config.namespace}/${deploymentNameOf(config, service)}`;
        const deployment = k8s.apps.v1.Deployment.get(`${service}-deployment`, id, {
          parent: this,
          provider: this.provider,
        });
        try {
          return [
            service,
            await valueOf(deployment.spec.apply((spec) => ({ spec }) as DeploymentSnapshot)),
          ] as const;
        } catch (cause) {
          throw new pulumi.RunError(
            `flash-netpol:verifySelectors: Deployment ${id} (flash-netpol:deployments.${service}) could not be read: ` +
              `${cause instanceof Error ? cause.message : String(cause)}. Fix: set the Deployment's name, or turn verifySelectors off.`,
          );
        }
      }),
    );
    const deployments = Object.fromEntries(snapshots) as Record<ServiceName, DeploymentSnapshot>;
    const services = await Promise.all(
      servicesNeedingService().map(async (service) => {
        const id = `${config.namespace}/${serviceNameOf(config, service)}`;
        const read = k8s.core.v1.Service.get(`${service}-service`, id, {
          parent: this,
          provider: this.provider,
        });
        try {
          return [service, await valueOf(read.spec.apply((spec) => spec as ServiceSnapshot))] as const;
        } catch (cause) {
          throw new pulumi.RunError(
            `flash-netpol:verifySelectors: Service ${id} (named after flash-netpol:deployments.${service}) could not be read: ` +
              `${cause instanceof Error ? cause.message : String(cause)}. Callers reach ${service} through its Service, and on EKS ` +
              `its ClusterIP is allowed only through that Service. Fix: create the Service, set the Deployment's name, or turn verifySelectors off.`,
          );
        }
      }),
    );
    const problems = [
      ...checkDeployments(config, generated, deployments),
      ...checkServices(config, Object.fromEntries(services), deployments),
    ];
    if (problems.length > 0) {
      throw new pulumi.RunError(
        `flash-netpol:verifySelectors found mistakes:\n  - ${problems.join("\n  - ")}`,
      );
    }
  }

  private registerPolicies(config: StackConfig, generated: GeneratedPolicy[]): void {
    // Policies wait for a managed CNI add-on, so they are never applied before the CNI enforces them.
    const cni = this.vpcCniAddon ? [this.vpcCniAddon] : [];
    const register = (policy: GeneratedPolicy, dependsOn: pulumi.Resource[]) =>
      new k8s.networking.v1.NetworkPolicy(policy.manifest.metadata.name, policy.manifest, {
        parent: this,
        provider: this.provider,
        dependsOn: [...cni, ...dependsOn],
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
      serviceIpv4Cidr: this.network.cluster.serviceIpv4Cidr ?? null,
      rollout: config.rollout,
      breakGlass: config.breakGlass,
      cidrs: this.cidrs,
      endpoints: this.network.endpoints,
      policyNames: this.policyNames,
      flowTable: this.flowTable,
    });
  }
}

/**
 * Strict mode denies every pod no policy selects, kube-dns included (this program deploys no policy
 * in kube-system). Refused while the flash model says that cuts an intended flow.
 */
function refuseStrictCuts(config: StackConfig, cidrs: ResolvedCidrs): void {
  const cuts = strictModeCuts(config, cidrs);
  if (cuts.length === 0) return;
  const shown = cuts.slice(0, 6).join("; ");
  throw new pulumi.RunError(
    `flash-netpol:networkPolicyEnforcingMode is strict, but in strict mode the VPC CNI agent denies everything to and from ` +
      `pods no NetworkPolicy selects, which cuts ${cuts.length} intended connection(s) at this rollout stage: ${shown}` +
      `${cuts.length > 6 ? ` and ${cuts.length - 6} more` : ""}. ` +
      `Fix: keep networkPolicyEnforcingMode: standard until every pod on those paths is selected by a policy ` +
      `(the flash-ticket services from their first stage, kube-dns by a policy in kube-system admitting DNS from the cluster).`,
  );
}

/** The value of an output, once the engine has it (reads resolve during preview as well). */
function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    output.apply((value) => {
      resolve(value);
      return value;
    });
    // A failed read rejects the output's inner promise; surface it instead of hanging.
    (output as unknown as { promise(): Promise<T> }).promise().catch(reject);
  });
}
