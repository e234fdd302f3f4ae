/**
 * The one CIDR module: validity, containment, a canonical order (so a reordered AWS answer never
 * shows as a diff) and the private ranges. The generator, the config schema, the analyzer and the
 * pack all ask it, so they never disagree on what "inside" means.
 */
import * as ipaddr from "ipaddr.js";
import { z } from "zod";

/**
 * The text shape of a CIDR in pack config. A plain RE2-compatible pattern (no refine), because the
 * pack's configSchema is derived from it with z.toJSONSchema and the Pulumi CLI validates config with
 * gojsonschema; the rules parse each value with isValidCidr before trusting it.
 */
export const CIDR_TEXT_PATTERN = /^[0-9a-fA-F.:]+\/[0-9]{1,3}$/;
export const cidrTextSchema = z.string().regex(CIDR_TEXT_PATTERN);
/** The text shape of a dotted-quad IPv4 address in pack config (same JSON Schema constraint as above). */
export const ipv4AddressTextSchema = z.string().regex(/^([0-9]{1,3}\.){3}[0-9]{1,3}$/);

/** True for text shaped like a CIDR (see cidrTextSchema); isValidCidr says whether it parses. */
export function isCidrText(value: string): boolean {
  return CIDR_TEXT_PATTERN.test(value);
}

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

export const RFC1918_CIDRS: readonly string[] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];
/** RFC 6598 carrier-grade NAT space, which EKS custom networking uses for pod subnets. */
export const CARRIER_GRADE_NAT_CIDR = "100.64.0.0/10";
/** Link-local: the instance metadata service hands out the node's IAM credentials here. */
export const INSTANCE_METADATA_CIDR = "169.254.0.0/16";

/**
 * Link-local space and the addresses EC2 serves node and pod credentials at: IMDS at
 * 169.254.169.254 and fd00:ec2::254, the EKS Pod Identity agent at 169.254.170.23 and fd00:ec2::23
 * (the IPv6 pair lies in ULA space, not in fe80::/10), and IPv4 link-local written as an
 * IPv4-mapped IPv6 range. AWS docs: "Instance metadata service" endpoints; EKS "Pod Identity agent".
 */
export const LINK_LOCAL_CIDRS: readonly string[] = [
  INSTANCE_METADATA_CIDR,
  "fe80::/10",
  "fd00:ec2::254/128",
  "fd00:ec2::23/128",
  "::ffff:169.254.0.0/112",
];

/** Address space that is not the internet: RFC1918, carrier-grade NAT, IPv6 unique local (RFC 4193). */
export const PRIVATE_CIDRS: readonly string[] = [...RFC1918_CIDRS, CARRIER_GRADE_NAT_CIDR, "fc00::/7"];

/** Ranges public egress always excepts: RFC1918, the carrier-grade NAT space and instance metadata. */
export const ALWAYS_EXCEPTED_CIDRS: readonly string[] = [
  RFC1918_CIDRS[0]!,
  CARRIER_GRADE_NAT_CIDR,
  RFC1918_CIDRS[1]!,
  RFC1918_CIDRS[2]!,
  INSTANCE_METADATA_CIDR,
];

/** An address as its family and raw bytes, so prefix tests are plain byte comparisons. */
export interface ParsedAddress {
  readonly family: "ipv4" | "ipv6";
  readonly bytes: readonly number[];
}

export interface ParsedCidr extends ParsedAddress {
  readonly prefixLength: number;
}

interface ParsedText {
  readonly range: Range;
  readonly cidr: ParsedCidr;
  /** The network as Go prints it, kept: the EKS agent model canonicalises every rule of every map. */
  readonly canonical: string;
}

/**
 * Parsed ranges by their text. Rules ask the same few CIDRs the same questions for every resource
 * of a preview, and ipaddr.parseCIDR tries IPv6 before IPv4: parsing once keeps the pack at well
 * under a millisecond per resource. Bounded so an adversarial input cannot grow it without end.
 */
const parsedRanges = new Map<string, ParsedText>();
const PARSED_RANGES_LIMIT = 10_000;

/** Caches `value` under `text`, starting afresh at the bound so adversarial input cannot grow it without end. */
export function remember<T>(cache: Map<string, T>, text: string, value: T): T {
  if (cache.size >= PARSED_RANGES_LIMIT) cache.clear();
  cache.set(text, value);
  return value;
}

function parsedText(cidr: string): ParsedText {
  const known = parsedRanges.get(cidr);
  if (known !== undefined) return known;
  const range = parseUncached(cidr);
  const [network, prefixLength] = range;
  const parsed = { family: network.kind(), bytes: network.toByteArray(), prefixLength };
  return remember(parsedRanges, cidr, { range, cidr: parsed, canonical: format(range) });
}

function parse(cidr: string): Range {
  return parsedText(cidr).range;
}

/** The network address of a CIDR as family and bytes, with its prefix length; throws on anything that is not one. */
export function parseCidrBytes(cidr: string): ParsedCidr {
  return parsedText(cidr).cidr;
}

