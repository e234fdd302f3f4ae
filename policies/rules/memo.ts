/**
 * Memoising what the rules derive from configs, safely. The engine calls every resource rule once
 * per resource (1,000 NetworkPolicies: 17,000 calls), and what a rule derives from its pack config
 * and the stack config (the flow table, each store's callers, the facts it notes) is the same for
 * every one of them. Deriving it again on every call was most of the pack's cost per resource.
 *
 * The key is the object's identity, and only a FROZEN object is memoised: it cannot change after
 * the answer was stored, so an identity hit is a content hit. The parsed pack configs
 * (parseRuleConfig) and the pack's stack config (packStackConfig) are frozen for that reason; an
 * object a test builds and may mutate is derived afresh on every call.
 */

/** Freezes `value` and everything reachable from it; returns it. */
export function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== "object" || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<PropertyKey, unknown>)[key]);
  return value;
}

/** `derive` memoised on the identity of a frozen key; computed afresh for an object that is not frozen. */
export function memoisedOnFrozenKey<K extends object, V>(derive: (key: K) => V): (key: K) => V {
  const answers = new WeakMap<K, V>();
  return (key) => {
    if (!Object.isFrozen(key)) return derive(key);
    if (answers.has(key)) return answers.get(key) as V;
    const answer = deepFreeze(derive(key));
    answers.set(key, answer);
    return answer;
  };
}

/**
 * `derive` memoised on the identity of two frozen keys (e.g. a rule's parsed config and the stack
 * config its defaults came from); computed afresh when either key is not frozen. The answer is
 * frozen too, so no caller can change what the next one gets.
 */
export function memoisedOnFrozen<A extends object, B extends object, V>(
  derive: (first: A, second: B) => V,
): (first: A, second: B) => V {
  const answers = new WeakMap<A, WeakMap<B, V>>();
  return (first, second) => {
    if (!Object.isFrozen(first) || !Object.isFrozen(second)) return derive(first, second);
    let bySecond = answers.get(first);
    if (bySecond === undefined) {
      bySecond = new WeakMap();
      answers.set(first, bySecond);
    }
    if (bySecond.has(second)) return bySecond.get(second) as V;
    const answer = deepFreeze(derive(first, second));
    bySecond.set(second, answer);
    return answer;
  };
}
