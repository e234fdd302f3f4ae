import { compileIpBlock, ipBlockCacheKey } from "./ipBlock";
import { compileLabelSelector, selectorCacheKey } from "../core/labelSelector";
import type { IPBlock, NetworkPolicyPeer } from "../core/kubernetes";
import type { TrafficPeer } from "./trafficPeer";

export interface CompiledPeer {
  readonly matches: (peer: TrafficPeer) => boolean;
  /** Equal keys mean equal verdicts for every peer, so callers may share cached results. */
  readonly cacheKey: string;
  /** Set for ipBlock peers: the only peers whose verdict depends on a pod's IP. */
  readonly ipBlock?: IPBlock;
}

/**
 * One NetworkPolicyPeer. ipBlock looks only at the address (pods included); selectors only at
 * pods. A podSelector without a namespaceSelector is confined to the policy's own namespace; both
 * together must hold at once.
 */
export function compilePeer(peer: NetworkPolicyPeer, policyNamespace: string): CompiledPeer {
  if (peer.ipBlock !== undefined) {
    const inBlock = compileIpBlock(peer.ipBlock);
    return {
      matches: (candidate) => inBlock(candidate.address),
      cacheKey: `ipBlock:${ipBlockCacheKey(peer.ipBlock)}`,
      ipBlock: peer.ipBlock,
    };
  }
  const podMatches = compileLabelSelector(peer.podSelector ?? {});
  const podKey = selectorCacheKey(peer.podSelector ?? {});
  if (peer.namespaceSelector === undefined) {
    return {
      matches: (candidate) =>
        candidate.kind === "pod" && candidate.namespace === policyNamespace && podMatches(candidate.labels),
      cacheKey: `ns=${JSON.stringify(policyNamespace)};pods:${podKey}`,
    };
  }
  const namespaceMatches = compileLabelSelector(peer.namespaceSelector);
  return {
    matches: (candidate) =>
      candidate.kind === "pod" && namespaceMatches(candidate.namespaceLabels) && podMatches(candidate.labels),
    cacheKey: `nsSelector:${selectorCacheKey(peer.namespaceSelector)};pods:${podKey}`,
  };
}
