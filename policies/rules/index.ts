/** Every rule of the pack, in report order. Tests import these to call rules without a server. */
import type { Policies } from "@pulumi/policy";
import { acceptedRisks } from "./acceptedRisks";
import { breakGlassActive } from "./breakGlass";
import { clusterInfrastructure } from "./clusterInfrastructure";
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
import { portsExplicit } from "./portsExplicit";
import { publicEgress } from "./publicEgress";
import { publicIngress } from "./publicIngress";

export const PACK_NAME = "flash-netpol";

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
  dnsEgressKubeDnsOnly,
  explicitPolicyTypes,
  isolatedWorkloadsNoIngress,
  eksVpcCniLints,
  eksVpcCniPodMaps,
  breakGlassActive,
  flowsMatchFlowTable,
  acceptedRisks,
];

export const RULE_NAMES: readonly string[] = RULES.map((rule) => rule.name);
