/**
 * The policy pack's two costs, each beside its target: start-up (process start to port printed)
 * against an empty pack on the same @pulumi/policy, measured in the same run; and 1,000
 * NetworkPolicies through Analyze + AnalyzeStack as a preview sends them, with where the time goes
 * (the pack's CPU, this process's marshalling and gRPC, waiting).
 */
import * as fs from "node:fs";
import { parseAllDocuments } from "yaml";
import * as os from "node:os";
import * as path from "node:path";
import type { AnalyzedResource } from "../offline/analyzerWire";
import { POLICY_PACK_DIR, PolicyHarness } from "../offline/policyHarness";
import { ensurePolicyPackBuilt, startPolicyPackProcess } from "../offline/policyPackProcess";
import { networkPolicyResource } from "../offline/policyResources";

const RESOURCE_COUNT = 1_000;

/** Realistic shapes: per-service ingress/egress policies across 100 namespaces, each with its default deny. */
export function benchResources(count: number): AnalyzedResource[] {
  const resources: AnalyzedResource[] = [];
  for (let index = 0; resources.length < count; index++) {
    const namespace = `bench-${Math.floor(index / 10)}`;
    const name =
      index % 10 === 0 ? "default-deny-all" : `svc-${index}-${index % 2 === 0 ? "ingress" : "egress"}`;
    const spec =
      index % 10 === 0
        ? { podSelector: {}, policyTypes: ["Ingress", "Egress"] }
        : index % 2 === 0
          ? {
              podSelector: { matchLabels: { app: `svc-${index}` } },
              policyTypes: ["Ingress"],
              ingress: [
                {
                  from: [{ podSelector: { matchLabels: { app: `svc-${index - 1}` } } }],
                  ports: [{ protocol: "TCP", port: 8080 }],
                },
              ],
            }
          : {
              podSelector: { matchLabels: { app: `svc-${index}` } },
              policyTypes: ["Egress"],
              egress: [
                {
                  to: [
                    {
                      ipBlock: {
                        cidr: "0.0.0.0/0",
                        except: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"],
                      },
                    },
                  ],
                  ports: [{ protocol: "TCP", port: 443 }],
                },
                {
                  to: [{ ipBlock: { cidr: `10.20.${index % 250}.0/24` } }],
                  ports: [{ protocol: "TCP", port: 5432 }],
                },
              ],
            };
    const resource = networkPolicyResource(
      { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name, namespace }, spec },
      "bench",
      name,
    );
    resource.urn = `${resource.urn}-${index}`;
    resources.push(resource);
  }
  return resources;
}

const PROD_FULL_TARGET = path.join(__dirname, "..", "tests", "fixtures", "policies", "prod-full-target.yaml");
const START_RUNS = 5;
const START_TARGET_RATIO = 1.5;
const PER_RESOURCE_TARGET_MS = 1;
/** Issue 20: the pack's cost per resource within this factor of an empty pack's, same run. */
const PER_RESOURCE_TARGET_RATIO = 1.3;
const WARM_UP_RESOURCES = 50;
/** Timed previews per pack, interleaved; the median is printed. */
const PREVIEW_ROUNDS = 3;

/** A pack directory beside ours, on the same installed @pulumi/policy, whose index.js is `main`. */
function scratchPack(name: string, indexJs: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `flash-netpol-${name}-`));
  fs.symlinkSync(path.join(POLICY_PACK_DIR, "..", "node_modules"), path.join(dir, "node_modules"));
  fs.writeFileSync(
    path.join(dir, "package.json"),
    JSON.stringify({ name, version: "0.0.1", main: "index.js" }),
  );
  fs.writeFileSync(path.join(dir, "PulumiPolicy.yaml"), `runtime: nodejs\nname: ${name}\nversion: 0.0.1\n`);
  fs.writeFileSync(path.join(dir, "index.js"), indexJs);
  return dir;
}

/** A pack with one no-op rule on the same @pulumi/policy: the floor any pack's start-up stands on. */
function emptyPack(): string {
  return scratchPack(
    "empty-pack",
    'const { PolicyPack } = require("@pulumi/policy");\n' +
      'new PolicyPack("empty-pack", { policies: [{ name: "noop", description: "no-op", ' +
      'enforcementLevel: "advisory", validateResource: () => undefined }] });\n',
  );
}

/**
 * Our pack's rules (names, config schemas, levels) with every validation a no-op: what
 * @pulumi/policy itself spends on a pack of this shape. Its server deserialises the resource and
 * wraps it in a new proxy for every resource rule it calls, and every resource for every stack rule
 * (server.js:255-256, 351-352), before any rule code runs.
 */
