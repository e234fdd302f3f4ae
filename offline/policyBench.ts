/**
 * Policy pack throughput: 1,000 NetworkPolicies through the gRPC harness, timed as a preview runs
 * them (Analyze for each, then one AnalyzeStack). Pack start-up (ts-node type-checks the pack) is
 * reported on its own line, so the per-resource figure is the steady-state cost.
 */
import type { AnalyzedResource } from "./analyzerWire";
import { PolicyHarness } from "./policyHarness";
import { networkPolicyResource } from "./policyResources";

const RESOURCE_COUNT = 1_000;

/** Realistic shapes: per-service ingress/egress policies across 100 namespaces, each with its default deny. */
function benchResources(count: number): AnalyzedResource[] {
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

export async function runPolicyPackBench(print: (line: string) => void): Promise<void> {
  const resources = benchResources(RESOURCE_COUNT);
  const started = process.hrtime.bigint();
  const harness = await PolicyHarness.start({ stack: "prod" });
  const ready = process.hrtime.bigint();
  try {
    const verdicts = await harness.preview(resources);
    const done = process.hrtime.bigint();
    const totalMs = Number(done - ready) / 1e6;
    print(
      `policy pack: start-up (process, ts-node, configure) ${(Number(ready - started) / 1e6).toFixed(0)} ms`,
    );
    print(
      `policy pack: ${RESOURCE_COUNT} NetworkPolicies (Analyze each + AnalyzeStack) in ${totalMs.toFixed(0)} ms, ` +
        `${((totalMs / RESOURCE_COUNT) * 1000).toFixed(0)} µs per resource, ${verdicts.length} verdicts`,
    );
  } finally {
    await harness.close();
  }
}

if (require.main === module) {
  runPolicyPackBench((line) => console.log(line)).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
