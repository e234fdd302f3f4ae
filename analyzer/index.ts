// Public surface of the NetworkPolicy analyzer.
export * from "../core/kubernetes";
export { PolicyAnalyzer } from "./analyzer";
export * from "./explanation";
export { compileLabelSelector, type LabelMatcher } from "../core/labelSelector";
export { compileIpBlock, parseAddress, type AddressMatcher, type ParsedAddress } from "./ipBlock";
export { compilePorts, type CompiledPorts, type PortMatcher } from "./portMatcher";
export { compilePeer, type CompiledPeer } from "./peerMatcher";
export { podTrafficPeer, externalTrafficPeer, type TrafficPeer } from "./trafficPeer";
export { effectivePolicyTypes } from "./policyTypes";
export { compilePolicy, type CompiledPolicy, type CompiledRule } from "./compiledPolicy";
export { ScenarioError, parseScenario, loadScenarioFile, type Scenario } from "./scenario";
export {
  networkPolicySchema,
  scenarioSchema,
  type ScenarioDocument,
  type ScenarioProbe,
  type ProbeEndpointRef,
} from "./scenarioSchema";
export { groupPods, type PodGroup, type PodGrouping } from "./podGroups";
export { computeGroupedMatrix, type GroupedReachabilityMatrix } from "./groupedMatrix";
export { firstMatrixDifference, countAllowed, type ReachabilityMatrix } from "./reachabilityMatrix";
