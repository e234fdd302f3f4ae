/**
 * How a pack config value may change without weakening the guard. Each rule tags the fields of its
 * zod config once; the weakening comparison (`check --policy-pack-config`, and the pack itself when
 * the engine hands it a config) walks the tags instead of knowing every rule.
 *
 * - "grows": an allow list or set of ports; adding an element weakens, removing one is stricter.
 * - "shrinks": a list of what must be protected (isolated workloads, application namespaces);
 *   removing an element weakens.
 * - "changes": a fact about the account (VPC CIDRs, subnets, addresses); any change weakens.
 * - "later": a date (an exemption's end); a later date weakens, as does a new entry.
 * - "never": a note for people (an exemption's reason); no value of it weakens anything.
 *
 * An untagged field counts as "changes" (any change weakens), so forgetting a tag errs strict.
 */
import { z } from "zod";

export type WeakenWhen = "grows" | "shrinks" | "changes" | "later" | "never";

export const strictnessRegistry = z.registry<{ weakenWhen: WeakenWhen }>();

/** Tags a config field with how it weakens; returns the same schema so it reads inline. */
export function weakensWhen<T extends z.ZodType>(schema: T, when: WeakenWhen): T {
  strictnessRegistry.add(schema, { weakenWhen: when });
  return schema;
}
