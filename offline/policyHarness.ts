/**
 * Runs the CrossGuard pack in policies/ the way the Pulumi engine runs it, without the CLI:
 *
 *  - start: `node <@pulumi/pulumi/cmd/run-policy-pack> <engine-address> .` with cwd = the pack
 *    directory and the PULUMI_* environment of a stack, which is what the CLI's nodejs policy
 *    analyzer (`pulumi-analyzer-policy`, pulumi/pulumi sdk/go/common/resource/plugin/analyzer_plugin.go
 *    NewPolicyAnalyzer + constructEnv) does; run-policy-pack registers ts-node (type-checking) itself,
 *    so the pack's TypeScript is compiled exactly as under `pulumi preview`;
 *  - read the port the pack prints on stdout and dial it with the generated Analyzer client;
 *  - Handshake (the nodejs pack does not implement it; the engine tolerates UNIMPLEMENTED, so do we),
 *    ConfigureStack, GetAnalyzerInfo, then Configure with the stack's pack config reconciled like the
 *    CLI (offline/policyPackConfig.ts);
 *  - Analyze each resource with provider-checked inputs and AnalyzerResourceOptions, then
 *    AnalyzeStack with all of them, as a preview does.
 *
 * The engine address argument points at a minimal fake Engine service served here: run-policy-pack
 * discards it today (logs go to the engine only when PULUMI_NODEJS_ENGINE is set, which the CLI does
 * not do for packs), but a live address keeps the harness correct if a later SDK starts logging.
 *
 * Verdicts name the resource as "<Kind> <namespace>/<name>" for namespaced Kubernetes objects,
 * "<Kind> <name>" for cluster-scoped ones, the URN for anything else, and "stack" for a stack
 * diagnostic without a resource.
 */
import type { ChildProcess } from "child_process";
import * as path from "path";
import * as grpc from "@grpc/grpc-js";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import type { Struct } from "google-protobuf/google/protobuf/struct_pb";
import * as analyzerRpc from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as analyzerProto from "@pulumi/pulumi/proto/analyzer_pb";
import * as engineRpc from "@pulumi/pulumi/proto/engine_grpc_pb";
import * as engineProto from "@pulumi/pulumi/proto/engine_pb";
import {
  describeResource,
  providerCheckedInputs,
  providerResource,
  resourceOptions,
  toStruct,
  type AnalyzedResource,
} from "./analyzerWire";
import {
  loadPolicyPackConfigFile,
  reconcilePolicyPackConfig,
  type EnforcementLevel,
  type JsonObject,
  type JsonValue,
  type PolicyPackConfig,
  type PolicySummary,
} from "./policyPackConfig";
import { PolicyHarnessError, startPolicyPackProcess } from "./policyPackProcess";
import { stackConfigOf } from "./stacks";

export { PolicyHarnessError };

export const REPO_ROOT = path.resolve(__dirname, "..");
export const POLICY_PACK_DIR = path.join(REPO_ROOT, "policies");
export const POLICY_PACK_CONFIG_DIR = path.join(POLICY_PACK_DIR, "config");

/** The pack config file `pulumi preview --policy-pack-config` gets for a stack (any stack with one). */
export function stackPackConfigPath(stack: string, projectRoot: string = REPO_ROOT): string {
  return path.join(projectRoot, "policies", "config", `${stack}.json`);
}

export interface PolicyVerdict {
  policy: string;
  level: EnforcementLevel;
  message: string;
  /** "<Kind> <namespace>/<name>", "<Kind> <name>", a URN, or "stack"; see the file comment. */
  resource: string;
}

export interface PolicyHarnessOptions {
  stack: string;
  /** Pack config: a parsed config, a file path, or (default) policies/config/<stack>.json. */
  packConfig?: PolicyPackConfig | string;
  packDir?: string;
  project?: string;
  organization?: string;
  /** Preview (default) or update; the pack sees it as PULUMI_DRY_RUN. */
  dryRun?: boolean;
  /**
   * Stack config as `pulumi config` holds it (fully qualified keys); sent as PULUMI_CONFIG and in
   * ConfigureStack. Defaults to the stack's own (Pulumi.<stack>.yaml over Pulumi.yaml), which the
   * CLI always sends: the pack derives the isolated workloads from its flow table.
   */
  stackConfig?: Record<string, string>;
  stackTags?: Record<string, string>;
  /** How long a start-up may take before it counts as hung (default DEFAULT_START_LIMIT_MS, minutes). */
  startTimeoutMs?: number;
}

export interface AnalyzerInfoSummary {
  name: string;
  version: string;
  supportsConfig: boolean;
  policies: PolicySummary[];
}

