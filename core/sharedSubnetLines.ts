/**
 * How a shared-subnet line (components/sharedSubnets.ts) names its store and config key: written by
 * the program, which records accepted lines as discoveryWarnings, and read back by the pack's
 * accepted-risks rule. Kept apart from sharedSubnets.ts so the pack does not compile the AWS reader.
 */
import { DATA_STORE_NAMES, type DataStoreName } from "./flowTable";

/** The stack config key that accepts a store's shared subnets. */
export const allowSharedSubnetsKey = (store: DataStoreName) =>
  `flash-netpol:dataStores.${store}.allowSharedSubnets`;

/** How every shared-subnet line starts: the store's config key. */
export const sharedSubnetPrefix = (store: DataStoreName) => `flash-netpol:dataStores.${store}: `;

/** The store a recorded shared-subnet line is about; undefined for any other text. */
export function storeOfSharedSubnetLine(line: string): DataStoreName | undefined {
  return DATA_STORE_NAMES.find((store) => line.startsWith(sharedSubnetPrefix(store)));
}
