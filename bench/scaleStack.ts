/**
 * A flash-netpol stack of any size, as data only (docs/extending.md: adding a service is config):
 * the dev stack file with the project's three services plus `count - 3` more, and about 4.5 flows
 * per service, every flag enforced. Used by `npm run bench`'s scale table and by the proofs' scale
 * tests (tests/analyzer/flash.scale.test.ts), written to a temporary directory, never to the project root.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { PROJECT_ROOT } from "../offline/stackConfig";

export interface ScaleStackOptions {
  /**
   * The overlap fault: svc-02 wears svc-01's labels plus one of its own, so svc-01's ingress policy
   * selects svc-02's pod too and cuts svc-01 -> svc-02 whenever it is enforced before svc-02's.
   */
  readonly overlapFault?: boolean;
}

type FlowEntry = { from: string; to: string; purpose: string };

const STORES = ["redis", "postgres", "mq"] as const;

export function extraServiceName(index: number): string {
  return `svc-${String(index).padStart(2, "0")}`;
}

/** The services and flows of a stack with `count` services (at least the project's three). */
export function scaleServicesAndFlows(
  count: number,
  options: ScaleStackOptions = {},
): { services: Record<string, { podLabels: Record<string, string>; port: number }>; flows: FlowEntry[] } {
  const project = YAML.parse(fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.yaml"), "utf8")) as {
    config: Record<string, { value: unknown }>;
  };
  const services = {
    ...(project.config["flash-netpol:services"].value as Record<
      string,
      { podLabels: Record<string, string>; port: number }
    >),
  };
  const flows = [...(project.config["flash-netpol:flows"].value as FlowEntry[])];
  const extra = count - Object.keys(services).length;
  if (extra < 0) throw new Error(`a scale stack has at least ${Object.keys(services).length} services`);
  const next = (index: number) => extraServiceName((index % extra) + 1);
  for (let index = 1; index <= extra; index++) {
    const name = extraServiceName(index);
    services[name] = { podLabels: { app: name }, port: 5000 + index };
    flows.push({ from: name, to: "dns", purpose: "name resolution" });
    flows.push({ from: name, to: STORES[index % STORES.length], purpose: "its data" });
    if (extra > 1) flows.push({ from: name, to: next(index), purpose: "calls the next service" });
    if (extra > 6 && index % 2 === 0)
      flows.push({ from: name, to: next(index + 6), purpose: "calls a service further on" });
    if (index % 4 === 0) flows.push({ from: "alb", to: name, purpose: "public traffic" });
    if (index % 5 === 0) flows.push({ from: name, to: "payment-api", purpose: "charges cards" });
    if (index % 3 === 0) flows.push({ from: "flash-api", to: name, purpose: "the API calls it" });
    if (index % 4 === 1) flows.push({ from: "flash-gateway", to: name, purpose: "the gateway routes to it" });
  }
  if (options.overlapFault === true) {
    if (extra < 2) throw new Error("the overlap fault needs at least two extra services (count >= 5)");
    services[extraServiceName(2)] = {
      podLabels: { app: extraServiceName(1), variant: extraServiceName(2) },
      port: services[extraServiceName(2)].port,
    };
  }
  return { services, flows };
}

export interface ScaleStackFiles {
  /** Pulumi.dev.yaml with the services (plan it with `--stack dev --config-file`). */
  readonly stackFile: string;
  /** policies/config/dev.json with public-ingress.albTargets naming every service the ALB reaches. */
  readonly packConfig: string;
}

/** The dev pack config, its ALB targets widened to the services the scale stack's ALB flows reach. */
function writeScalePackConfig(
  dir: string,
  services: ReturnType<typeof scaleServicesAndFlows>["services"],
  flows: readonly FlowEntry[],
): string {
  const config = JSON.parse(
    fs.readFileSync(path.join(PROJECT_ROOT, "policies", "config", "dev.json"), "utf8"),
  ) as Record<string, Record<string, unknown>>;
  const namespace = "flash-ticket";
  config["public-ingress"].albTargets = flows
    .filter((flow) => flow.from === "alb")
    .map((flow) => ({ namespace, podLabels: services[flow.to].podLabels, port: services[flow.to].port }));
  const file = path.join(dir, "dev.json");
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

/** Writes Pulumi.dev.yaml with `count` services, and its pack config, into `dir`. */
export function writeScaleStack(
  dir: string,
  count: number,
  options: ScaleStackOptions = {},
): ScaleStackFiles {
  const stack = YAML.parse(fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.dev.yaml"), "utf8")) as {
    config: Record<string, unknown>;
  };
  const { services, flows } = scaleServicesAndFlows(count, options);
  stack.config["flash-netpol:services"] = services;
  stack.config["flash-netpol:flows"] = flows;
  stack.config["flash-netpol:rollout"] = {
    defaultDeny: "enforce",
    services: Object.fromEntries(
      Object.keys(services).map((name) => [name, { ingress: "enforce", egress: "enforce" }]),
    ),
  };
  const stackFile = path.join(dir, "Pulumi.dev.yaml");
  fs.writeFileSync(stackFile, YAML.stringify(stack));
  return { stackFile, packConfig: writeScalePackConfig(dir, services, flows) };
}

// `npx ts-node --transpile-only bench/scaleStack.ts DIR COUNT [--overlap-fault]`: write one to look at or plan.
if (require.main === module) {
  const [dir, count, fault] = process.argv.slice(2);
  if (dir === undefined || !/^\d+$/.test(count ?? ""))
    throw new Error("usage: bench/scaleStack.ts DIR COUNT [--overlap-fault]");
  const files = writeScaleStack(dir, Number(count), { overlapFault: fault === "--overlap-fault" });
  console.log(`${files.stackFile}\n${files.packConfig}`);
}