const LEVELS: Record<analyzerProto.EnforcementLevel, EnforcementLevel> = {
  [analyzerProto.EnforcementLevel.ADVISORY]: "advisory",
  [analyzerProto.EnforcementLevel.MANDATORY]: "mandatory",
  [analyzerProto.EnforcementLevel.DISABLED]: "disabled",
  [analyzerProto.EnforcementLevel.REMEDIATE]: "remediate",
};
const LEVEL_CODES: Record<EnforcementLevel, analyzerProto.EnforcementLevel> = {
  advisory: analyzerProto.EnforcementLevel.ADVISORY,
  mandatory: analyzerProto.EnforcementLevel.MANDATORY,
  disabled: analyzerProto.EnforcementLevel.DISABLED,
  remediate: analyzerProto.EnforcementLevel.REMEDIATE,
};

type Callback<Response> = (error: grpc.ServiceError | null, response: Response) => void;

/** One unary RPC as a promise; `invoke` passes the callback to the generated client method. */
function call<Response>(invoke: (callback: Callback<Response>) => grpc.ClientUnaryCall): Promise<Response> {
  return new Promise((resolve, reject) => {
    invoke((error, response) => (error === null ? resolve(response) : reject(error)));
  });
}

/** Serves the Engine RPCs a plugin may call; only `log` matters, and its messages are kept. */
async function startFakeEngine(logs: string[]): Promise<{ server: grpc.Server; address: string }> {
  const server = new grpc.Server();
  const empty = (_call: unknown, callback: grpc.sendUnaryData<Empty>) => callback(null, new Empty());
  const implementation: engineRpc.IEngineServer = {
    log: (logCall, callback) => {
      logs.push(logCall.request.getMessage());
      callback(null, new Empty());
    },
    getRootResource: (_call, callback) => callback(null, new engineProto.GetRootResourceResponse()),
    setRootResource: (_call, callback) => callback(null, new engineProto.SetRootResourceResponse()),
    startDebugging: empty,
    requirePulumiVersion: (_call, callback) => callback(null, new engineProto.RequirePulumiVersionResponse()),
  };
  server.addService(engineRpc.EngineService, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error === null ? resolve(bound) : reject(error),
    ),
  );
  return { server, address: `127.0.0.1:${port}` };
}

export class PolicyHarness {
  private readonly urnIndex = new Map<string, string>();
  /**
   * The engine runs the provider's Check once per resource and sends its result to Analyze and,
   * at the end, to AnalyzeStack: one checked copy (and its Struct) per resource object.
   */
  private readonly checked = new WeakMap<
    AnalyzedResource,
    { inputs: Record<string, unknown>; struct: Struct }
  >();
  private closed = false;

  private constructor(
    private readonly child: ChildProcess,
    private readonly client: analyzerRpc.AnalyzerClient,
    private readonly engine: grpc.Server,
    /** Everything the pack wrote on stderr and logged to the engine, for error messages. */
    private readonly diagnostics: { stderr: string[]; engineLogs: string[] },
    public readonly info: AnalyzerInfoSummary,
    private currentConfig: PolicyPackConfig,
  ) {}

