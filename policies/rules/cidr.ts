/**
 * CIDR questions the rules ask, on top of the generator's own arithmetic (components/cidrs.ts), so
 * the pack and the generator never disagree on what "inside" means.
 */
import { ALWAYS_EXCEPTED_CIDRS, cidrContains, isValidCidr, parseCidr } from "../../components/cidrs";

export { isValidCidr };

export const RFC1918_CIDRS: readonly string[] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];
export const INSTANCE_METADATA_CIDR = "169.254.0.0/16";
/** The ranges public egress must always except (RFC1918 and instance metadata), as the generator excepts them. */
export const PRIVATE_CIDRS: readonly string[] = ALWAYS_EXCEPTED_CIDRS;

function familyOf(cidr: string): string {
  return parseCidr(cidr)[0].kind();
}

export function prefixLength(cidr: string): number {
  return parseCidr(cidr)[1];
}

export function sameFamily(a: string, b: string): boolean {
  return familyOf(a) === familyOf(b);
}

export function contains(outer: string, inner: string): boolean {
  return sameFamily(outer, inner) && cidrContains(outer, inner);
}

/** Outer contains inner and is wider than it. */
export function strictlyContains(outer: string, inner: string): boolean {
  return contains(outer, inner) && prefixLength(outer) < prefixLength(inner);
}

export function overlaps(a: string, b: string): boolean {
  return contains(a, b) || contains(b, a);
}

/** True when one of the `except` entries covers `range` entirely. */
export function isExcepted(range: string, except: readonly string[]): boolean {
  return except.some((entry) => isValidCidr(entry) && contains(entry, range));
}
