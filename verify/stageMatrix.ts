/**
 * The analyzer's matrix at the stack's current rollout stage, asked by address class.
 *
 * A live probe does not know every address offline: a data store's DNS name resolves to some IP in
 * its subnets, the payment host to some public IP. So an expectation is asked of every model
 * endpoint of that class (every address the flow table means by "redis"), and is only taken when
 * they all agree. A disagreement means the stage treats two subnets of one store differently: the
 * live verdict would depend on which IP the name happens to resolve to, so no expectation exists.
 */
import { ConnectivityEvaluator } from "../analyzer/flash/connectivity";
import type { FlashModel } from "../analyzer/flash/model";
import type { NetworkPolicyManifest } from "../core/networkPolicies";
import type { Protocol } from "../core/flowTable";
import type { Endpoint as AnalyzerEndpoint } from "../analyzer/index";
import type { Verdict } from "./probe";

export interface MatrixAnswer {
  readonly verdict: Verdict;
  /** Names of the table flows that declare the connection (empty: not intended). */
  readonly intendedBy: readonly string[];
}

/** Raised when the offline model cannot give one expectation: the CLI reports it as a usage error. */
export class ExpectationError extends Error {}

function probeKey(from: string, to: string, port: number, protocol: Protocol): string {
  return `${from}|${to}|${port}/${protocol}`;
}

export class StageMatrix {
  private readonly answers = new Map<string, MatrixAnswer>();

  constructor(
    readonly model: FlashModel,
    manifests: readonly NetworkPolicyManifest[],
  ) {
    const report = new ConnectivityEvaluator(model).evaluate(manifests);
    for (const { probe, allowed } of report.verdicts) {
      this.answers.set(probeKey(probe.from.name, probe.to.name, probe.port, probe.protocol), {
        verdict: allowed ? "allowed" : "blocked",
        intendedBy: probe.intendedBy.map((flow) => flow.name),
      });
    }
  }

  /** Model endpoint names matching a predicate over the analyzer's endpoint. */
  namesWhere(predicate: (endpoint: AnalyzerEndpoint) => boolean): string[] {
    return this.model.endpoints.filter((named) => predicate(named.endpoint)).map((named) => named.name);
  }

  /** The one verdict every address of the destination class gets from this source. */
  verdictFor(from: string, toClass: readonly string[], port: number, protocol: Protocol): MatrixAnswer {
    if (toClass.length === 0) {
      throw new ExpectationError(`no model endpoint stands for the target of ${from} ${port}/${protocol}`);
    }
    const answers = toClass.map((to) => {
      const answer = this.answers.get(probeKey(from, to, port, protocol));
      if (answer === undefined) {
        throw new ExpectationError(
          `the analyzer matrix has no probe ${from} -> ${to} ${port}/${protocol} (the port is not in the model)`,
        );
      }
      return { to, answer };
    });
    const verdicts = new Set(answers.map(({ answer }) => answer.verdict));
    if (verdicts.size > 1) {
      const detail = answers.map(({ to, answer }) => `${to} ${answer.verdict}`).join(", ");
      throw new ExpectationError(
        `the current stage treats the addresses of one target differently from ${from} on ${port}/${protocol} (${detail}); ` +
          "the live result would depend on which address the name resolves to. Fix the policies (npm run plan shows the matrix) before verifying live.",
      );
    }
    const intendedBy = [...new Set(answers.flatMap(({ answer }) => answer.intendedBy))];
    return { verdict: answers[0].answer.verdict, intendedBy };
  }
}
