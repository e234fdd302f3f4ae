/**
 * The probe plan of a named stack: runs the real program offline (recorded AWS answers, as
 * `npm run plan` does) and hands its config, the component's outputs and the current stage's
 * manifests to the pure planner. Nothing here talks to the cluster.
 */
import { buildPlan } from "../offline/planReport";
import type { ProbePlan } from "./probe";
import { planProbes, type ProbePlanOptions } from "./probePlan";
import { ExpectationError } from "./stageMatrix";
import { COMPONENT_TYPE } from "../core/resourceTypes";

export async function probePlanForStack(
  stack: string,
  stackFile: string,
  options: ProbePlanOptions,
): Promise<ProbePlan> {
  const { report, run, config } = await buildPlan({ stack, stackFile });
  const component = run.resources.find((resource) => resource.type === COMPONENT_TYPE);
  if (component?.outputs === undefined) {
    throw new ExpectationError(`the program registered no ${COMPONENT_TYPE} outputs for stack ${stack}`);
  }
  return planProbes({
    stack,
    config,
    componentOutputs: component.outputs,
    manifests: report.manifests,
    options,
  });
}
