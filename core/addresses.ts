/**
 * Addresses in byte form, for the analyzer's prefix tests. Apart from core/cidrs (which the deployed
 * program loads) because only the analyzer asks; CIDRs in byte form come from core/cidrs' parse cache.
 */
import * as ipaddr from "ipaddr.js";
import { remember, type ParsedAddress, type ParsedCidr } from "./cidrs";

/** Parsed addresses by their text: the EKS agent model asks every probe address against every map key. */
const parsedAddresses = new Map<string, ParsedAddress>();

/**
 * Parses an IP; an IPv4-mapped IPv6 address (::ffff:a.b.c.d) is treated as the IPv4 address it
 * carries, because that is the packet a CNI sees.
 */
export function parseAddressBytes(ip: string): ParsedAddress {
  const known = parsedAddresses.get(ip);
  if (known !== undefined) return known;
  const address = ipaddr.process(ip);
  return remember(parsedAddresses, ip, { family: address.kind(), bytes: address.toByteArray() });
}

/** Whether the parsed address lies inside the parsed CIDR (same family, first prefixLength bits equal). */
export function bytesInCidr(cidr: ParsedCidr, address: ParsedAddress): boolean {
  if (cidr.family !== address.family) return false;
  const fullBytes = Math.floor(cidr.prefixLength / 8);
  for (let i = 0; i < fullBytes; i++) {
    if (cidr.bytes[i] !== address.bytes[i]) return false;
  }
  const remainingBits = cidr.prefixLength % 8;
  if (remainingBits === 0) return true;
  const mask = (0xff << (8 - remainingBits)) & 0xff;
  return (cidr.bytes[fullBytes]! & mask) === (address.bytes[fullBytes]! & mask);
}

/** One decimal octet without leading zeros: Go's net.IP.String() form. */
const OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
const PLAIN_IPV4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);

/**
 * The bytes of an IPv4 address written as Go prints one ("10.1.2.3": four decimal parts, no leading
 * zeros); undefined for any other text. Cheaper than parseAddressBytes, which tries IPv6 first.
 */
export function plainIpv4Bytes(ip: string): number[] | undefined {
  return PLAIN_IPV4.test(ip) ? ip.split(".").map(Number) : undefined;
}
