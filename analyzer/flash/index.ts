// Public surface of the flash-ticket connectivity model and its proofs.
export {
  topologyFromConfig,
  topologyFromComponentOutputs,
  type FlashService,
  type FlashTopology,
  type TopologyResult,
} from "./topology";
export {
  NAMESPACE_DNS_FLOW_NAME,
  endpointMatcher,
  flowsIntending,
  intendedFlows,
  type IntendedFlow,
} from "./intent";
export {
  EXTRA_PROBE_PORTS,
  FOREIGN_NAMESPACE,
  INTERNET_ADDRESS,
  METADATA_SERVICE_ADDRESS,
  NODE_ENDPOINT_NAME,
  buildFlashModel,
  clusterWith,
  endpointNamed,
  type FlashModel,
  type FlashProbe,
  type NamedEndpoint,
} from "./model";
export {
  ConnectivityEvaluator,
  analyzerProbe,
  describeExposure,
  describeOutage,
  describeProbe,
  evaluateConnectivity,
  isPolicedExposure,
  type ConnectivityReport,
  type Exposure,
  type Outage,
  type ProbeVerdict,
} from "./connectivity";
export {
  describeRollout,
  fullEnforcement,
  isFullEnforcement,
  reachableRolloutStages,
  reachableStageCount,
  type RolloutStage,
} from "./stages";
export {
  familyHolds,
  proveRolloutFamilies,
  stageCountJson,
  type FailingFamily,
  type FamilyProof,
  type RolloutFlagRef,
} from "./rolloutFamilies";
export {
  enumerateBreakGlassStages,
  enumerateRolloutStages,
  failingEnumeratedStages,
  ENUMERATION_LIMIT,
  type BreakGlassStage,
  type StageProof,
} from "./enumeratedProof";
export {
  proveBreakGlassFamilies,
  type BreakGlassHooks,
  type BreakGlassProof,
  type PolicyGenerator,
} from "./breakGlassFamilies";
export { breakGlassFamilyHolds, type BreakGlassFamily } from "./breakGlassStages";
export {
  failingStages,
  flashModelFor,
  proveBreakGlass,
  proveRollout,
  type ProveOptions,
  type RolloutProof,
} from "./proofs";
export {
  ENFORCERS,
  eksClusterWith,
  eksProbe,
  judgeFor,
  type EnforcerName,
  type EnforcerOptions,
  type Judge,
  type SideOutcome,
} from "./enforcers";
export {
  checkFlowsAgainstTable,
  type FlowTableViolation,
  type FlowTableViolationKind,
} from "./flowTableCheck";
export { enforcerDifferences, type EnforcerDifference } from "./enforcerDifferences";
export { strictModeCuts } from "./strictMode";
export { FlashModelError } from "./modelError";
