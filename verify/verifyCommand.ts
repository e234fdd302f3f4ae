/**
 * `npm run verify`: argument parsing and the flow plan -> (dry run | live run -> comparison).
 * Process wiring (signals, exit) stays in cli/verify.ts, so tests drive this with a fake kubectl.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { serviceNameSchema, type ServiceName } from "../core/flowTable";
import { PlanFailure } from "../offline/planReport";
import { PROJECT_ROOT } from "../offline/stackConfig";
import { listStacks } from "../offline/stacks";
import type { CommandRunner } from "./commandRunner";
import { EXIT_CLUSTER_ERROR, compareOutcomes, comparisonJson, exitCodeOf, renderComparison } from "./compare";
import { recordedClusterView } from "./clusterView";
import { dryRunJson, renderDryRun } from "./dryRun";
import {
  ANY_RUN_SELECTOR,
  DEFAULT_PROBE_IMAGE,
  PROBE_METHODS,
  deletePodsArgs,
  withContext,
  type KubectlSettings,
  type ProbeMethod,
} from "./kubectl";
import { ClusterError, runLive, type LiveRunResult } from "./liveRun";
import { DEBUG_PROFILES, type DebugProfile } from "./podSecurity";
import { describeKubectlFailure } from "./probeOutput";
import { KUBE_DNS_NAMESPACE } from "../core/networkPolicies";
import type { ProbePlan } from "./probe";
import { probePlanForStack } from "./stackPlan";
import { ExpectationError } from "./stageMatrix";

export const DEFAULT_PAYMENT_HOST = "https://api.stripe.com";
export const EXIT_INTERRUPTED = 130;
const FORMATS = ["text", "json"] as const;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export interface VerifyDependencies {
  /** Builds the kubectl runner for the binary `--kubectl` names. */
  readonly runnerFor: (kubectlBinary: string) => CommandRunner;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly signal?: AbortSignal;
  /** Names this run's probe pods; random unless a test fixes it. */
  readonly runId?: string;
  /** Between polls of an ephemeral container's state. */
  readonly pollIntervalMs?: number;
  /** Replaces --enforcement-timeout (tests). */
  readonly enforcementTimeoutSeconds?: number;
}

interface VerifyFlags {
  stack: string;
  configFile?: string;
  format: (typeof FORMATS)[number];
  dryRun?: boolean;
  method: ProbeMethod;
  paymentHost: string;
  otherNamespace: string | false;
  context?: string;
  kubectl: string;
  image?: string;
  probeImage?: string;
  debugProfile: DebugProfile | "auto";
  cleanup?: boolean;
  enforcementTimeout: number;
  container: Partial<Record<ServiceName, string>>;
  probeTimeout: number;
  timeout: number;
}

function seconds(minimum: number, maximum: number) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < minimum || parsed > maximum) {
      throw new InvalidArgumentError(`a whole number of seconds from ${minimum} to ${maximum}`);
    }
    return parsed;
  };
}

// The service names come from the stack's config: they are checked once the plan is built.
function containerPair(value: string, previous: Partial<Record<ServiceName, string>>) {
  const [service, container] = value.split("=", 2);
  if (
    !serviceNameSchema.safeParse(service).success ||
    container === undefined ||
    !DNS_LABEL.test(container)
  ) {
    throw new InvalidArgumentError("SERVICE=CONTAINER with SERVICE a service of flash-netpol:services");
  }
  return { ...previous, [service]: container };
}

function namespaceName(value: string): string {
  if (!DNS_LABEL.test(value)) throw new InvalidArgumentError("a namespace name (DNS-1123 label)");
  return value;
}

