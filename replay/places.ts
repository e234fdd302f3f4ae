/**
 * What an address in a flow log is, in the plan's terms: a pod (named by its workload), kube-dns, a
 * data store (its subnets), the ALB, or a bare address; and which ports it listens on, so the port
 * rule can tell a client from a server. Everything comes from the stack's plan and the pod index.
 */
import type { StackConfig } from "../core/config";
import { DATA_STORE_NAMES, DNS_PORT, type DataStoreName } from "../core/flowTable";
import type { ResolvedCidrs } from "../core/networkPolicies";
import type { Endpoint } from "../analyzer";
import { endpointMatcher, topologyFromConfig, type FlashTopology } from "../analyzer/flash";
import { ipv4InAny } from "../analyzer/flash/addresses";
import type { ReplayProtocol } from "./orientation";
import type { IndexedPod, PodIndex } from "./podIndex";

export interface Place {
  readonly ip: string;
  readonly endpoint: Endpoint;
  readonly pod?: IndexedPod;
  /** A pod of the stack's namespace: only such traffic can meet a flash-ticket NetworkPolicy. */
  readonly inNamespace: boolean;
  readonly inVpc: boolean;
  readonly isDns: boolean;
  readonly isAlb: boolean;
  readonly stores: readonly DataStoreName[];
  readonly isPaymentApi: boolean;
}

export const KUBE_DNS_NAME = "kube-dns";
export const ALB_NAME = "alb";

function hasLabels(labels: Readonly<Record<string, string>>, wanted: Readonly<Record<string, string>>) {
  return Object.entries(wanted).every(([key, value]) => labels[key] === value);
}

export class Places {
  readonly topology: FlashTopology;
  private readonly cache = new Map<string, Place>();
  private readonly isDnsEndpoint: (endpoint: Endpoint) => boolean;
  private readonly isPaymentEndpoint: (endpoint: Endpoint) => boolean;

  constructor(
    readonly config: StackConfig,
    readonly cidrs: ResolvedCidrs,
    readonly pods: PodIndex,
  ) {
    this.topology = topologyFromConfig(config, cidrs);
    this.isDnsEndpoint = endpointMatcher({ kind: "dns" }, this.topology);
    this.isPaymentEndpoint = endpointMatcher({ kind: "paymentApi" }, this.topology);
  }

  of(ip: string): Place {
    let place = this.cache.get(ip);
    if (place === undefined) {
      place = this.resolve(ip);
      this.cache.set(ip, place);
    }
    return place;
  }

  private resolve(ip: string): Place {
    const pod = this.pods.byIp.get(ip);
    const endpoint: Endpoint = pod === undefined ? { kind: "external", ip } : { kind: "pod", pod: pod.info };
    return {
      ip,
      endpoint,
      pod,
      inNamespace: pod?.info.namespace === this.config.namespace,
      inVpc: ipv4InAny(ip, this.cidrs.vpc),
      isDns: this.isDnsEndpoint(endpoint),
      isAlb: pod === undefined && ipv4InAny(ip, this.cidrs.alb),
      stores: pod === undefined ? DATA_STORE_NAMES.filter((store) => ipv4InAny(ip, this.cidrs[store])) : [],
      isPaymentApi: pod === undefined && this.isPaymentEndpoint(endpoint),
    };
  }

  /** Whether `place` serves on this port: the side that does is the server of the connection. */
  listens(place: Place, port: number, protocol: ReplayProtocol): boolean {
    if (port === DNS_PORT) return true;
    if (place.pod !== undefined) {
      const { info } = place.pod;
      if (info.ports.some((declared) => declared.port === port && declared.protocol === protocol))
        return true;
      // A service's configured port is where the ALB and its clients reach it, declared or not.
      return (
        protocol === "TCP" &&
        info.namespace === this.config.namespace &&
        Object.values(this.config.services).some(
          (service) => service.port === port && hasLabels(info.labels, service.podLabels),
        )
      );
    }
    if (protocol !== "TCP") return false;
    if (place.stores.some((store) => this.config.dataStores[store].port === port)) return true;
    return place.isPaymentApi && this.config.paymentApi.ports.includes(port);
  }

  /** The name a destination or source goes by in the report; data stores sharing a subnet are told apart by port. */
  nameOf(place: Place, serverPort: number): string {
    if (place.pod !== undefined) return place.isDns ? KUBE_DNS_NAME : place.pod.workload;
    if (place.isDns) return KUBE_DNS_NAME;
    if (place.stores.length > 0) {
      const byPort = place.stores.filter((store) => this.config.dataStores[store].port === serverPort);
      return (byPort.length > 0 ? byPort : place.stores).join("|");
    }
    if (place.isAlb) return ALB_NAME;
    return place.ip;
  }

  /**
   * Whether an address read from srcaddr/dstaddr (no pkt-srcaddr/pkt-dstaddr) may be an ENI's primary
   * address standing for pods on its secondary addresses. A pod-network pod's own address is the pod
   * (the VPC CNI hands pods secondary addresses, or with security groups for pods a branch ENI whose
   * primary address is the pod's); addresses outside the VPC, in a data-store or ALB subnet are what
   * they say; a node (by hostIP) that carries no pod-network pod is the node itself. Everything else
   * inside the VPC (a node carrying pods, an address the snapshot does not know) and any IPv6 address
   * that is no pod's may hide a pod.
   */
  mayStandForPods(place: Place): boolean {
    if (place.pod !== undefined) return false;
    // The stack's ranges are IPv4: an IPv6 interface address cannot be told from a pod's node here.
    if (place.ip.includes(":")) return true;
    if (!place.inVpc || place.stores.length > 0 || place.isAlb) return false;
    const node = this.pods.nodesByIp.get(place.ip);
    return node === undefined || node.podNetworkPods.length > 0;
  }

  /** The pods an address may stand for: a node's pod-network pods, or none known. */
  podsBehind(place: Place): readonly string[] {
    return this.pods.nodesByIp.get(place.ip)?.podNetworkPods ?? [];
  }

  /** A bare address inside the VPC: a pod the snapshot missed, a node, another ENI. Its verdict is a guess. */
  isUnattributed(place: Place): boolean {
    return (
      place.pod === undefined && !place.isDns && place.stores.length === 0 && !place.isAlb && place.inVpc
    );
  }
}
