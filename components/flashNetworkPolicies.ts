/**
 * The flash-ticket NetworkPolicies as one component, in the shape of pulumi-eks' components: the
 * asynchronous AWS discovery and checks run in a static factory before construction; the constructor
 * passes its real args to super, registers every child with `parent: this` and ends with
 * registerOutputs. Kubernetes reads (the namespace, opted-in Deployments) are resources too: every
 * child that changes the cluster depends on them, so the engine applies nothing until they succeeded.
 */
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { discoverNetwork, type DiscoveredNetwork } from "./awsLookups";
import { type StackConfig } from "../core/config";
import { endpointPorts, isEnforced } from "../core/configQueries";
import {
  checkDeployments,
  checkServices,
  deploymentNameOf,
  serviceNameOf,
  servicesNeedingService,
  type DeploymentSnapshot,
  type ServiceSnapshot,
} from "./deploymentCheck";
import { describeEndpoint, resolveFlows, type ServiceName } from "../core/flowTable";
import { eksKubeconfig, validateKubeconfig } from "./kubeconfig";
import { recordedStateSchema, type RecordedFlow, type RecordedState } from "../core/recordedState";
import { generatePolicies, type GeneratedPolicy, type ResolvedCidrs } from "../core/networkPolicies";
import { assertNetworkPolicyEnforced, desiredVpcCniConfiguration, type VpcCniState } from "./vpcCni";
import { COMPONENT_TYPE } from "../core/resourceTypes";

export interface FlashNetworkPoliciesArgs {
  readonly config: StackConfig;
}

/** What the factory found before construction: AWS facts and the rendered policies. */
interface Discovered {
  readonly network: DiscoveredNetwork;
  readonly generated: GeneratedPolicy[];
}

/**
 * The args as the engine records them (a component's inputs go to state and to every analyzer). The
 * kubeconfig travels beside the config as a secret: nested inside it, it would make the whole config
 * a secret (the SDK marks the object that holds a secret output).
 */
function componentInputs(args: FlashNetworkPoliciesArgs): pulumi.Inputs {
  const { kubeconfig, ...config } = args.config;
  return { config, kubeconfig: kubeconfig === undefined ? undefined : pulumi.secret(kubeconfig) };
}

export interface FlashNetworkPoliciesOptions extends pulumi.ComponentResourceOptions {
  /** Use this provider instead of building one from the EKS cluster or the kubeconfig in config. */
  readonly kubernetesProvider?: k8s.Provider;
}

/** One row of the flow table as this stack enforces it. */
/** A flow as the component records it (core/recordedState.ts). */
export type EffectiveFlow = RecordedFlow;

