/**
 * Host names that may go into a probe's argument vector. Nothing reaches a shell, but a value
 * starting with "-" would still be read by nc or nslookup as an option, so every host from config,
 * AWS or a flag is checked to be a plain DNS name or IPv4 address first.
 */

const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

export function isProbeHost(value: string): boolean {
  return HOST_NAME.test(value);
}

/** `https://api.stripe.com` or `api.stripe.com` -> `api.stripe.com`; ports come from stack config. */
export function hostOfPaymentUrl(value: string): string {
  if (!value.includes("://")) return value;
  try {
    return new URL(value).hostname;
  } catch {
    return value;
  }
}