/** The CIDR with its host bits cleared, as Go's net.ParseCIDR prints the network ("10.1.2.3/8" -> "10.0.0.0/8"). */
export function canonicalCidr(cidr: string): string {
  return parsedText(cidr).canonical;
}

/** The network address and prefix length of a CIDR; throws on anything that is not one. */
export function parseCidr(cidr: string): Readonly<Range> {
  return parse(cidr);
}

export function isValidCidr(value: string): boolean {
  try {
    parse(value);
    return true;
  } catch {
    return false;
  }
}

function parseUncached(cidr: string): Range {
  const [address, prefix] = ipaddr.parseCIDR(cidr);
  // Normalise the address to the network address so "10.0.1.7/24" and "10.0.1.0/24" compare equal.
  const network =
    address.kind() === "ipv4"
      ? ipaddr.IPv4.networkAddressFromCIDR(cidr)
      : ipaddr.IPv6.networkAddressFromCIDR(cidr);
  return [network, prefix];
}

function format([address, prefix]: Range): string {
  return `${address.toString()}/${prefix}`;
}

function compareRanges(a: Range, b: Range): number {
  if (a[0].kind() !== b[0].kind()) return a[0].kind() === "ipv4" ? -1 : 1;
  const left = a[0].toByteArray();
  const right = b[0].toByteArray();
  for (let index = 0; index < left.length; index++) {
    if (left[index] !== right[index]) return left[index]! - right[index]!;
  }
  return a[1] - b[1];
}

export function cidrContains(outer: string, inner: string): boolean {
  const [outerAddress, outerPrefix] = parse(outer);
  const [innerAddress, innerPrefix] = parse(inner);
  if (outerAddress.kind() !== innerAddress.kind() || innerPrefix < outerPrefix) return false;
  return innerAddress.match(outerAddress, outerPrefix);
}

/** Sorted by address, normalised, duplicates and ranges inside another range removed. */
export function canonicalCidrs(cidrs: Iterable<string>): string[] {
  const sorted = [...cidrs].map(parse).sort(compareRanges).map(format);
  const kept: string[] = [];
  for (const cidr of sorted) {
    if (!kept.some((existing) => cidrContains(existing, cidr))) kept.push(cidr);
  }
  return kept;
}

/** The excepted ranges that fall inside `cidr`: Kubernetes requires every `except` entry to lie within its `cidr`. */
export function exceptionsWithin(cidr: string, excepted: readonly string[]): string[] {
  return canonicalCidrs(excepted.filter((candidate) => cidrContains(cidr, candidate) && candidate !== cidr));
}

export function isIpv4Cidr(cidr: string): boolean {
  return parse(cidr)[0].kind() === "ipv4";
}

export function prefixLength(cidr: string): number {
  return parse(cidr)[1];
}

export function sameFamily(a: string, b: string): boolean {
  return parse(a)[0].kind() === parse(b)[0].kind();
}

/** Outer contains inner and is wider than it. */
export function strictlyContains(outer: string, inner: string): boolean {
  return cidrContains(outer, inner) && prefixLength(outer) < prefixLength(inner);
}

export function overlaps(a: string, b: string): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
}

/** True when one of the `except` entries covers `range` entirely. */
export function isExcepted(range: string, except: readonly string[]): boolean {
  return except.some((entry) => isValidCidr(entry) && cidrContains(entry, range));
}

/**
 * Sizes AWS gives a subnet: IPv4 /16 (65,536 addresses) to /28 (EC2 CreateSubnet: "The allowed size
 * for an IPv4 subnet is between a /28 netmask and a /16 netmask"); IPv6 /44 to /64.
 */
export function isSubnetSized(cidr: string): boolean {
  const [address, prefix] = parse(cidr);
  return address.kind() === "ipv4" ? prefix >= 16 && prefix <= 28 : prefix >= 44 && prefix <= 64;
}

/** Ranges no network peer lives in: loopback, multicast, "this network", the IPv4 reserved block. */
export const NON_UNICAST_CIDRS: readonly string[] = [
  "0.0.0.0/8",
  "127.0.0.0/8",
  "224.0.0.0/4",
  "240.0.0.0/4",
  "::/128",
  "::1/128",
  "ff00::/8",
];
/** IPv6 link-local and unique-local space (the EC2 metadata and Pod Identity IPv6 addresses live in fd00:ec2::/32). */
export const IPV6_LOCAL_CIDRS: readonly string[] = ["fe80::/10", "fc00::/7"];

/** The first listed range that wholly holds `cidr`, if any. */
export function insideAnyOf(cidr: string, ranges: readonly string[]): string | undefined {
  return ranges.find((range) => cidrContains(range, cidr));
}

/** The first listed range `cidr` overlaps (holds or lies in), if any. */
export function overlapsAnyOf(cidr: string, ranges: readonly string[]): string | undefined {
  return ranges.find((range) => sameFamily(range, cidr) && overlaps(range, cidr));
}
