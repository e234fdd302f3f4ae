/**
 * A data store in subnets the cluster or the ALB also uses: the policy's ipBlock for the store then
 * also covers every node and pod (or ALB ENI) there, so its port is opened to them all.
 */
import { cidrContains } from "../core/cidrs";
import type { DataStoreName } from "../core/flowTable";
import { allowSharedSubnetsKey, sharedSubnetPrefix } from "../core/sharedSubnetLines";
import type { Subnet } from "./awsReader";

/** A subnet the cluster or the ALB uses, with who uses it. */
export interface UsedSubnet {
  readonly subnet: Subnet;
  readonly usedBy: string;
}

export interface SharedSubnet {
  readonly store: DataStoreName;
  readonly storeSubnet: Subnet;
  readonly storeOwner: string;
  readonly other: UsedSubnet;
}

const overlaps = (a: string, b: string) => cidrContains(a, b) || cidrContains(b, a);

export function findSharedSubnets(
  store: DataStoreName,
  storeOwner: string,
  storeSubnets: readonly Subnet[],
  used: readonly UsedSubnet[],
): SharedSubnet[] {
  return storeSubnets.flatMap((storeSubnet) =>
    used
      .filter((other) => other.subnet.id === storeSubnet.id || overlaps(other.subnet.cidr, storeSubnet.cidr))
      .map((other) => ({ store, storeSubnet, storeOwner, other })),
  );
}

export function describeSharedSubnet(shared: SharedSubnet, ports: readonly number[]): string {
  const { storeSubnet, other } = shared;
  const same = other.subnet.id === storeSubnet.id ? "is" : "overlaps";
  return (
    `${sharedSubnetPrefix(shared.store)}${shared.storeOwner} subnet ${storeSubnet.id} (${storeSubnet.cidr}) ${same} ` +
    `${other.usedBy} subnet ${other.subnet.id} (${other.subnet.cidr}); the policy allowing ${ports.map((port) => `${port}/TCP`).join(", ")} ` +
    `to ${storeSubnet.cidr} would open it to every pod and node there`
  );
}

export const SHARED_SUBNET_FIX = (store: DataStoreName) =>
  `Fix: move the data store to dedicated subnets (a subnet group of its own), or accept the exposure with ${allowSharedSubnetsKey(store)}: true.`;
