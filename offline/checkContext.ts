/**
 * What `npm run check` judges a file against besides its own NetworkPolicies: the
 * FlashNetworkPolicies component resource with the state the program records for the stack (its
 * flow table, labels, ports and discovered CIDRs), built the way the plan builds it: the real
 * program run offline with the stack's config and recorded AWS and cluster answers. The file's
 * policies replace the program's; the component is context only, so flows-match-flow-table can
 * prove the file against the table.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { AnalyzedResource } from "./analyzerWire";
import { buildPlan } from "./planReport";
import { fromRegisteredResources } from "./policyResources";
import { COMPONENT_TYPE } from "../core/resourceTypes";

export interface CheckContextOptions {
  stack: string;
  /** The project directory (--cwd): its fixtures/ hold the stack's recorded answers. */
  root: string;
  /** The stack's config as the CLI hands it to the program (fully qualified keys). */
  stackConfig: Record<string, string>;
  /** Named in messages: the stack file the config came from. */
  stackFile: string;
  /** AWS answers; default <root>/fixtures/aws/<stack>.json, as the plan. */
  fixture?: string;
  /** kubectl answers; default <root>/fixtures/k8s/<stack>.json when it exists, as the plan. */
  kubernetesFixture?: string;
}

/** The component as the engine would hand it to a stack policy: its registered outputs as state. */
export async function recordedComponent(options: CheckContextOptions): Promise<AnalyzedResource> {
  const recordedCluster = path.join(options.root, "fixtures", "k8s", `${options.stack}.json`);
  const { run } = await buildPlan({
    stack: options.stack,
    stackFile: options.stackFile,
    config: options.stackConfig,
    fixture: options.fixture ?? path.join(options.root, "fixtures", "aws", `${options.stack}.json`),
    kubernetesFixture:
      options.kubernetesFixture ?? (fs.existsSync(recordedCluster) ? recordedCluster : undefined),
  });
  const component = fromRegisteredResources(run.resources).find(
    (resource) => resource.type === COMPONENT_TYPE,
  );
  // buildPlan has already refused a run without usable recorded state.
  if (component === undefined) throw new Error(`the program registered no ${COMPONENT_TYPE}`);
  return component;
}
