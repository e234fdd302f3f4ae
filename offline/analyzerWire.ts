/**
 * The Analyzer wire format as the engine fills it: what a resource looks like after the provider's
 * Check (pulumi-kubernetes assigns apiVersion, kind and autonames), how values become a Struct
 * (pulumi/pulumi sdk/go/common/resource/plugin/rpc.go MarshalProperties), and the resource options
 * the engine reports (pkg/resource/deploy/analyzer... AnalyzerResourceOptions). offline/policyHarness.ts
 * sends these messages; nothing here starts a process.
 */
import { randomBytes } from "crypto";
import { Struct, type JavaScriptValue } from "google-protobuf/google/protobuf/struct_pb";
import * as analyzerProto from "@pulumi/pulumi/proto/analyzer_pb";
import type { JsonObject } from "./policyPackConfig";
import { isRecord } from "../core/records";

/**
 * The string the engine puts in a Struct for a value unknown during preview (Go
 * plugin.MarshalPropertyValue with KeepUnknowns; UnknownStringValue in @pulumi/pulumi runtime/rpc).
 * Put it wherever an input is unknown; it goes on the wire unchanged.
 */
export const PREVIEW_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export interface ProviderReference {
  type: string;
  name: string;
  urn: string;
  properties?: Record<string, unknown>;
}

/** Resource options as the engine reports them to analyzers (customTimeouts in seconds). */
export interface AnalyzedResourceOptions {
  protect?: boolean;
  ignoreChanges?: string[];
  deleteBeforeReplace?: boolean;
  additionalSecretOutputs?: string[];
  aliases?: string[];
  customTimeouts?: { create?: number; update?: number; delete?: number };
  parent?: string;
}

/** A registered resource, as offline/runProgram.ts returns it (RegisteredResource is assignable). */
export interface AnalyzedResource {
  type: string;
  name: string;
  urn: string;
  inputs: Record<string, unknown>;
  parent?: string;
  dependencies?: string[];
  provider?: ProviderReference;
  options?: AnalyzedResourceOptions;
  propertyDependencies?: Record<string, string[]>;
  /**
   * The resource's state at the end of the run. AnalyzeStack judges the final outputs, not the
   * inputs; a component's outputs are what it registered (registerOutputs). Absent: the inputs.
   */
  outputs?: Record<string, unknown>;
}

const CLUSTER_SCOPED_KINDS = new Set([
  "Namespace",
  "Node",
  "PersistentVolume",
  "StorageClass",
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
]);

/** Values the way the engine marshals them: undefined properties are absent, everything else is JSON. */
function toJavaScriptValue(value: unknown): JavaScriptValue | undefined {
  if (value === undefined || typeof value === "function" || typeof value === "symbol") return undefined;
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  if (Array.isArray(value)) return value.map((item) => toJavaScriptValue(item) ?? null);
  const result: { [key: string]: JavaScriptValue } = {};
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const converted = toJavaScriptValue(child);
    if (converted !== undefined) result[key] = converted;
  }
  return result;
}

export function toStruct(value: Record<string, unknown> | JsonObject): Struct {
  return Struct.fromJavaScript((toJavaScriptValue(value) ?? {}) as { [key: string]: JavaScriptValue });
}

/** `kubernetes:networking.k8s.io/v1:NetworkPolicy` → apiVersion/kind; undefined for non-Kubernetes types. */
export function kubernetesTypeOf(type: string): { apiVersion: string; kind: string } | undefined {
  const match = /^kubernetes:([^:]+)\/([^:/]+):(.+)$/.exec(type);
  if (match === null) return undefined;
  const [, group, version, kind] = match as unknown as [string, string, string, string];
  return { apiVersion: group === "core" ? version : `${group}/${version}`, kind };
}

/**
 * What the Kubernetes provider's Check returns for an object: apiVersion and kind from the type,
 * and, when metadata.name is absent, "<resource name>-<8 hex>" with the pulumi.com/autonamed
 * annotation (pulumi-kubernetes metadata.AssignNameIfAutonamable). An unknown name stays unknown.
 */
export function providerCheckedInputs(resource: AnalyzedResource): Record<string, unknown> {
  const kube = kubernetesTypeOf(resource.type);
  if (kube === undefined) return resource.inputs;
  const inputs: Record<string, unknown> = { ...resource.inputs };
  inputs["apiVersion"] ??= kube.apiVersion;
  inputs["kind"] ??= kube.kind;
  const metadata: Record<string, unknown> = isRecord(inputs["metadata"]) ? { ...inputs["metadata"] } : {};
  const name = metadata["name"];
  if ((name === undefined || name === "") && metadata["generateName"] === undefined) {
    metadata["name"] = `${resource.name}-${randomBytes(4).toString("hex")}`;
    const annotations = isRecord(metadata["annotations"]) ? { ...metadata["annotations"] } : {};
    annotations["pulumi.com/autonamed"] = "true";
    metadata["annotations"] = annotations;
  }
  inputs["metadata"] = metadata;
  return inputs;
}

/** The readable resource form of verdicts (see the file comment). */
export function describeResource(resource: AnalyzedResource, inputs: Record<string, unknown>): string {
  const kube = kubernetesTypeOf(resource.type);
  if (kube === undefined) return resource.urn;
  const metadata = isRecord(inputs["metadata"]) ? inputs["metadata"] : {};
  const name = typeof metadata["name"] === "string" ? metadata["name"] : resource.name;
  if (CLUSTER_SCOPED_KINDS.has(kube.kind)) return `${kube.kind} ${name}`;
  const providerNamespace = resource.provider?.properties?.["namespace"];
  const namespace =
    typeof metadata["namespace"] === "string" && metadata["namespace"] !== ""
      ? metadata["namespace"]
      : typeof providerNamespace === "string" && providerNamespace !== ""
        ? providerNamespace
        : "default";
  return `${kube.kind} ${namespace}/${name}`;
}

export function resourceOptions(resource: AnalyzedResource): analyzerProto.AnalyzerResourceOptions {
  const given = resource.options ?? {};
  const options = new analyzerProto.AnalyzerResourceOptions();
  options.setProtect(given.protect ?? false);
  options.setIgnorechangesList(given.ignoreChanges ?? []);
  options.setDeletebeforereplace(given.deleteBeforeReplace ?? false);
  options.setDeletebeforereplacedefined(given.deleteBeforeReplace !== undefined);
  options.setAdditionalsecretoutputsList(given.additionalSecretOutputs ?? []);
  options.setAliasesList(given.aliases ?? []);
  // The engine always sends the timeouts message, zeros when unset.
  const timeouts = new analyzerProto.AnalyzerResourceOptions.CustomTimeouts();
  timeouts.setCreate(given.customTimeouts?.create ?? 0);
  timeouts.setUpdate(given.customTimeouts?.update ?? 0);
  timeouts.setDelete(given.customTimeouts?.delete ?? 0);
  options.setCustomtimeouts(timeouts);
  options.setParent(given.parent ?? resource.parent ?? "");
  return options;
}

export function providerResource(
  provider: ProviderReference | undefined,
): analyzerProto.AnalyzerProviderResource | undefined {
  if (provider === undefined) return undefined;
  const message = new analyzerProto.AnalyzerProviderResource();
  message.setType(provider.type);
  message.setName(provider.name);
  message.setUrn(provider.urn);
  message.setProperties(toStruct(provider.properties ?? {}));
  return message;
}
