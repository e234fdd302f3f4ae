/**
 * What the engine sees when the program registers or reads a resource: the mock monitor's
 * registerResource, readResource and registerResourceOutputs, wrapped to record each request in the
 * order the program made it.
 */
import * as pulumi from "@pulumi/pulumi";

export interface ResourceOptionsSeen {
  protect: boolean;
  ignoreChanges: string[];
  deleteBeforeReplace: boolean;
  additionalSecretOutputs: string[];
  aliases: string[];
  customTimeouts?: { create: string; update: string; delete: string };
  /** The `import` option: the id of an existing object the engine adopts instead of creating. */
  importId?: string;
  retainOnDelete?: boolean;
}

/** A resource as the engine sees it when the program registers it. */
export interface RegisteredResource {
  type: string;
  /** Set for a read of an existing object (`Resource.get`, a ReadResource call): the id read. */
  readId?: string;
  name: string;
  urn: string;
  custom: boolean;
  inputs: Record<string, unknown>;
  parent?: string;
  dependencies: string[];
  /** The provider reference, `urn::id`, as the engine receives it. */
  provider?: string;
  options: ResourceOptionsSeen;
  /** What a component registered with registerOutputs: the engine's state for it, as analyzeStack sees it. */
  outputs?: Record<string, unknown>;
}

interface ReadRequest {
  getType(): string;
  getName(): string;
  getId(): string;
  getParent(): string;
  getProperties(): unknown;
  getDependenciesList(): string[];
  getProvider(): string;
  getAdditionalsecretoutputsList(): string[];
}

interface MonitorLike {
  readResource(
    request: ReadRequest,
    callback: (error: Error | null, response?: { getUrn(): string }) => void,
  ): void;
  registerResourceOutputs(
    request: { getUrn(): string; getOutputs(): unknown },
    callback: (error: Error | null, response?: unknown) => void,
  ): void;
  registerResource(
    request: RegisterRequest,
    callback: (error: Error | null, response?: { getUrn(): string }) => void,
  ): void;
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getObject(): unknown;
  getProtect(): boolean | undefined;
  getDependenciesList(): string[];
  getProvider(): string;
  getDeletebeforereplace(): boolean;
  getIgnorechangesList(): string[];
  getAdditionalsecretoutputsList(): string[];
  getAliasurnsList(): string[];
  getCustomtimeouts(): { getCreate(): string; getUpdate(): string; getDelete(): string } | undefined;
  getImportid(): string;
  getRetainondelete(): boolean | undefined;
}

/** Registrations in program order, those still in flight, and each component's registered outputs. */
export interface EngineRegistrations {
  // Indexed by the order the program asked for each registration or read (the engine's order), not
  // the order the answers came back in.
  readonly registered: (RegisteredResource | undefined)[];
  readonly pending: Set<Promise<void>>;
  readonly outputsByUrn: Map<string, Record<string, unknown>>;
}

export function newEngineRegistrations(): EngineRegistrations {
  return { registered: [], pending: new Set(), outputsByUrn: new Map() };
}

/** Reserves the request's place in program order, and fills it in once the engine answers. */
function recordInOrder<Response extends { getUrn(): string }>(
  capture: EngineRegistrations,
  forward: (callback: (error: Error | null, response?: Response) => void) => void,
  describe: (response: Response) => RegisteredResource,
  callback: (error: Error | null, response?: Response) => void,
): void {
  let settle: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (settle = resolve));
  capture.pending.add(done);
  const index = capture.registered.push(undefined) - 1;
  forward((error, response) => {
    if (!error && response) capture.registered[index] = describe(response);
    callback(error, response);
    settle();
    capture.pending.delete(done);
  });
}

/** Wraps the mock runtime's monitor so every registration, read and component output lands in `capture`. */
export function recordEngineRegistrations(capture: EngineRegistrations): void {
  const monitor = pulumi.runtime.getMonitor() as unknown as MonitorLike;
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (request, callback) =>
    recordInOrder(
      capture,
      (answered) => register(request, answered),
      (response) => {
        const timeouts = request.getCustomtimeouts();
        return {
          type: request.getType(),
          name: request.getName(),
          urn: response.getUrn(),
          custom: request.getCustom(),
          inputs: pulumi.runtime.deserializeProperties(request.getObject() as never) as Record<
            string,
            unknown
          >,
          parent: request.getParent() || undefined,
          dependencies: request.getDependenciesList(),
          provider: request.getProvider() || undefined,
          options: {
            protect: request.getProtect() ?? false,
            ignoreChanges: request.getIgnorechangesList(),
            deleteBeforeReplace: request.getDeletebeforereplace(),
            additionalSecretOutputs: request.getAdditionalsecretoutputsList(),
            aliases: request.getAliasurnsList(),
            customTimeouts: timeouts
              ? { create: timeouts.getCreate(), update: timeouts.getUpdate(), delete: timeouts.getDelete() }
              : undefined,
            importId: request.getImportid() || undefined,
            retainOnDelete: request.getRetainondelete() ?? false,
          },
        };
      },
      callback,
    );

  const read = monitor.readResource.bind(monitor);
  monitor.readResource = (request, callback) =>
    recordInOrder(
      capture,
      (answered) => read(request, answered),
      (response) => ({
        type: request.getType(),
        name: request.getName(),
        readId: request.getId(),
        urn: response.getUrn(),
        custom: true,
        inputs: pulumi.runtime.deserializeProperties(request.getProperties() as never) as Record<
          string,
          unknown
        >,
        parent: request.getParent() || undefined,
        dependencies: request.getDependenciesList(),
        provider: request.getProvider() || undefined,
        options: {
          protect: false,
          ignoreChanges: [],
          deleteBeforeReplace: false,
          additionalSecretOutputs: request.getAdditionalsecretoutputsList(),
          aliases: [],
        },
      }),
      callback,
    );

  const registerOutputs = monitor.registerResourceOutputs.bind(monitor);
  monitor.registerResourceOutputs = (request, callback) => {
    capture.outputsByUrn.set(
      request.getUrn(),
      pulumi.runtime.deserializeProperties(request.getOutputs() as never) as Record<string, unknown>,
    );
    registerOutputs(request, callback);
  };
}
