/**
 * One parsed NetworkPolicy shared by every rule, instead of each rule walking its own proxy.
 *
 * @pulumi/policy 1.21.0 hands every rule its OWN copy of a resource: makeAnalyzeRpcFun deserialises
 * the request's properties and wraps them in a new unknown-checking proxy for each rule it calls
 * (server.js:255-256, `deserializeProperties(req.getProperties(), false)` then
 * `unknownCheckingProxy(deserd)`), and every property read through that proxy allocates a path and
 * a proxy for the value (proxy.js:47-78). So nothing can be keyed on the object's identity; the key
 * is the resource's CONTENT: its JSON text. The first rule to see a content parses it into a frozen
 * plain object; the rules after it get that object, and what they derive from it (rulesOf) is
 * memoised on it (memo.ts).
 *
 * Exactness: the shared object is used only when the resource is plain JSON data, which JSON text
 * round-trips exactly: plain objects and arrays, strings, booleans, null and finite numbers other
 * than -0. Anything else takes the rule's own props as before: an unknown preview value (a sentinel
 * string, proxy.js:129-159), whose read must still throw UnknownValueError so the framework reports
 * "can't run ... during preview" for the rules that read it; an asset, a secret wrapper, NaN.
 * The proxy's target is reached by its own escape hatch (proxy.js:35, 40, 52-57); a later SDK
 * without it leaves every resource on the proxy path, correct and slower.
 */

import { deepFreeze } from "./memo";

/** The runtime exports of @pulumi/policy/proxy this module relies on (proxy.d.ts declares none). */
interface PolicyProxyModule {
  isSpecialProxy?: string;
  getSpecialProxyTarget?: string;
  [name: string]: unknown;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const proxyModule = require("@pulumi/policy/proxy") as PolicyProxyModule;

const UNKNOWN_SENTINEL_NAMES = [
  "unknownBooleanValue",
  "unknownNumberValue",
  "unknownStringValue",
  "unknownArrayValue",
  "unknownAssetValue",
  "unknownArchiveValue",
  "unknownObjectValue",
] as const;

/** The preview's unknown values; undefined when the SDK no longer exports one of them (no sharing then). */
const unknownSentinels: readonly string[] | undefined = (() => {
  const values = UNKNOWN_SENTINEL_NAMES.map((name) => proxyModule[name]);
  return values.every((value): value is string => typeof value === "string") ? values : undefined;
})();

/**
 * True when `value` is made only of plain objects, dense arrays, strings, booleans, null and finite
 * numbers other than -0: what JSON text carries exactly. (Unknown sentinels are strings; they are
 * looked for in the text, natively, by `holdsUnknown`.) `anyObject`: also refuse symbol and
 * non-enumerable keys, which JSON text drops but a rule could read; the SDK's deserialiser never
 * makes them (it assigns `props[k] = ...` and `obj[k] = ...`, deserialize.js:36-41, :127-129),
 * so only an object from elsewhere (a test) pays for that check.
 */
function isPlainJson(value: unknown, anyObject: boolean): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value) && !Object.is(value, -0);
    case "object": {
      if (value === null) return true;
      const prototype: unknown = Object.getPrototypeOf(value);
      if (prototype === Array.prototype) {
        const items = value as unknown[];
        for (let index = 0; index < items.length; index++) {
          if (!(index in items) || !isPlainJson(items[index], anyObject)) return false;
        }
        return true;
      }
      if (prototype !== Object.prototype) return false;
      const record = value as Record<string, unknown>;
      if (anyObject && Object.keys(record).length !== Reflect.ownKeys(record).length) return false;
      for (const key in record) if (!isPlainJson(record[key], anyObject)) return false;
      return true;
    }
    default:
      return false;
  }
}

/** True when the JSON text holds an unknown preview value (or text that merely contains one: then unshared, which is safe). */
function holdsUnknown(text: string, sentinels: readonly string[]): boolean {
  return sentinels.some((sentinel) => text.includes(sentinel));
}

/** The plain object behind the SDK's proxy, or `props` itself when it is none (a test's object). */
function targetOf(props: object): { target: unknown; fromSdk: boolean } | undefined {
  const { isSpecialProxy, getSpecialProxyTarget } = proxyModule;
  if (isSpecialProxy === undefined || getSpecialProxyTarget === undefined) return undefined;
  const record = props as Record<string, unknown>;
  if (record[isSpecialProxy] !== true) return { target: props, fromSdk: false };
  return { target: record[getSpecialProxyTarget], fromSdk: true };
}

/** Parsed resources by JSON text; a preview analyses a few at a time, so a small window suffices. */
const parsedByText = new Map<string, object>();
const PARSED_LIMIT = 256;

/**
 * The frozen, shared plain form of `props` when it is plain JSON data; `props` itself otherwise.
 * Equal content gives the same object, so answers memoised on it are answers about that content.
 */
export function sharedProps<T extends object>(props: T): T {
  if (unknownSentinels === undefined) return props;
  const found = targetOf(props);
  if (found === undefined || !isPlainJson(found.target, !found.fromSdk)) return props;
  const text = JSON.stringify(found.target);
  if (holdsUnknown(text, unknownSentinels)) return props;
  const known = parsedByText.get(text);
  if (known !== undefined) return known as T;
  if (parsedByText.size >= PARSED_LIMIT) parsedByText.delete(parsedByText.keys().next().value!);
  const parsed = deepFreeze(JSON.parse(text) as object);
  parsedByText.set(text, parsed);
  return parsed as T;
}