export function effectiveFlowTable(config: StackConfig): EffectiveFlow[] {
  return resolveFlows(endpointPorts(config), config.flows).map((flow) => ({
    from: describeEndpoint(flow.from),
    to: describeEndpoint(flow.to),
    ports: [...flow.ports],
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
  public readonly vpcCniAddon?: aws.eks.Addon;
  private readonly provider: k8s.Provider;

  /**
   * Checks everything that needs no cluster before any resource exists: the config, AWS discovery,
   * the CNI's enforcement and every rendered manifest. A failure registers nothing.
   */
  static async create(
    name: string,
    args: FlashNetworkPoliciesArgs,
    opts: FlashNetworkPoliciesOptions = {},
  ): Promise<FlashNetworkPolicies> {
    const { config } = args;
    if (config.kubeconfig !== undefined) validateKubeconfig(config.kubeconfig, "flash-netpol:kubeconfig");
    const network = await discoverNetwork(config, config.lookupTimeoutSeconds * 1000);
    // A managed add-on is configured to enforce by this stack; an unmanaged one must already enforce.
    if (network.vpcCni !== undefined && !config.manageVpcCni)
      assertNetworkPolicyEnforced(config, network.vpcCni);
    const generated = generatePolicies(config, network.cidrs);
    if (config.networkPolicyEnforcingMode === "strict") await refuseStrictCuts(config, network.cidrs);
    return new FlashNetworkPolicies(name, args, { network, generated }, opts);
  }

  private constructor(
    name: string,
    args: FlashNetworkPoliciesArgs,
    { network, generated }: Discovered,
    opts: FlashNetworkPoliciesOptions,
  ) {
    const { kubernetesProvider, ...componentOptions } = opts;
    super(COMPONENT_TYPE, name, componentInputs(args), componentOptions);
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

    const checked = this.readCluster(name, config, generated);
    this.vpcCniAddon = config.manageVpcCni
      ? this.manageVpcCni(name, config, network.vpcCni, checked)
      : undefined;
    this.policies = this.registerPolicies(generated, checked);

    // Recorded in the engine's state, so a stack policy (flows-match-flow-table) can rebuild the
    // model the policies were generated from without re-reading config or AWS.
    const recorded: RecordedState = {
      namespace: this.namespace,
      services: Object.fromEntries(
        Object.entries(config.services).map(([service, { podLabels, port }]) => [
          service,
          { podLabels, port },
        ]),
      ) as RecordedState["services"],
      dataStorePorts: Object.fromEntries(
        Object.entries(endpointPorts(config).dataStorePorts).map(([store, ports]) => [store, [...ports]]),
      ) as RecordedState["dataStorePorts"],
      paymentApiPorts: config.paymentApi.ports,
      nodeLocalDnsAddress: config.dns.nodeLocalAddress ?? null,
      serviceIpv4Cidr: network.cluster.serviceIpv4Cidr ?? null,
      rollout: config.rollout,
      breakGlass: config.breakGlass,
      cidrs: this.cidrs,
      clusterCidrs: network.clusterCidrs,
      endpoints: network.endpoints,
      discoveryWarnings: [...network.warnings],
      policyNames: this.policyNames,
      flowTable: this.flowTable,
    };
    // Checked against the schema every reader parses, so a writer change cannot slip past them.
    this.registerOutputs(recordedStateSchema.parse(recorded));
  }

  /**
   * Reads the namespace (and, opted in, each service's Deployment and the Service in front of it)
   * through the stack's provider. A
   * read needs the cluster: when it cannot be reached, or the namespace does not exist, the read
   * fails and with it the preview, where a create would only have echoed its inputs. The result is
   * the set of reads, once every check on them passed; the cluster's children depend on it.
   */
  private readCluster(
    name: string,
    config: StackConfig,
    generated: GeneratedPolicy[],
  ): pulumi.Output<pulumi.Resource[]> {
    const read = { parent: this, provider: this.provider };
    const namespace = k8s.core.v1.Namespace.get(`${name}-namespace`, config.namespace, read);
    if (!config.verifySelectors) return pulumi.output(namespace.id).apply(() => [namespace]);
    const serviceNames = Object.keys(config.services);
    const deployments = serviceNames.map((service) =>
      k8s.apps.v1.Deployment.get(
        `${service}-deployment`,
        `${config.namespace}/${deploymentNameOf(config, service)}`,
        read,
      ),
    );
    // Callers reach a service through its Service; on EKS its ClusterIP is allowed only when the
    // Service selects the service's pods, so the Service is checked as well.
    const withService = servicesNeedingService(config);
    const services = withService.map((service) =>
      k8s.core.v1.Service.get(
        `${service}-service`,
        `${config.namespace}/${serviceNameOf(config, service)}`,
        read,
      ),
    );
    return pulumi
      .all([
        namespace.id,
        pulumi.all(deployments.map((deployment) => deployment.spec)),
        pulumi.all(services.map((service) => service.spec)),
      ])
      .apply(([, specs, serviceSpecs]) => {
        const snapshots = Object.fromEntries(
          serviceNames.map((service, index) => [service, { spec: specs[index] } as DeploymentSnapshot]),
        ) as Record<ServiceName, DeploymentSnapshot>;
        const serviceSnapshots = Object.fromEntries(
          withService.map((service, index) => [service, serviceSpecs[index] as ServiceSnapshot]),
        );
        const problems = [
          ...checkDeployments(config, generated, snapshots),
          ...checkServices(config, serviceSnapshots, snapshots),
        ];
        if (problems.length > 0) {
          throw new pulumi.RunError(
            `flash-netpol:verifySelectors found mistakes:\n  - ${problems.join("\n  - ")}`,
          );
        }
        return [namespace, ...deployments, ...services];
      });
  }

  /**
   * The vpc-cni add-on as aws.eks.Addon. An installed add-on is adopted with the `import` option
   * (EKS's CreateAddon fails on an existing one); it keeps its installed version and its current
   * configuration, merged with what network policy needs. `retainOnDelete` leaves it as configured on
   * `pulumi destroy` or when manageVpcCni is turned off, so the next run's enforcement check passes.
   */
  private manageVpcCni(
    name: string,
    config: StackConfig,
    current: VpcCniState | undefined,
    checked: pulumi.Output<pulumi.Resource[]>,
  ): aws.eks.Addon {
    const installed = current?.installed === true;
    return new aws.eks.Addon(
      `${name}-vpc-cni`,
      {
        clusterName: config.cluster.name,
        addonName: "vpc-cni",
        addonVersion: installed ? current.addonVersion : undefined,
        configurationValues: JSON.stringify(
          desiredVpcCniConfiguration(config.networkPolicyEnforcingMode, current?.configuration),
        ),
        // Only used when the CNI runs self-managed (no add-on): the add-on takes over aws-node.
        resolveConflictsOnCreate: "OVERWRITE",
        // The configuration sent is the add-on's own plus ours, so overwriting keeps its settings.
        resolveConflictsOnUpdate: "OVERWRITE",
        preserve: true,
        region: config.cluster.region,
      },
      {
        parent: this,
        dependsOn: checked,
        import: installed ? `${config.cluster.name}:vpc-cni` : undefined,
        retainOnDelete: true,
      },
    );
  }

  private registerPolicies(
    generated: GeneratedPolicy[],
    checked: pulumi.Output<pulumi.Resource[]>,
  ): k8s.networking.v1.NetworkPolicy[] {
    // Policies wait for the reads and checks, and for a managed CNI add-on, so they are never applied
    // to an unchecked cluster or before the CNI enforces them.
    const cni = this.vpcCniAddon ? [this.vpcCniAddon] : [];
    const register = (policy: GeneratedPolicy, after: pulumi.Resource[]) =>
      new k8s.networking.v1.NetworkPolicy(policy.manifest.metadata.name, policy.manifest, {
        parent: this,
        provider: this.provider,
        dependsOn: checked.apply((reads) => [...reads, ...cni, ...after]),
      });

    // Allows first; the default deny depends on all of them, so `pulumi up` creates it last and
    // `pulumi destroy` deletes it first: no moment has the deny without its allows.
    const allows = generated
      .filter((policy) => policy.role.kind !== "defaultDeny")
      .map((policy) => register(policy, []));
    const denies = generated
      .filter((policy) => policy.role.kind === "defaultDeny")
      .map((policy) => register(policy, allows));
    return [...allows, ...denies];
  }
}

/**
 * Strict mode denies every pod no policy selects, kube-dns included (this program deploys no policy
 * in kube-system). Refused while the flash model says that cuts an intended flow.
 */
async function refuseStrictCuts(config: StackConfig, cidrs: ResolvedCidrs): Promise<void> {
  // The flash model is a check's tool: loaded only for a stack that asks for strict mode, so a
  // standard `pulumi up` loads none of the analyzer.
  const { strictModeCuts } = await import("../analyzer/flash/strictMode");
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
