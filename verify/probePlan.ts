/**
 * The probe plan of a stack: which connections to try live, from where, and what the offline matrix
 * expects each to do at the stack's current rollout stage.
 *
 * Pure: config, the component's registered outputs and the stage's manifests in, a list of probes
 * out. Flows come from the flow table recorded in the component's outputs (never re-encoded here);
 * expectations come from the analyzer's flash model over the same manifests `npm run plan` judges,
 * so a live mismatch means the cluster disagrees with the offline proof, not with a second opinion.
 */
import { endpointMatcher } from "../analyzer/flash/intent";
import {
  buildFlashModel,
  FOREIGN_NAMESPACE,
  METADATA_SERVICE_ADDRESS,
  lookalikeServiceOf,
} from "../analyzer/flash/model";
import { describeRollout } from "../analyzer/flash/stages";
import { topologyFromComponentOutputs } from "../analyzer/flash/topology";
import type { Endpoint as AnalyzerEndpoint } from "../analyzer/index";
import type { StackConfig } from "../core/config";
import { endpointPorts } from "../core/configQueries";
import {
  DATA_STORE_NAMES,
  DNS_PORT,
  describeEndpoint,
  portsOf,
  type Endpoint,
  type PortProtocol,
  type ServiceName,
} from "../core/flowTable";
import type { NetworkPolicyManifest } from "../core/networkPolicies";
import { recordedStateSchema } from "../core/recordedState";
import { compileLabelSelector } from "../analyzer/index";
import {
  PROBE_POD_LABEL,
  type PlannedProbe,
  type ProbeCheck,
  type ProbePlan,
  type ProbeSource,
} from "./probe";
import { ExpectationError, StageMatrix } from "./stageMatrix";
import { hostOfPaymentUrl, isProbeHost } from "./targetHost";

export { PROBE_POD_LABEL } from "./probe";
/** A name every cluster's DNS answers: resolving it exercises only the path to the resolver. */
export const DNS_PROBE_NAME = "kubernetes.default.svc.cluster.local";
const KUBE_DNS_SERVICE_HOST = "kube-dns.kube-system.svc.cluster.local";
const METADATA_PORT: PortProtocol = { port: 80, protocol: "TCP" };

export interface ProbePlanOptions {
  /** The payment provider as a URL or host name; only its host is used, ports come from config. */
  readonly paymentHost: string;
  /** Namespace of the look-alike probe pod; undefined plans no such pod. */
  readonly otherNamespace?: string;
}

export interface ProbePlanInput {
  readonly stack: string;
  readonly config: StackConfig;
  /** What FlashNetworkPolicies registered with registerOutputs (the engine's state for it). */
  readonly componentOutputs: unknown;
  /** The manifests the stack deploys at its current stage. */
  readonly manifests: readonly NetworkPolicyManifest[];
  readonly options: ProbePlanOptions;
}

const dataStoreHosts = recordedStateSchema.pick({ endpoints: true });

/** One concrete thing to reach, and the model endpoints that stand for wherever it really is. */
interface Target {
  readonly to: string;
  readonly destination?: PlannedProbe["destination"];
  readonly check: ProbeCheck;
  readonly port: number;
  readonly protocol: PortProtocol["protocol"];
  readonly modelClass: readonly string[];
}

interface Candidate {
  readonly source: ProbeSource;
  readonly modelSource: string;
  readonly target: Target;
  readonly why: string;
}

function selectorOf(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(",");
}

function only(names: readonly string[], what: string): string {
  if (names.length !== 1) {
    throw new ExpectationError(`the flash model has ${names.length} endpoints for ${what}, expected one`);
  }
  return names[0];
}

function checkHost(host: string, what: string): string {
  if (!isProbeHost(host)) {
    throw new ExpectationError(`${what}: ${JSON.stringify(host)} is not a host name or IPv4 address`);
  }
  return host;
}

