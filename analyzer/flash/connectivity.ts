/**
 * One policy set judged against the flow table over the flash model: every probe's verdict, the
 * intended flows it blocks (outages) and the connections it allows that nobody declared (exposures).
 */
import {
  type Direction,
  type Endpoint,
  type Probe,
  type ProbeExplanation,
  type RuleReference,
} from "../index";
import type { NetworkPolicyManifest } from "../../core/networkPolicies";
import type { NetworkPolicy } from "../index";
import { judgeFor, type EnforcerOptions } from "./enforcers";
import type { FlashModel, FlashProbe } from "./model";

export interface ProbeVerdict {
  readonly probe: FlashProbe;
  readonly allowed: boolean;
}

/** An intended connection the policies block: the named flows lose this port. */
export interface Outage {
  readonly probe: FlashProbe;
  readonly explanation: ProbeExplanation;
}

/** An allowed connection no flow declares. */
export interface Exposure {
  readonly probe: FlashProbe;
  readonly explanation: ProbeExplanation;
  /**
   * The rules of isolating policies that admit it. Empty means no side is isolated: expected while
   * a pod waits for its policy mid-rollout. Non-empty means a deployed rule is wider than the table.
   */
  readonly admittedBy: readonly RuleReference[];
}

export interface ConnectivityReport {
  readonly verdicts: readonly ProbeVerdict[];
  readonly outages: readonly Outage[];
  readonly exposures: readonly Exposure[];
}

export function analyzerProbe(probe: FlashProbe): Probe {
  return { from: probe.from.endpoint, to: probe.to.endpoint, port: probe.port, protocol: probe.protocol };
}

function admittingRules(explanation: ProbeExplanation): RuleReference[] {
  return [explanation.egress, explanation.ingress].flatMap((verdict) =>
    verdict.kind === "allowed" ? verdict.allowedBy : [],
  );
}

/** What `explain` returns when no policy isolates either side, built without walking any rule. */
function unpolicedExplanation(probe: FlashProbe): ProbeExplanation {
  return {
    allowed: true,
    egress: { kind: probe.from.endpoint.kind === "pod" ? "not-isolated" : "not-a-pod" },
    ingress: { kind: probe.to.endpoint.kind === "pod" ? "not-isolated" : "not-a-pod" },
  };
}

type AnyPolicy = NetworkPolicy | NetworkPolicyManifest;

/**
 * Judges policy sets over one model, remembering verdicts across sets. A probe's verdict depends
 * only on the policies isolating its source for egress and its destination for ingress, and a
 * rollout stage changes few of those: across the 65 stages most probes meet the same policies
 * again, so each distinct (source, destination, deciding policies) asks the analyzer once.
 */
export class ConnectivityEvaluator {
  /** Probes of one (source, destination) pair share their deciding policies: key and cache per pair. */
  private readonly pairs: (readonly FlashProbe[])[] = [];
  private readonly verdictCache = new Map<string, readonly boolean[]>();
  private readonly policyIds = new Map<string, number>();
  /** Whole reports by policy set (content ids in order): a plan whose current stage is its target judges it once. */
  private readonly reports = new Map<string, ConnectivityReport>();

  constructor(
    readonly model: FlashModel,
    readonly options: EnforcerOptions = {},
  ) {
    let current: FlashProbe[] = [];
    for (const probe of model.probes) {
      const previous = current[0];
      if (previous === undefined || previous.from !== probe.from || previous.to !== probe.to) {
        current = [];
        this.pairs.push(current);
      }
      current.push(probe);
    }
  }

  evaluate(policies: readonly AnyPolicy[]): ConnectivityReport {
    // Same policies in the same order (explanations list policies in that order): same report.
    const setKey = policies.map((policy) => this.contentId(policy)).join(",");
    let report = this.reports.get(setKey);
    if (report === undefined) {
      report = this.evaluateNew(policies);
      this.reports.set(setKey, report);
    }
    return report;
  }

