import ipaddr from "ipaddr.js";
import { isValidCidr, parseCidr as parseRange } from "../core/cidrs";
import type { IPBlock } from "../core/kubernetes";

/** An address as its family and raw bytes, so prefix tests are plain byte comparisons. */
export interface ParsedAddress {
  readonly family: "ipv4" | "ipv6";
  readonly bytes: readonly number[];
}

export interface ParsedCidr extends ParsedAddress {
  readonly prefixLength: number;
}

export type AddressMatcher = (address: ParsedAddress) => boolean;

/**
 * Parses an IP; an IPv4-mapped IPv6 address (::ffff:a.b.c.d) is treated as the IPv4 address it
 * carries, because that is the packet a CNI sees.
 */
export function parseAddress(ip: string): ParsedAddress {
  const address = ipaddr.process(ip);
  return { family: address.kind(), bytes: address.toByteArray() };
}

export function isValidAddress(ip: string): boolean {
  return ipaddr.isValid(ip);
}

export { isValidCidr };

export function parseCidr(cidr: string): ParsedCidr {
  const [address, prefixLength] = parseRange(cidr);
  return { family: address.kind(), bytes: address.toByteArray(), prefixLength };
}

export function cidrContains(cidr: ParsedCidr, address: ParsedAddress): boolean {
  if (cidr.family !== address.family) return false;
  const fullBytes = Math.floor(cidr.prefixLength / 8);
  for (let i = 0; i < fullBytes; i++) {
    if (cidr.bytes[i] !== address.bytes[i]) return false;
  }
  const remainingBits = cidr.prefixLength % 8;
  if (remainingBits === 0) return true;
  const mask = (0xff << (8 - remainingBits)) & 0xff;
  return (cidr.bytes[fullBytes] & mask) === (address.bytes[fullBytes] & mask);
}

/** ipBlock semantics: inside `cidr` and outside every `except` range. */
export function compileIpBlock(block: IPBlock): AddressMatcher {
  const allowed = parseCidr(block.cidr);
  const excluded = (block.except ?? []).map(parseCidr);
  return (address) =>
    cidrContains(allowed, address) && !excluded.some((range) => cidrContains(range, address));
}

export function ipBlockCacheKey(block: IPBlock): string {
  return JSON.stringify([block.cidr, [...(block.except ?? [])].sort()]);
}

/** The CIDR with its host bits cleared, as Go's net.ParseCIDR prints the network ("10.1.2.3/8" -> "10.0.0.0/8"). */
export function canonicalCidr(cidr: string): string {
  // components/cidrs parses to the network address already.
  const [network, prefixLength] = parseRange(cidr);
  return `${network.toString()}/${prefixLength}`;
}
