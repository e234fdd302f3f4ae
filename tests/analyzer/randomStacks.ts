/**
 * Random stacks for the rollout and break-glass fuzzes: 1 to 4 services on random ports, random flow
 * tables over every endpoint kind (payment-api included, so some egress policies except ranges), and
 * services wearing an earlier service's labels plus one more (overlapping selectors).
 */
import fc from "fast-check";
import { fullEnforcement } from "../../analyzer/flash";
import type { StackConfig } from "../../core/config";
import type { DeclaredFlow, Endpoint } from "../../core/flowTable";

const NAMES = ["svc-a", "svc-b", "svc-c", "svc-d"] as const;
const PORTS = [8080, 8081, 9000] as const;

export interface RandomStack {
  readonly services: Record<string, { podLabels: Record<string, string>; port: number }>;
  readonly flows: DeclaredFlow[];
}

/** Each service after the first may wear an earlier service's labels plus one of its own. */
export const stackArb: fc.Arbitrary<RandomStack> = fc
  .integer({ min: 1, max: 4 })
  .chain((count) =>
    fc.tuple(
      fc.array(fc.constantFrom(...PORTS), { minLength: count, maxLength: count }),
      fc.array(fc.integer({ min: -1, max: 1 }), { minLength: count, maxLength: count }),
      fc.subarray(candidateFlows(count)),
    ),
  )
  .map(([ports, wears, flows]) => {
    const services: RandomStack["services"] = {};
    ports.forEach((port, index) => {
      const name = NAMES[index];
      const worn = wears[index];
      services[name] =
        worn >= 0 && worn < index
          ? { podLabels: { ...services[NAMES[worn]].podLabels, role: name }, port }
          : { podLabels: { app: name }, port };
    });
    return { services, flows };
  });

function candidateFlows(count: number): DeclaredFlow[] {
  const services: Endpoint[] = NAMES.slice(0, count).map((service) => ({ kind: "service", service }));
  const outside: Endpoint[] = [
    { kind: "dataStore", store: "redis" },
    { kind: "dns" },
    { kind: "paymentApi" },
  ];
  const flows: DeclaredFlow[] = [];
  for (const to of services) flows.push({ from: { kind: "alb" }, to, purpose: "fuzz" });
  for (const from of services) {
    for (const to of [...services, ...outside]) {
      if (JSON.stringify(from) !== JSON.stringify(to)) flows.push({ from, to, purpose: "fuzz" });
    }
  }
  return flows;
}

export function configOf(base: StackConfig, random: RandomStack): StackConfig {
  const names = Object.keys(random.services);
  return {
    ...base,
    services: random.services,
    flows: random.flows,
    rollout: fullEnforcement(names),
    breakGlass: false,
  };
}
