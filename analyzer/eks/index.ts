// Public surface of the EKS VPC CNI enforcer model.
export * from "./model";
export { MAX_PORT_PROTOCOL, computeMapEntries, longestPrefixMatch, valueAllows } from "./agent";
export { EndpointsResolver, isHeadless, type PolicyEndpoints } from "./controller";
export { EksEnforcer, type EksClusterState, type EksEnforcerOptions } from "./enforcer";
export * from "./agentVersions";
export * from "./clusterPolicies";
export * from "./clusterPolicyResolver";
export * from "./clusterPolicyObjects";
export { computeLegacyMapEntries, legacyValueAllows } from "./legacyAgent";
export { computeEksGroupedMatrix } from "./groupedMatrix";
export { groupEksPods, type EksPodGrouping } from "./podGroups";