/** The flags to run with, or the exit code when parsing ended the command (`--help`: 0, bad usage: 2). */
function parseFlags(
  argv: readonly string[],
  deps: VerifyDependencies,
): VerifyFlags | { readonly exitCode: number } {
  const program = new Command()
    .name("npm run verify --")
    .description(
      "Live verification: probe the flow table (and blocked connections of the matrix) in the cluster of the current kubectl context, expected vs observed",
    )
    .requiredOption(
      "--stack <name>",
      "stack whose plan gives the probes and expectations (Pulumi.<name>.yaml)",
    )
    .option(
      "--config-file <file>",
      "the stack's config file instead of Pulumi.<stack>.yaml (as pulumi --config-file); project config still comes from Pulumi.yaml",
    )
    .addOption(new Option("--format <format>", "output format").choices(FORMATS).default("text"))
    .option("--dry-run", "print the probe plan and the exact kubectl commands; run nothing (works offline)")
    .addOption(
      new Option(
        "--method <method>",
        "debug: an ephemeral busybox container in each service pod; exec: the app image's own nc/nslookup",
      )
        .choices(PROBE_METHODS)
        .default("debug"),
    )
    .option(
      "--payment-host <url>",
      "the payment provider to probe on its configured ports",
      DEFAULT_PAYMENT_HOST,
    )
    .option(
      "--other-namespace <namespace>",
      "namespace for the look-alike probe pod",
      namespaceName,
      "default",
    )
    .option("--no-other-namespace", "skip the look-alike probe pod in another namespace")
    .option("--context <name>", "kubectl context to use instead of the current one")
    .option("--kubectl <path>", "kubectl binary", "kubectl")
    .option(
      "--probe-image <image>",
      `probe image (nc with -z, nslookup); default: the stack's probeImage, else ${DEFAULT_PROBE_IMAGE}`,
    )
    .option("--image <image>", "the same as --probe-image (older name)")
    .addOption(
      new Option(
        "--debug-profile <profile>",
        "kubectl debug --profile for the probe container; auto: what the namespace's PodSecurity level admits",
      )
        .choices(DEBUG_PROFILES)
        .default("auto"),
    )
    .option(
      "--cleanup",
      "delete the probe pods every earlier run left behind (label flash-netpol/probe=true), probe nothing",
    )
    .option(
      "--container <service=container>",
      "the app container of a service (exec: -c; debug: --target); repeatable",
      containerPair,
      {},
    )
    .option(
      "--probe-timeout <seconds>",
      "how long nc/nslookup wait for an answer; kubectl gets this plus 10 s + 2x this (credentials, stream set-up)",
      seconds(1, 120),
      3,
    )
    .option(
      "--enforcement-timeout <seconds>",
      "how long a new probe pod may wait for the network policy agent to list it in PolicyEndpoints",
      seconds(5, 600),
      60,
    )
    .option(
      "--timeout <seconds>",
      "longest the whole run may take; the probe pods are deleted regardless",
      seconds(30, 3600),
      300,
    )
    .exitOverride()
    .configureOutput({ writeOut: deps.stdout, writeErr: deps.stderr });
  try {
    program.parse([...argv], { from: "user" });
  } catch (error) {
    // Commander has printed the help or the usage problem already.
    return { exitCode: error instanceof CommanderError && error.exitCode === 0 ? 0 : EXIT_CLUSTER_ERROR };
  }
  return program.opts<VerifyFlags>();
}