  private evaluateNew(policies: readonly AnyPolicy[]): ConnectivityReport {
    const judge = judgeFor(this.model, policies, this.options);
    const idOf = new Map(
      policies.map((policy) => [
        `${policy.metadata.namespace}/${policy.metadata.name}`,
        this.contentId(policy),
      ]),
    );
    const decidingKeys = new Map<Endpoint, Record<Direction, string>>();
    const decidingKey = (endpoint: Endpoint, direction: Direction): string => {
      if (endpoint.kind !== "pod") return "";
      let keys = decidingKeys.get(endpoint);
      if (keys === undefined) {
        const keyFor = (side: Direction) =>
          judge
            .decidingPolicies(endpoint, side)
            .map((key) => idOf.get(key))
            .join(",");
        keys = { ingress: keyFor("ingress"), egress: keyFor("egress") };
        decidingKeys.set(endpoint, keys);
      }
      return keys[direction];
    };
    const verdicts: ProbeVerdict[] = [];
    const outages: Outage[] = [];
    const exposures: Exposure[] = [];
    this.pairs.forEach((probes, pairIndex) => {
      const egressKey = decidingKey(probes[0].from.endpoint, "egress");
      const ingressKey = decidingKey(probes[0].to.endpoint, "ingress");
      const cacheKey = `${pairIndex}|${egressKey}|${ingressKey}`;
      let allowedPerProbe = this.verdictCache.get(cacheKey);
      if (allowedPerProbe === undefined) {
        allowedPerProbe = probes.map((probe) => judge.isAllowed(probe));
        this.verdictCache.set(cacheKey, allowedPerProbe);
      }
      // Allowed with an isolated side means that side's rules admitted it: worth naming the rule.
      // With none, the answer is known without asking: nothing polices this pair yet (upstream; on
      // EKS the node allowance still needs naming, so ask).
      const policed = egressKey !== "" || ingressKey !== "" || this.options.enforcer === "eks-vpc-cni";
      probes.forEach((probe, index) => {
        const allowed = allowedPerProbe[index];
        verdicts.push({ probe, allowed });
        const intended = probe.intendedBy.length > 0;
        // Explaining walks every rule again; only disagreements need it.
        if (intended && !allowed) outages.push({ probe, explanation: judge.explain(probe) });
        if (!intended && allowed) {
          const explanation = policed ? judge.explain(probe) : unpolicedExplanation(probe);
          exposures.push({ probe, explanation, admittedBy: admittingRules(explanation) });
        }
      });
    });
    return { verdicts, outages, exposures };
  }

  /**
   * The outages of a policy set alone, as `evaluate(policies).outages` lists them: an outage is an
   * intended probe blocked, so only the probes some flow intends are judged.
   */
  outages(policies: readonly AnyPolicy[]): Outage[] {
    const judge = judgeFor(this.model, policies, this.options);
    return this.model.probes
      .filter((probe) => probe.intendedBy.length > 0 && !judge.isAllowed(probe))
      .map((probe) => ({ probe, explanation: judge.explain(probe) }));
  }

  /** Same content, same id, whichever stage rendered the policy. */
  private contentId(policy: AnyPolicy): number {
    const content = JSON.stringify(policy);
    let id = this.policyIds.get(content);
    if (id === undefined) {
      id = this.policyIds.size;
      this.policyIds.set(content, id);
    }
    return id;
  }
}

export function evaluateConnectivity(
  model: FlashModel,
  policies: readonly AnyPolicy[],
  options: EnforcerOptions = {},
): ConnectivityReport {
  return new ConnectivityEvaluator(model, options).evaluate(policies);
}

export function isPolicedExposure(exposure: Exposure): boolean {
  return exposure.admittedBy.length > 0;
}

export function describeProbe(probe: FlashProbe): string {
  return `${probe.from.name} -> ${probe.to.name} ${probe.port}/${probe.protocol}`;
}

function describeRule(rule: RuleReference): string {
  return `${rule.policy} ${rule.direction}[${rule.ruleIndex}]`;
}

/** "flash-gateway -> redis 6379/TCP (flow flash-gateway -> redis: sessions and rate limits) is blocked: ..." */
export function describeOutage(outage: Outage): string {
  const flows = outage.probe.intendedBy.map((flow) => `${flow.name}: ${flow.purpose}`).join("; ");
  const sides = [outage.explanation.egress, outage.explanation.ingress]
    .map((verdict, index) =>
      verdict.kind === "denied"
        ? `${index === 0 ? "egress" : "ingress"} denied by isolation (${verdict.isolatedBy.join(", ")})`
        : undefined,
    )
    .filter((text): text is string => text !== undefined);
  return `outage: ${describeProbe(outage.probe)} is blocked, but flow ${flows} needs it; ${sides.join(" and ")}`;
}

export function describeExposure(exposure: Exposure): string {
  const cause =
    exposure.admittedBy.length > 0
      ? `admitted by ${exposure.admittedBy.map(describeRule).join(", ")}`
      : "no policy isolates either side yet";
  return `exposure: ${describeProbe(exposure.probe)} is allowed but no flow of the table declares it (${cause})`;
}
