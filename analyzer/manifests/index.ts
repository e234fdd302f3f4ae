// Kubernetes manifests in, workload-level connectivity out (see docs/analyzer.md).
export {
  ManifestError,
  STDIN_NAME,
  manifestFiles,
  parseManifestText,
  readManifestObjects,
  type LocatedObject,
} from "./documents";
export {
  DEFAULT_NAMESPACE,
  NAMESPACE_NAME_LABEL,
  manifestSetOf,
  workloadName,
  type ManifestSet,
  type Workload,
} from "./objects";
export {
  ALL_CONNECTIONS,
  computeConnlist,
  externalRanges,
  type Connection,
  type ConnlistResult,
  type Enforcer,
} from "./connlist";
export { CONNLIST_FORMATS, formatConnlist, type ConnlistFormat } from "./formats";

import { readManifestObjects } from "./documents";
import { manifestSetOf, type ManifestSet } from "./objects";

/** Reads a file, a folder or "-" (stdin, via `readStdin`) into a ManifestSet. */
export function readManifests(target: string, readStdin: () => string): ManifestSet {
  return manifestSetOf(readManifestObjects(target, readStdin));
}
