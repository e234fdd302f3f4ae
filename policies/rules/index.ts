/** Every rule of the pack, in report order. Tests import these to call rules without a server. */
import type { EnforcementLevel, Policies } from "@pulumi/policy";
import { acceptedRisks } from "./acceptedRisks";
import { breakGlassActive } from "./breakGlass";
import { clusterInfrastructure } from "./clusterInfrastructure";
import { clusterTierPolicies } from "./clusterTierPolicies";
import { dataStoreEgress } from "./dataStoreEgress";
import { knownPeersOnly } from "./knownPeersOnly";
import { linkLocalEgress } from "./linkLocalEgress";
import { dnsEgressKubeDnsOnly } from "./dnsEgress";
import { eksVpcCniLints } from "./eksVpcCniLints";
import { eksVpcCniPodMaps } from "./eksVpcCniPodMaps";
import { explicitPolicyTypes } from "./explicitPolicyTypes";
import { flowsMatchFlowTable } from "./flowsMatchFlowTable";
import { isolatedWorkloadsNoIngress } from "./isolatedWorkloads";
import { namespaceDefaultDeny } from "./namespaceDefaultDeny";
import { noAllowAllPeers } from "./noAllowAllPeers";
import { packConfigNotWeakened, speakingForWeakening, type PackRules } from "./packConfigNotWeakened";
import { portsExplicit } from "./portsExplicit";
import { publicEgress } from "./publicEgress";
import { publicIngress } from "./publicIngress";

export const PACK_NAME = "flash-netpol";
/** The pack's level for a rule its config does not mention (policies/index.ts). */
export const PACK_ENFORCEMENT_LEVEL: EnforcementLevel = "advisory";

/** The pack as pack-config-not-weakened compares it: read lazily, RULES names that rule too. */
export const PACK: PackRules = { packName: PACK_NAME, packLevel: PACK_ENFORCEMENT_LEVEL, rules: () => RULES };

export const RULES: Policies = [
  namespaceDefaultDeny,
  noAllowAllPeers,
  portsExplicit,
  publicEgress,
  publicIngress,
  linkLocalEgress,
  knownPeersOnly,
  clusterInfrastructure,
  dataStoreEgress,
  clusterTierPolicies,
  dnsEgressKubeDnsOnly,
  explicitPolicyTypes,
  isolatedWorkloadsNoIngress,
  eksVpcCniLints,
  eksVpcCniPodMaps,
  breakGlassActive,
  speakingForWeakening(flowsMatchFlowTable, PACK),
  acceptedRisks,
  packConfigNotWeakened(PACK),
];
