/**
 * data-store-egress: inside the VPC (and the rest of private address space, which peered VPCs and
 * on-premises networks answer on) a pod may reach only its data stores: each egress ipBlock there
 * must lie within one store's discovered subnet CIDRs, carry only that store's port(s), and sit in
 * a policy selecting a service the flow table lets reach the store. Anything else is lateral
 * movement or an exfiltration path: the postgres rule widened to the whole VPC reaches every node,
 * load balancer and endpoint in it; the redis subnets on 15432 reach whatever else listens there.
 * A wider block that covers private space must except it (the internet side is public-egress's).
 */
import { z } from "zod";
import { portNumberSchema } from "../../core/kubernetes";
import {
  PRIVATE_CIDRS,
  cidrContains,
  isExcepted,
  isValidCidr,
  overlaps,
  sameFamily,
  cidrTextSchema,
} from "../../core/cidrs";
import { networkPolicyRule, violation, type Violation } from "./common";
import { weakensWhen } from "./configStrictness";
import { describePorts, namespaceOf, portsOutside, rulePath, rulesOf } from "./k8s";
import { memoisedOnFrozen } from "./memo";
import { packStackConfig, stackCallersOf } from "./stackConfig";
import { describeWorkloads, pinnedWorkload, workloadSchema } from "./workloads";

export const NAME = "data-store-egress";
export const DESCRIPTION =
  "Egress inside the VPC or private space only to a data store's own subnets, on its port(s), from a service the flow table lets reach it.";

const dataStore = z.strictObject({
  name: z.string().min(1),
  /** The store's discovered subnet CIDRs. */
  cidrs: weakensWhen(z.array(cidrTextSchema).min(1), "changes"),
  /** flash-netpol:dataStores.<store>.port (TCP). */
  ports: weakensWhen(z.array(portNumberSchema).min(1), "grows"),
  /**
   * The services the flow table lets reach the store. By default those of the stack's flow table
   * (flash-netpol:flows, as the engine hands the pack the stack's config).
   */
  callers: weakensWhen(z.array(workloadSchema).optional(), "grows"),
});
export type DataStoreFact = z.output<typeof dataStore>;

export const CONFIG = z.object({
  /** The VPC's CIDRs (primary and secondary), private whatever their range. */
  vpcCidrs: weakensWhen(z.array(cidrTextSchema).default([]), "changes"),
  stores: weakensWhen(z.array(dataStore).default([]), "grows"),
});
export type DataStoreEgressConfig = z.output<typeof CONFIG>;

/** The store with its callers: as configured, else from the stack's flow table. */
const withCallers = (store: z.output<typeof dataStore>) => ({
  ...store,
  callers: store.callers ?? stackCallersOf(store.name),
});

/** Every store with its callers, once per (config, stack config) rather than per resource (memo.ts). */
const storesWithCallers = memoisedOnFrozen((config: DataStoreEgressConfig, _stackConfig: object) =>
  config.stores.map(withCallers),
);

export const dataStoreEgress = networkPolicyRule({
  name: NAME,
  description: DESCRIPTION,
  config: CONFIG,
  facts: (config) => ({
    "data-store-egress.vpcCidrs": config.vpcCidrs,
    "data-store-egress.stores": storesWithCallers(config, packStackConfig()),
  }),
  check: ({ policy, resource, provider, config, stackConfig }) => {
    const stores = storesWithCallers(config, stackConfig);
    const privateRanges = [...PRIVATE_CIDRS, ...config.vpcCidrs].filter(isValidCidr);
    const namespace = namespaceOf(policy, provider);
    const found: Violation[] = [];
    for (const located of rulesOf(policy)) {
      if (located.direction !== "egress") continue;
      const ports = located.rule.ports ?? [];
      (located.peers ?? []).forEach((peer, index) => {
        const cidr = peer.ipBlock?.cidr;
        if (cidr === undefined || !isValidCidr(cidr)) return;
        const where = `${rulePath(located)}.to[${index}].ipBlock`;
        const refuse = (problem: string, fix: string) =>
          found.push({ message: violation(resource, `${where} ${cidr} ${problem}`, fix) });
        const reached = privateRanges.filter((range) => sameFamily(range, cidr) && overlaps(range, cidr));
        if (reached.length === 0) return;
        if (!reached.some((range) => cidrContains(range, cidr))) {
          const missing = reached.filter((range) => !isExcepted(range, peer.ipBlock?.except ?? []));
          if (missing.length > 0) {
            refuse(
              `includes private ${missing.join(", ")} (the VPC, peered networks) without excepting it`,
              `add ${missing.join(", ")} to ${where}.except, or list the data store's subnets instead`,
            );
          }
          return;
        }
        const containing = stores.filter((store) =>
          store.cidrs.some((storeCidr) => isValidCidr(storeCidr) && cidrContains(storeCidr, cidr)),
        );
        if (containing.length === 0) {
          refuse(
            `is private address space that is no data store's subnet (stores: ${stores.map((store) => `${store.name} [${store.cidrs.join(", ")}]`).join("; ") || "none"})`,
            `narrow ${where} to the data store's subnet CIDRs, or remove it`,
          );
          return;
        }
        const callable = containing.filter(
          (store) => pinnedWorkload(policy.spec?.podSelector, namespace, store.callers) !== undefined,
        );
        if (callable.length === 0) {
          refuse(
            `is ${containing.map((store) => store.name).join("/")}, which the flow table does not let the pods of ${JSON.stringify(policy.spec?.podSelector ?? {})} reach (callers: ${describeWorkloads(containing.flatMap((store) => store.callers))})`,
            `remove the rule, or add the flow to the flow table (flash-netpol:flows)`,
          );
          return;
        }
        const allowed = callable.flatMap((store) =>
          store.ports.map((number) => ({ port: number, protocol: "TCP" })),
        );
        const outside = portsOutside(ports, allowed);
        if (ports.length === 0 || outside.length > 0) {
          refuse(
            `is ${callable.map((store) => store.name).join("/")} but the rule allows ${describePorts(ports.length === 0 ? [] : outside)}`,
            `restrict ${rulePath(located)}.ports to ${allowed.map((entry) => `${entry.port}/TCP`).join(", ")}`,
          );
        }
      });
    }
    return found;
  },
});
