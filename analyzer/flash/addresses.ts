/**
 * Picking concrete IPv4 addresses for the model: inside a range, outside a set of ranges. Computed
 * rather than written down, so the model follows whatever subnets the AWS lookups found.
 */
import * as ipaddr from "ipaddr.js";
import { FlashModelError } from "./modelError";

interface Ipv4Range {
  readonly first: number;
  readonly last: number;
}

function toNumber(address: ipaddr.IPv4): number {
  return address.octets.reduce((value, octet) => value * 256 + octet, 0);
}

function fromNumber(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

// The model asks "is this address in that CIDR" tens of thousands of times; ipaddr.js parses by
// trying IPv6 first and throwing, so parse each text once.
const rangeCache = new Map<string, Ipv4Range | undefined>();
const addressCache = new Map<string, number | undefined>();

function ipv4Number(ip: string): number | undefined {
  if (!addressCache.has(ip)) {
    addressCache.set(
      ip,
      ipaddr.IPv4.isValidFourPartDecimal(ip) ? toNumber(ipaddr.IPv4.parse(ip)) : undefined,
    );
  }
  return addressCache.get(ip);
}

function ipv4Range(cidr: string): Ipv4Range | undefined {
  if (!rangeCache.has(cidr)) {
    const [address, prefix] = ipaddr.parseCIDR(cidr);
    if (address.kind() !== "ipv4") rangeCache.set(cidr, undefined);
    else {
      const size = 2 ** (32 - prefix);
      const first = Math.floor(toNumber(address as ipaddr.IPv4) / size) * size;
      rangeCache.set(cidr, { first, last: first + size - 1 });
    }
  }
  return rangeCache.get(cidr);
}

export function isIpv4Cidr(cidr: string): boolean {
  return ipv4Range(cidr) !== undefined;
}

function rangeOf(cidr: string): Ipv4Range {
  const range = ipv4Range(cidr);
  if (range === undefined) throw new FlashModelError(`${cidr}: the flash model places IPv4 addresses only`);
  return range;
}

/** False for anything not IPv4 on either side: the model is IPv4, as the fixtures' VPCs are. */
export function ipv4InCidr(ip: string, cidr: string): boolean {
  const address = ipv4Number(ip);
  const range = ipv4Range(cidr);
  return address !== undefined && range !== undefined && range.first <= address && address <= range.last;
}

export function ipv4InAny(ip: string, cidrs: readonly string[]): boolean {
  return cidrs.some((cidr) => ipv4InCidr(ip, cidr));
}

// Skip the network address and the addresses AWS reserves at the start of every subnet (.1-.3),
// and leave room so the chosen hosts read as ordinary ones.
const FIRST_HOST_OFFSET = 10;

/**
 * The first `count` addresses of `cidr`, from its tenth host on, that lie in none of `avoid` and
 * are not in `taken`. Jumps over an avoided range in one step, so a /16 full of subnets costs a
 * handful of comparisons, not 65 536.
 */
export function freeAddresses(
  cidr: string,
  avoid: readonly string[],
  count: number,
  taken: ReadonlySet<string> = new Set(),
): string[] {
  const { first, last } = rangeOf(cidr);
  const avoided = avoid.filter(isIpv4Cidr).map(rangeOf);
  const found: string[] = [];
  // A range too small for the offset (a provider's /32, a /29) offers every address it has.
  const small = last - first < 2 * FIRST_HOST_OFFSET;
  let candidate = small ? first : first + FIRST_HOST_OFFSET;
  const end = small ? last : last - 1;
  while (found.length < count && candidate <= end) {
    const blocking = avoided.find((range) => range.first <= candidate && candidate <= range.last);
    if (blocking !== undefined) {
      candidate = blocking.last + 1 + FIRST_HOST_OFFSET;
      continue;
    }
    const address = fromNumber(candidate);
    if (!taken.has(address)) found.push(address);
    candidate++;
  }
  return found;
}

/** One address inside `cidr`, preferring one outside `prefersOutside`, never one in `taken`. */
export function addressInside(
  cidr: string,
  prefersOutside: readonly string[],
  taken: ReadonlySet<string>,
): string {
  const [preferred] = freeAddresses(cidr, prefersOutside, 1, taken);
  if (preferred !== undefined) return preferred;
  const [any] = freeAddresses(cidr, [], 1, taken);
  if (any === undefined)
    throw new FlashModelError(`${cidr}: every address is already taken by another place of the flow table`);
  return any;
}