  /** Starts the pack process, configures it for the stack, and returns a harness to analyze with. */
  static async start(options: PolicyHarnessOptions): Promise<PolicyHarness> {
    const packDir = options.packDir ?? POLICY_PACK_DIR;
    const project = options.project ?? "flash-netpol";
    const dryRun = options.dryRun ?? true;
    const engineLogs: string[] = [];
    const stderr: string[] = [];
    const engine = await startFakeEngine(engineLogs);
    const env: NodeJS.ProcessEnv = { ...process.env };
    const setEnv = (key: string, value: string | undefined) => {
      if (value !== undefined && value !== "") env[key] = value;
    };
    const stackConfig = options.stackConfig ?? stackConfigOf(options.stack);
    delete env.PULUMI_CONFIG;
    if (Object.keys(stackConfig).length > 0) setEnv("PULUMI_CONFIG", JSON.stringify(stackConfig));
    for (const prefix of ["PULUMI_NODEJS_", "PULUMI_"]) {
      setEnv(`${prefix}ORGANIZATION`, options.organization);
      setEnv(`${prefix}PROJECT`, project);
      setEnv(`${prefix}STACK`, options.stack);
      setEnv(`${prefix}DRY_RUN`, String(dryRun));
    }
    let child: ChildProcess | undefined;
    let client: analyzerRpc.AnalyzerClient | undefined;
    try {
      const started = await startPolicyPackProcess(packDir, engine.address, env, options.startTimeoutMs);
      child = started.child;
      const port = started.port;
      stderr.push(started.stderr());
      child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk.toString()));
      client = new analyzerRpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
        "grpc.max_receive_message_length": 400 * 1024 * 1024,
      });
      await PolicyHarness.handshake(client, packDir, engine.address);
      await PolicyHarness.configureStack(client, { ...options, stackConfig }, project, dryRun);
      const info = await PolicyHarness.analyzerInfo(client);
      const given =
        options.packConfig === undefined
          ? loadPolicyPackConfigFile(stackPackConfigPath(options.stack))
          : typeof options.packConfig === "string"
            ? loadPolicyPackConfigFile(options.packConfig)
            : options.packConfig;
      const config = reconcilePolicyPackConfig(info.policies, new Map(), given);
      const harness = new PolicyHarness(child, client, engine.server, { stderr, engineLogs }, info, config);
      await harness.sendConfigure(config);
      return harness;
    } catch (error) {
      client?.close();
      child?.kill("SIGKILL");
      engine.server.forceShutdown();
      throw error;
    }
  }

  private static async handshake(
    client: analyzerRpc.AnalyzerClient,
    packDir: string,
    engineAddress: string,
  ): Promise<void> {
    const request = new analyzerProto.AnalyzerHandshakeRequest();
    request.setEngineAddress(engineAddress);
    request.setRootDirectory(packDir);
    request.setProgramDirectory(packDir);
    try {
      await call<analyzerProto.AnalyzerHandshakeResponse>((done) => client.handshake(request, done));
    } catch (error) {
      if ((error as grpc.ServiceError).code !== grpc.status.UNIMPLEMENTED) throw error;
    }
  }

  private static async configureStack(
    client: analyzerRpc.AnalyzerClient,
    options: PolicyHarnessOptions,
    project: string,
    dryRun: boolean,
  ): Promise<void> {
    const request = new analyzerProto.AnalyzerStackConfigureRequest();
    request.setStack(options.stack);
    request.setProject(project);
    request.setOrganization(options.organization ?? "");
    request.setDryRun(dryRun);
    for (const [key, value] of Object.entries(options.stackConfig ?? {}))
      request.getConfigMap().set(key, value);
    for (const [key, value] of Object.entries(options.stackTags ?? {})) request.getTagsMap().set(key, value);
    await call<analyzerProto.AnalyzerStackConfigureResponse>((done) => client.configureStack(request, done));
  }

  private static async analyzerInfo(client: analyzerRpc.AnalyzerClient): Promise<AnalyzerInfoSummary> {
    const info = await call<analyzerProto.AnalyzerInfo>((done) => client.getAnalyzerInfo(new Empty(), done));
    return {
      name: info.getName(),
      version: info.getVersion(),
      supportsConfig: info.getSupportsconfig(),
      policies: info.getPoliciesList().map((policy) => {
        const schema = policy.getConfigschema();
        return {
          name: policy.getName(),
          enforcementLevel: LEVELS[policy.getEnforcementlevel()],
          configSchema:
            schema === undefined
              ? undefined
              : {
                  properties: (schema.getProperties()?.toJavaScript() ?? {}) as JsonObject,
                  required: schema.getRequiredList(),
                },
        };
      }),
    };
  }

  /**
   * Reconfigures the running pack with another pack config (reconciled and validated like the CLI),
   * e.g. to evaluate the same resources under dev and prod rules without restarting the process.
   */
  async configure(given: PolicyPackConfig | string): Promise<void> {
    this.ensureOpen();
    const parsed = typeof given === "string" ? loadPolicyPackConfigFile(given) : given;
    const config = reconcilePolicyPackConfig(this.info.policies, new Map(), parsed);
    await this.sendConfigure(config);
    this.currentConfig = config;
  }

  /** The reconciled pack config the pack currently runs with. */
  get config(): PolicyPackConfig {
    return this.currentConfig;
  }

  /** The pack process id, for tests that check it is gone after close(). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  private async sendConfigure(config: PolicyPackConfig): Promise<void> {
    const request = new analyzerProto.ConfigureAnalyzerRequest();
    for (const [name, entry] of config) {
      const policyConfig = new analyzerProto.PolicyConfig();
      policyConfig.setEnforcementlevel(LEVEL_CODES[entry.enforcementLevel ?? "advisory"]);
      // Always a Struct, as the CLI's marshalMap: the pack calls getProperties().toJavaScript().
      policyConfig.setProperties(toStruct(entry.properties as Record<string, JsonValue>));
      request.getPolicyconfigMap().set(name, policyConfig);
    }
    await call<Empty>((done) => this.client.configure(request, done));
  }

  private remember(resource: AnalyzedResource, inputs: Record<string, unknown>): void {
    this.urnIndex.set(resource.urn, describeResource(resource, inputs));
  }

  private verdicts(response: analyzerProto.AnalyzeResponse, fallback: string): PolicyVerdict[] {
    return response.getDiagnosticsList().map((diagnostic) => {
      const urn = diagnostic.getUrn();
      return {
        policy: diagnostic.getPolicyname(),
        level: LEVELS[diagnostic.getEnforcementlevel()],
        message: diagnostic.getMessage(),
        resource: urn === "" ? fallback : (this.urnIndex.get(urn) ?? urn),
      };
    });
  }

  private ensureOpen(): void {
    if (this.closed) throw new PolicyHarnessError("the policy harness is closed");
  }

  private checkedInputs(resource: AnalyzedResource): { inputs: Record<string, unknown>; struct: Struct } {
    let checked = this.checked.get(resource);
    if (checked === undefined) {
      const inputs = providerCheckedInputs(resource);
      checked = { inputs, struct: toStruct(inputs) };
      this.checked.set(resource, checked);
      this.remember(resource, inputs);
    }
    return checked;
  }

  /** Analyze: one resource before it is created or updated, with provider-checked inputs. */
  async analyze(resource: AnalyzedResource): Promise<PolicyVerdict[]> {
    this.ensureOpen();
    const { inputs, struct } = this.checkedInputs(resource);
    const request = new analyzerProto.AnalyzeRequest();
    request.setType(resource.type);
    request.setName(resource.name);
    request.setUrn(resource.urn);
    request.setProperties(struct);
    request.setOptions(resourceOptions(resource));
    const provider = providerResource(resource.provider);
    if (provider !== undefined) request.setProvider(provider);
    const response = await call<analyzerProto.AnalyzeResponse>((done) => this.client.analyze(request, done));
    return this.verdicts(response, describeResource(resource, inputs));
  }

  /** AnalyzeStack: every resource of the stack at the end of the preview or update. */
  async analyzeStack(resources: readonly AnalyzedResource[]): Promise<PolicyVerdict[]> {
    this.ensureOpen();
    const request = new analyzerProto.AnalyzeStackRequest();
    request.setResourcesList(
      resources.map((resource) => {
        const { struct } = this.checkedInputs(resource);
        const message = new analyzerProto.AnalyzerResource();
        message.setType(resource.type);
        message.setName(resource.name);
        message.setUrn(resource.urn);
        message.setProperties(resource.outputs === undefined ? struct : toStruct(resource.outputs));
        message.setOptions(resourceOptions(resource));
        const provider = providerResource(resource.provider);
        if (provider !== undefined) message.setProvider(provider);
        message.setParent(resource.parent ?? resource.options?.parent ?? "");
        message.setDependenciesList(resource.dependencies ?? []);
        for (const [property, urns] of Object.entries(resource.propertyDependencies ?? {})) {
          if (urns.length === 0) continue;
          const dependencies = new analyzerProto.AnalyzerPropertyDependencies();
          dependencies.setUrnsList(urns);
          message.getPropertydependenciesMap().set(property, dependencies);
        }
        return message;
      }),
    );
    const response = await call<analyzerProto.AnalyzeResponse>((done) =>
      this.client.analyzeStack(request, done),
    );
    return this.verdicts(response, "stack");
  }

  /** A preview: Analyze every resource (a few at a time, as the engine's parallel steps do), then AnalyzeStack. */
  async preview(resources: readonly AnalyzedResource[], concurrency = 16): Promise<PolicyVerdict[]> {
    const perResource: PolicyVerdict[][] = new Array(resources.length);
    let next = 0;
    const worker = async () => {
      while (next < resources.length) {
        const index = next++;
        perResource[index] = await this.analyze(resources[index]!);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, resources.length) }, worker));
    return [...perResource.flat(), ...(await this.analyzeStack(resources))];
  }

  /** What the pack wrote to stderr (and logged to the fake engine); for debugging failed runs. */
  get output(): string {
    return [...this.diagnostics.stderr, ...this.diagnostics.engineLogs].join("");
  }

  /** Stops the pack process and the fake engine. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.close();
    this.engine.forceShutdown();
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 2_000);
    await exited;
    clearTimeout(timer);
  }
}

export function mandatoryVerdicts(verdicts: readonly PolicyVerdict[]): PolicyVerdict[] {
  return verdicts.filter((verdict) => verdict.level === "mandatory");
}
