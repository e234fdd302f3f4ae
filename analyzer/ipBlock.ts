import ipaddr from "ipaddr.js";
import { bytesInCidr, parseAddressBytes } from "../core/addresses";
import {
  canonicalCidr,
  isValidCidr,
  parseCidrBytes,
  type ParsedAddress,
  type ParsedCidr,
} from "../core/cidrs";
import type { IPBlock } from "../core/kubernetes";

// Parsing and containment live in core/cidrs (one parse cache); the analyzer reads them by these names.
export {
  bytesInCidr as cidrContains,
  canonicalCidr,
  isValidCidr,
  parseAddressBytes as parseAddress,
  parseCidrBytes as parseCidr,
  type ParsedAddress,
  type ParsedCidr,
};

export type AddressMatcher = (address: ParsedAddress) => boolean;

export function isValidAddress(ip: string): boolean {
  return ipaddr.isValid(ip);
}

/** ipBlock semantics: inside `cidr` and outside every `except` range. */
export function compileIpBlock(block: IPBlock): AddressMatcher {
  const allowed = parseCidrBytes(block.cidr);
  const excluded = (block.except ?? []).map(parseCidrBytes);
  return (address) => bytesInCidr(allowed, address) && !excluded.some((range) => bytesInCidr(range, address));
}

export function ipBlockCacheKey(block: IPBlock): string {
  return JSON.stringify([block.cidr, [...(block.except ?? [])].sort()]);
}
