/** A plain object (not null, not an array): what parsed JSON or YAML holds where a mapping is expected. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