/** Builds the probe plan; throws ExpectationError when the model cannot give an expectation. */
export function planProbes(input: ProbePlanInput): ProbePlan {
  const { config, options } = input;
  const topologyResult = topologyFromComponentOutputs(input.componentOutputs);
  if (!topologyResult.ok) throw new ExpectationError(topologyResult.problem);
  const topology = topologyResult.topology;
  const hosts = dataStoreHosts.safeParse(input.componentOutputs);
  if (!hosts.success) {
    throw new ExpectationError("the component's outputs name no data-store endpoints (outputs.endpoints)");
  }
  const matrix = new StageMatrix(buildFlashModel(topology), input.manifests);
  const namespace = topology.namespace;
  const ports = endpointPorts(config);
  const paymentHost = checkHost(hostOfPaymentUrl(options.paymentHost), "--payment-host");

  const externalsWhere = (predicate: (endpoint: AnalyzerEndpoint) => boolean) =>
    matrix.namesWhere((endpoint) => endpoint.kind === "external" && predicate(endpoint));
  const classOf = (endpoint: Endpoint) => matrix.namesWhere(endpointMatcher(endpoint, topology));

  /** The live target of a flow-table endpoint on one of its ports. */
  const targetAt = (endpoint: Endpoint, port: PortProtocol): Target => {
    switch (endpoint.kind) {
      case "service": {
        // The Service name resolves to a ClusterIP; kube-proxy rewrites it to a pod IP before the
        // policy is evaluated, so the destination pod's ingress policy decides, as in the model.
        // Resolved against the cluster's pods and Services before probing (verify/targets.ts).
        const host = `${endpoint.service}.${namespace}.svc.cluster.local`;
        return {
          to: host,
          destination: {
            service: endpoint.service,
            podLabels: topology.services[endpoint.service].podLabels,
            containerPort: port.port,
          },
          check: { kind: "tcp", host, port: port.port },
          ...port,
          modelClass: classOf(endpoint),
        };
      }
      case "dataStore": {
        const host = checkHost(hosts.data.endpoints[endpoint.store], `the ${endpoint.store} endpoint`);
        const modelClass = externalsWhere(endpointMatcher(endpoint, topology));
        return { to: host, check: { kind: "tcp", host, port: port.port }, ...port, modelClass };
      }
      case "dns": {
        const modelClass = classOf(endpoint);
        if (port.protocol === "UDP") {
          const check: ProbeCheck = { kind: "dns", name: DNS_PROBE_NAME };
          return { to: "cluster-dns (resolv.conf)", check, ...port, modelClass };
        }
        // TCP has no resolver of its own: try the address pods are told to use.
        const host = topology.nodeLocalDnsAddress ?? KUBE_DNS_SERVICE_HOST;
        return { to: host, check: { kind: "tcp", host, port: port.port }, ...port, modelClass };
      }
      case "paymentApi": {
        const modelClass = externalsWhere(endpointMatcher(endpoint, topology));
        return {
          to: paymentHost,
          check: { kind: "tcp", host: paymentHost, port: port.port },
          ...port,
          modelClass,
        };
      }
      case "alb":
        throw new ExpectationError("the ALB is never a destination in the flow table");
    }
  };
  const targetsOf = (endpoint: Endpoint) => portsOf(endpoint, ports).map((port) => targetAt(endpoint, port));
  const metadataTarget: Target = {
    to: METADATA_SERVICE_ADDRESS,
    check: { kind: "tcp", host: METADATA_SERVICE_ADDRESS, port: METADATA_PORT.port },
    ...METADATA_PORT,
    modelClass: externalsWhere(
      (endpoint) => endpoint.kind === "external" && endpoint.ip === METADATA_SERVICE_ADDRESS,
    ),
  };

  // In stack config's order: the recorded outputs went through a protobuf Struct, which keeps no key order.
  const services = Object.keys(config.services).filter((service) => service in topology.services);
  const serviceSources = services.map((service): ProbeSource => ({
    kind: "service",
    key: service,
    service,
    namespace,
    deployment: config.deployments[service] ?? service,
    selector: selectorOf(topology.services[service].podLabels),
  }));
  const modelSourceOf = (service: ServiceName) =>
    only(classOf({ kind: "service", service }), `service ${service}`);

  const probeLabels = { [PROBE_POD_LABEL.key]: PROBE_POD_LABEL.value };
  for (const service of services) {
    if (compileLabelSelector({ matchLabels: topology.services[service].podLabels })(probeLabels)) {
      throw new ExpectationError(
        `the probe pod's label ${selectorOf(probeLabels)} would select it as ${service}`,
      );
    }
  }
  const selectingPolicies = (podNamespace: string, labels: Readonly<Record<string, string>>) =>
    input.manifests
      .filter(
        (manifest) =>
          manifest.metadata.namespace === podNamespace &&
          compileLabelSelector(manifest.spec.podSelector)(labels),
      )
      .map((manifest) => manifest.metadata.name);
  const unlabelledPod: ProbeSource = {
    kind: "probePod",
    key: "probe-pod",
    role: "unlabelled",
    namespace,
    labels: probeLabels,
    selectedBy: selectingPolicies(namespace, probeLabels),
  };
  // The model's pod no service policy selects: it stands for any stray pod of the namespace.
  const unlabelledModel = only(
    matrix.model.pods
      .filter((pod) => pod.namespace === namespace && Object.keys(pod.labels).length === 0)
      .map((pod) => `${pod.namespace}/${pod.name}`),
    "an unlabelled pod of the namespace",
  );

  const otherNamespace = options.otherNamespace;
  let lookalike: { source: ProbeSource; model: string } | undefined;
  if (otherNamespace !== undefined) {
    const modelPod = matrix.model.pods.find((pod) => pod.namespace === FOREIGN_NAMESPACE);
    if (modelPod === undefined) throw new ExpectationError("the flash model has no pod in another namespace");
    lookalike = {
      // It wears the model look-alike's labels (a reachable service's and kube-dns's): a policy whose peer
      // forgets its namespaceSelector would let exactly this pod in.
      source: {
        kind: "probePod",
        key: `probe-pod@${otherNamespace}`,
        role: "other-namespace",
        namespace: otherNamespace,
        labels: { ...modelPod.labels, ...probeLabels },
        selectedBy: selectingPolicies(otherNamespace, { ...modelPod.labels, ...probeLabels }),
      },
      model: `${modelPod.namespace}/${modelPod.name}`,
    };
  }

  const candidates: Candidate[] = [];
  const notProbed: string[] = [];
  // 1. Every flow of the table a pod starts, on each of its ports.
  for (const flow of topology.flows) {
    const name = `${describeEndpoint(flow.from)} -> ${describeEndpoint(flow.to)}`;
    if (flow.from.kind !== "service") {
      notProbed.push(
        `${name} (${flow.purpose}): starts outside the cluster; the ALB target group's health checks show it`,
      );
      continue;
    }
    const source = serviceSources[services.indexOf(flow.from.service)];
    for (const port of flow.ports) {
      candidates.push({
        source,
        modelSource: modelSourceOf(flow.from.service),
        target: targetAt(flow.to, port),
        why: `flow ${name}: ${flow.purpose}`,
      });
    }
  }
  // 2. What each service must not reach: the other services, the stores it does not use, the
  //    instance metadata service (node credentials), the internet.
  for (const [index, service] of services.entries()) {
    const source = serviceSources[index];
    const modelSource = modelSourceOf(service);
    const add = (target: Target, why: string) => candidates.push({ source, modelSource, target, why });
    for (const other of services.filter((name) => name !== service)) {
      for (const target of targetsOf({ kind: "service", service: other }))
        add(target, `${service} -> ${other}`);
    }
    for (const store of DATA_STORE_NAMES) {
      for (const target of targetsOf({ kind: "dataStore", store })) add(target, `${service} -> ${store}`);
    }
    add(metadataTarget, `${service} -> instance metadata (node IAM credentials)`);
    for (const target of targetsOf({ kind: "paymentApi" }))
      add(target, `${service} -> the internet (${paymentHost})`);
  }
  // 3. Pods outside every allowed source: a stray pod of the namespace, a look-alike elsewhere.
  const lookalikeService = lookalikeServiceOf(topology);
  const fromUnlabelled = (target: (typeof candidates)[number]["target"], destination: string) =>
    candidates.push({
      source: unlabelledPod,
      modelSource: unlabelledModel,
      target,
      why: `a pod no policy selects -> ${destination}`,
    });
  for (const service of services) {
    for (const target of targetsOf({ kind: "service", service })) {
      fromUnlabelled(target, service);
      if (lookalike !== undefined) {
        candidates.push({
          source: lookalike.source,
          modelSource: lookalike.model,
          target,
          why: `a pod in namespace ${otherNamespace} wearing ${lookalikeService}'s and kube-dns's labels -> ${service}`,
        });
      }
    }
  }
  for (const store of DATA_STORE_NAMES) {
    for (const target of targetsOf({ kind: "dataStore", store })) fromUnlabelled(target, store);
  }
  for (const target of [
    ...targetsOf({ kind: "paymentApi" }),
    targetAt({ kind: "dns" }, { port: DNS_PORT, protocol: "UDP" }),
  ])
    fromUnlabelled(target, target.to);

  const seen = new Set<string>();
  const probes: PlannedProbe[] = [];
  for (const { source, modelSource, target, why } of candidates) {
    const key = `${source.key}|${JSON.stringify(target.check)}|${target.protocol}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const answer = matrix.verdictFor(modelSource, target.modelClass, target.port, target.protocol);
    const intended = answer.intendedBy.length > 0;
    const verdictNote = intended
      ? answer.verdict === "allowed"
        ? "declared, allowed"
        : "declared, yet blocked at this stage (npm run plan reports this outage)"
      : answer.verdict === "allowed"
        ? "not declared; allowed at this stage because no deployed policy isolates this path yet"
        : "not declared; blocked by the deployed policies";
    probes.push({
      from: source.key,
      to: target.to,
      port: target.port,
      protocol: target.protocol,
      sourceKey: source.key,
      check: target.check,
      expected: answer.verdict,
      intended,
      reason: `${why} (${verdictNote})`,
      ...(target.destination === undefined ? {} : { destination: target.destination }),
    });
  }

  const sources = [...serviceSources, unlabelledPod, ...(lookalike === undefined ? [] : [lookalike.source])];
  return {
    stack: input.stack,
    namespace,
    cluster: { name: config.cluster.name, region: config.cluster.region },
    stage: describeRollout(config.rollout),
    sources,
    probes,
    notProbed,
    ...(config.probeImage === undefined ? {} : { probeImage: config.probeImage }),
  };
}
