/**
 * The policy pack's two costs, each beside its target: start-up (process start to port printed)
 * against an empty pack on the same @pulumi/policy, measured in the same run; and 1,000
 * NetworkPolicies through Analyze + AnalyzeStack as a preview sends them, with where the time goes
 * (the pack's CPU, this process's marshalling and gRPC, waiting).
 */
import * as fs from "node:fs";
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

const START_RUNS = 5;
const START_TARGET_RATIO = 1.5;
const PER_RESOURCE_TARGET_MS = 1;

/** A pack with one no-op rule on the same @pulumi/policy: the floor any pack's start-up stands on. */
function emptyPack(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flash-netpol-empty-pack-"));
  fs.symlinkSync(path.join(POLICY_PACK_DIR, "..", "node_modules"), path.join(dir, "node_modules"));
  fs.writeFileSync(
    path.join(dir, "package.json"),
    JSON.stringify({ name: "empty-pack", version: "0.0.1", main: "index.js" }),
  );
  fs.writeFileSync(
    path.join(dir, "PulumiPolicy.yaml"),
    "runtime: nodejs\nname: empty-pack\nversion: 0.0.1\n",
  );
  fs.writeFileSync(
    path.join(dir, "index.js"),
    'const { PolicyPack } = require("@pulumi/policy");\n' +
      'new PolicyPack("empty-pack", { policies: [{ name: "noop", description: "no-op", ' +
      'enforcementLevel: "advisory", validateResource: () => undefined }] });\n',
  );
  return dir;
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
  const ours: number[] = [];
  const floor: number[] = [];
  for (let run = 0; run < START_RUNS; run++) {
    floor.push(await startUpMs(empty));
    ours.push(await startUpMs(POLICY_PACK_DIR));
  }
  fs.rmSync(empty, { recursive: true, force: true });
  const ratio = median(ours) / median(floor);
  print(`policy pack start-up (process start to port printed), median of ${START_RUNS}:`);
  print(`  empty pack (one no-op rule): ${median(floor).toFixed(0)} ms`);
  print(`  flash-netpol pack (compiled): ${median(ours).toFixed(0)} ms`);
  print(
    `  target: within ${START_TARGET_RATIO}x the empty pack: ${ratio.toFixed(2)}x, ${ratio <= START_TARGET_RATIO ? "met" : "NOT met"}`,
  );

  const resources = benchResources(RESOURCE_COUNT);
  const harness = await PolicyHarness.start({ stack: "prod" });
  try {
    await harness.preview(resources.slice(0, 50)); // warm both processes' code paths
    const packBefore = processCpuMs(harness.pid);
    const ownBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    const verdicts = await harness.preview(resources);
    const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
    const own = process.cpuUsage(ownBefore);
    const packAfter = processCpuMs(harness.pid);
    const perResource = wallMs / RESOURCE_COUNT;
    print(
      `policy pack: ${RESOURCE_COUNT} NetworkPolicies through Analyze each + AnalyzeStack (prod pack config):`,
    );
    print(
      `  wall: ${wallMs.toFixed(0)} ms, ${perResource.toFixed(2)} ms per resource, ${verdicts.length} verdicts`,
    );
    if (packBefore !== undefined && packAfter !== undefined)
      print(
        `  where it goes: pack process CPU ${(packAfter - packBefore).toFixed(0)} ms (deserialising and rules)`,
      );
    print(
      `                 this process CPU ${((own.user + own.system) / 1000).toFixed(0)} ms (marshalling, gRPC client); ` +
        `the rest is waiting on the other process or the machine`,
    );
    print(
      `  target: ${PER_RESOURCE_TARGET_MS} ms per resource or less: ${perResource <= PER_RESOURCE_TARGET_MS ? "met" : "NOT met"}`,
    );
  } finally {
    await harness.close();
  }
}