export async function runVerify(argv: readonly string[], deps: VerifyDependencies): Promise<number> {
  const flags = parseFlags(argv, deps);
  if ("exitCode" in flags) return flags.exitCode;
  const stackFile = flags.configFile ?? path.join(PROJECT_ROOT, `Pulumi.${flags.stack}.yaml`);
  if (!fs.existsSync(stackFile)) {
    deps.stderr(
      flags.configFile === undefined
        ? `verify: no stack file Pulumi.${flags.stack}.yaml at the project root (${listStacks().join(", ")}); add it, or name one with --config-file\n`
        : `verify: --config-file ${stackFile}: no such file\n`,
    );
    return EXIT_CLUSTER_ERROR;
  }
  if (flags.otherNamespace === KUBE_DNS_NAMESPACE) {
    // The look-alike wears kube-dns's labels: in kube-system it would BE DNS to the policies.
    deps.stderr(`verify: --other-namespace cannot be ${KUBE_DNS_NAMESPACE}\n`);
    return EXIT_CLUSTER_ERROR;
  }
  const otherNamespace = flags.otherNamespace === false ? undefined : flags.otherNamespace;
  let plan: ProbePlan;
  try {
    plan = await probePlanForStack(flags.stack, stackFile, {
      paymentHost: flags.paymentHost,
      otherNamespace,
    });
  } catch (error) {
    if (error instanceof ExpectationError || error instanceof PlanFailure) {
      deps.stderr(`verify: ${error.message}\n`);
      return EXIT_CLUSTER_ERROR;
    }
    throw error;
  }
  const services = plan.sources.flatMap((source) => (source.kind === "service" ? [source.service] : []));
  const unknownContainers = Object.keys(flags.container).filter((service) => !services.includes(service));
  if (unknownContainers.length > 0) {
    deps.stderr(
      `verify: --container ${unknownContainers.join(", ")}: not a service of flash-netpol:services in stack ${flags.stack}; expected one of ${services.join(", ")}\n`,
    );
    return EXIT_CLUSTER_ERROR;
  }
  if (otherNamespace === plan.namespace) {
    deps.stderr(`verify: --other-namespace must differ from the stack's namespace ${plan.namespace}\n`);
    return EXIT_CLUSTER_ERROR;
  }

  const runId = deps.runId ?? randomBytes(3).toString("hex");
  const settings: KubectlSettings = {
    context: flags.context,
    image: flags.probeImage ?? flags.image ?? plan.probeImage ?? DEFAULT_PROBE_IMAGE,
    method: flags.method,
    // `auto` is settled from the namespace's PodSecurity label (the live read, or the recorded one).
    debugProfile: flags.debugProfile,
    customProfileFile:
      flags.method === "debug" ? path.join(os.tmpdir(), `flash-netpol-verify-${runId}.json`) : undefined,
    containers: flags.container,
    runId,
    connectWaitSeconds: flags.probeTimeout,
    // Outlives the run a little, then ends on its own should cleanup never happen.
    sleepSeconds: flags.timeout + 60,
  };
  if (flags.cleanup) {
    const runner = deps.runnerFor(flags.kubectl);
    let failed = false;
    for (const namespace of [plan.namespace, ...(otherNamespace === undefined ? [] : [otherNamespace])]) {
      const result = await runner.run(withContext(settings, deletePodsArgs(namespace, ANY_RUN_SELECTOR)), {
        timeoutMs: 30_000,
      });
      if (result.exitCode === 0) {
        deps.stderr(`verify: ${namespace}: ${result.stdout.trim() || "no probe pods left"}\n`);
      } else {
        failed = true;
        deps.stderr(`verify: could not sweep ${namespace}: ${describeKubectlFailure(result)}\n`);
      }
    }
    return failed ? EXIT_CLUSTER_ERROR : 0;
  }
  if (flags.dryRun) {
    try {
      const recorded = recordedClusterView(PROJECT_ROOT, flags.stack);
      deps.stdout(
        flags.format === "json"
          ? `${JSON.stringify(dryRunJson(plan, settings, recorded), null, 2)}\n`
          : renderDryRun(plan, settings, recorded),
      );
    } catch (error) {
      if (error instanceof ClusterError) {
        deps.stderr(`verify: ${error.message}\n`);
        return EXIT_CLUSTER_ERROR;
      }
      throw error;
    }
    return 0;
  }

  let result: LiveRunResult;
  try {
    result = await runLive(plan, deps.runnerFor(flags.kubectl), {
      settings,
      debugProfile: flags.debugProfile,
      probeTimeoutSeconds: flags.probeTimeout,
      overallTimeoutSeconds: flags.timeout,
      enforcementTimeoutSeconds: deps.enforcementTimeoutSeconds ?? flags.enforcementTimeout,
      cluster: plan.cluster,
      signal: deps.signal,
      log: (line) => deps.stderr(`verify: ${line}\n`),
      pollIntervalMs: deps.pollIntervalMs,
    });
  } catch (error) {
    if (error instanceof ClusterError) {
      deps.stderr(`verify: ${error.message}\n`);
      return EXIT_CLUSTER_ERROR;
    }
    throw error;
  }
  const rows = compareOutcomes(result.outcomes);
  deps.stdout(
    flags.format === "json"
      ? `${JSON.stringify(comparisonJson(rows), null, 2)}\n`
      : renderComparison(rows, { stack: flags.stack, context: result.context, stage: plan.stage }),
  );
  if (deps.signal?.aborted) return EXIT_INTERRUPTED;
  return exitCodeOf(rows);
}