function sameShapeNoOpPack(): string {
  const rules = path.join(POLICY_PACK_DIR, "bin", "policies", "rules", "index.js");
  return scratchPack(
    "same-shape-no-op-pack",
    'const { PolicyPack } = require("@pulumi/policy");\n' +
      `const { RULES, PACK_ENFORCEMENT_LEVEL } = require(${JSON.stringify(rules)});\n` +
      "const noOp = () => undefined;\n" +
      "const policies = RULES.map((rule) => ({ ...rule,\n" +
      '  ...("validateResource" in rule ? { validateResource: noOp } : {}),\n' +
      '  ...("validateStack" in rule ? { validateStack: noOp } : {}) }));\n' +
      'new PolicyPack("same-shape-no-op-pack", { policies, enforcementLevel: PACK_ENFORCEMENT_LEVEL });\n',
  );
}

async function startUpMs(packDir: string): Promise<number> {
  const started = process.hrtime.bigint();
  const pack = await startPolicyPackProcess(packDir, "127.0.0.1:1", { ...process.env });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  pack.child.kill("SIGKILL");
  return ms;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** utime + stime of a process, in ms (Linux /proc; undefined elsewhere). */
function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

export async function runPolicyPackBench(print: (line: string) => void): Promise<void> {
  await ensurePolicyPackBuilt(POLICY_PACK_DIR);
  const empty = emptyPack();
  const oursStart: number[] = [];
  const floorStart: number[] = [];
  for (let run = 0; run < START_RUNS; run++) {
    floorStart.push(await startUpMs(empty));
    oursStart.push(await startUpMs(POLICY_PACK_DIR));
  }
  fs.rmSync(empty, { recursive: true, force: true });
  const ratio = median(oursStart) / median(floorStart);
  print(`policy pack start-up (process start to port printed), median of ${START_RUNS}:`);
  print(`  empty pack (one no-op rule): ${median(floorStart).toFixed(0)} ms`);
  print(`  flash-netpol pack (compiled): ${median(oursStart).toFixed(0)} ms`);
  print(
    `  target: within ${START_TARGET_RATIO}x the empty pack: ${ratio.toFixed(2)}x, ${ratio <= START_TARGET_RATIO ? "met" : "NOT met"}`,
  );

  await measurePerResource(
    print,
    "1,000 NetworkPolicies of mixed shapes across 100 namespaces, many breaking prod's rules on purpose",
    benchResources(RESOURCE_COUNT),
  );
  await measurePerResource(
    print,
    "prod's own full target (tests/fixtures/policies), repeated to 1,000 NetworkPolicies: the shape a passing preview sends",
    programShapedResources(RESOURCE_COUNT),
  );
}

/**
 * The program's own policies as a preview of prod sends them (its full target, rendered by the plan
 * into tests/fixtures/policies), repeated under new names: every rule passes, so no verdict's
 * marshalling is in the figure, and the resources are as large as the program's.
 */
export function programShapedResources(count: number): AnalyzedResource[] {
  const target = parseAllDocuments(fs.readFileSync(PROD_FULL_TARGET, "utf8"))
    .map((document) => document.toJS() as { metadata: { name: string } } | null)
    .filter((policy): policy is { metadata: { name: string } } => policy !== null);
  return Array.from({ length: count }, (_, index) => {
    const policy = structuredClone(target[index % target.length]!);
    policy.metadata.name = `${policy.metadata.name}-${index}`;
    return networkPolicyResource(policy, "prod", policy.metadata.name);
  });
}

async function measurePerResource(
  print: (line: string) => void,
  shape: string,
  resources: AnalyzedResource[],
): Promise<void> {
  const floorPack = emptyPack();
  const twinPack = sameShapeNoOpPack();
  // Prod's stack and pack config for all three (the empty pack reconciles prod's config to nothing).
  const packs = [
    { label: "ours", start: () => PolicyHarness.start({ stack: "prod" }) },
    {
      label: "empty",
      start: () => PolicyHarness.start({ stack: "prod", packDir: floorPack, packConfig: new Map() }),
    },
    { label: "twin", start: () => PolicyHarness.start({ stack: "prod", packDir: twinPack }) },
  ] as const;
  const harnesses = new Map<string, PolicyHarness>();
  const costs = new Map<string, PreviewCost[]>(packs.map(({ label }) => [label, []]));
  try {
    for (const { label, start } of packs) {
      const harness = await start();
      harnesses.set(label, harness);
      await harness.preview(resources.slice(0, WARM_UP_RESOURCES)); // warm both processes' code paths
    }
    // Interleaved rounds, so a burst of load on the shared machine falls on every pack alike.
    for (let round = 0; round < PREVIEW_ROUNDS; round++) {
      for (const { label } of packs)
        costs.get(label)!.push(await previewCost(harnesses.get(label)!, resources));
    }
  } finally {
    for (const harness of harnesses.values()) await harness.close();
    fs.rmSync(floorPack, { recursive: true, force: true });
    fs.rmSync(twinPack, { recursive: true, force: true });
  }
  const ours = medianCost(costs.get("ours")!);
  const floor = medianCost(costs.get("empty")!);
  const twin = medianCost(costs.get("twin")!);
  const perResource = (cost: PreviewCost) => cost.wallMs / RESOURCE_COUNT;
  const packCpu = (cost: PreviewCost) =>
    cost.packCpuMs === undefined ? "n/a" : `${(cost.packCpuMs / RESOURCE_COUNT).toFixed(2)} ms`;
  const describe = (cost: PreviewCost) =>
    `${perResource(cost).toFixed(2)} ms per resource (wall); per resource: pack process CPU ${packCpu(cost)}, ` +
    `this process (the engine's part: marshalling, gRPC client) ${(cost.ownCpuMs / RESOURCE_COUNT).toFixed(2)} ms`;
  print(`policy pack, ${shape}:`);
  print(
    `  ${RESOURCE_COUNT} NetworkPolicies through Analyze each + AnalyzeStack, as a preview sends them ` +
      `(median of ${PREVIEW_ROUNDS} interleaved rounds per pack, each after a ${WARM_UP_RESOURCES}-resource warm-up; load average ${os.loadavg()[0]!.toFixed(1)}):`,
  );
  print(`  flash-netpol pack (prod pack config, ${ours.verdicts} verdicts): ${describe(ours)}`);
  print(`  empty pack (one no-op rule; @pulumi/policy's deserialising and gRPC alone): ${describe(floor)}`);
  print(`  our rules as no-ops (same names and configs; @pulumi/policy's cost per rule): ${describe(twin)}`);
  if (ours.packCpuMs !== undefined && floor.packCpuMs !== undefined && twin.packCpuMs !== undefined)
    print(
      `  pack CPU per resource above the empty pack: ${((ours.packCpuMs - floor.packCpuMs) / RESOURCE_COUNT).toFixed(2)} ms = ` +
        `@pulumi/policy's per-rule deserialising and proxies ${((twin.packCpuMs - floor.packCpuMs) / RESOURCE_COUNT).toFixed(2)} ms ` +
        `+ our rules' own code and verdicts ${((ours.packCpuMs - twin.packCpuMs) / RESOURCE_COUNT).toFixed(2)} ms`,
    );
  print(
    `  target: ${PER_RESOURCE_TARGET_MS} ms per resource or less (wall): ${perResource(ours) <= PER_RESOURCE_TARGET_MS ? "met" : "NOT met"}`,
  );
  const costRatio = perResource(ours) / perResource(floor);
  // CPU of both processes: what a preview costs the machine, less swayed by other load than wall time.
  const cpuOf = (cost: PreviewCost) =>
    cost.packCpuMs === undefined ? undefined : (cost.packCpuMs + cost.ownCpuMs) / RESOURCE_COUNT;
  const [oursCpu, floorCpu, twinCpu] = [cpuOf(ours), cpuOf(floor), cpuOf(twin)];
  if (oursCpu !== undefined && floorCpu !== undefined && twinCpu !== undefined)
    print(
      `  CPU per resource, pack + engine side: ${oursCpu.toFixed(2)} ms against the empty pack's ${floorCpu.toFixed(2)} ms, ` +
        `${(oursCpu / floorCpu).toFixed(2)}x (our rules as no-ops: ${(twinCpu / floorCpu).toFixed(2)}x)`,
    );
  print(
    `  target: within ${PER_RESOURCE_TARGET_RATIO}x the empty pack per resource: ${costRatio.toFixed(2)}x, ${costRatio <= PER_RESOURCE_TARGET_RATIO ? "met" : "NOT met"} ` +
      `(the same rules as no-ops alone: ${(perResource(twin) / perResource(floor)).toFixed(2)}x)`,
  );
}

/** The round with the median wall time (its CPU figures with it, so they stay one measurement). */
function medianCost(costs: readonly PreviewCost[]): PreviewCost {
  return [...costs].sort((a, b) => a.wallMs - b.wallMs)[Math.floor(costs.length / 2)]!;
}

interface PreviewCost {
  wallMs: number;
  packCpuMs?: number;
  ownCpuMs: number;
  verdicts: number;
}

/** One preview of the resources, timed from this side, with both processes' CPU. */
async function previewCost(harness: PolicyHarness, resources: AnalyzedResource[]): Promise<PreviewCost> {
  const packBefore = processCpuMs(harness.pid);
  const ownBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  const verdicts = await harness.preview(resources);
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const own = process.cpuUsage(ownBefore);
  const packAfter = processCpuMs(harness.pid);
  return {
    wallMs,
    packCpuMs: packBefore === undefined || packAfter === undefined ? undefined : packAfter - packBefore,
    ownCpuMs: (own.user + own.system) / 1000,
    verdicts: verdicts.length,
  };
}
