/**
 * Turns what we have into what the policy harness sends: the program's registered resources
 * (offline/runProgram.ts), generated manifests, or NetworkPolicies read from a YAML file.
 */
import type { NetworkPolicyManifest } from "../core/networkPolicies";
import type { AnalyzedResource, ProviderReference } from "./analyzerWire";
import type { RegisteredResource } from "./engineRegistrations";
import { KUBERNETES_PROVIDER_TYPE, NETWORK_POLICY_TYPE } from "../core/resourceTypes";

const PROJECT = "flash-netpol";

/** Go duration text ("90s", "5m", "1h30m") in seconds, as the engine converts customTimeouts. */
export function durationSeconds(text: string | undefined): number {
  if (text === undefined || text === "") return 0;
  const units: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  let total = 0;
  for (const match of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(match[1]) * units[match[2]!]!;
  }
  return total;
}

/**
 * The program's registrations as the engine hands them to analyzers: the provider reference
 * (`urn::id`) resolved to the provider resource and its inputs, timeouts in seconds.
 */
export function fromRegisteredResources(registered: readonly RegisteredResource[]): AnalyzedResource[] {
  const byUrn = new Map(registered.map((resource) => [resource.urn, resource]));
  // Reads (`.get`) are neither analyzed nor part of the stack AnalyzeStack sees: the engine keeps
  // them in `reads`, apart from `news` (pulumi step_executor.go, v3.248.0).
  return registered
    .filter((resource) => resource.readId === undefined)
    .map((resource) => {
      let provider: ProviderReference | undefined;
      if (resource.provider !== undefined) {
        const providerUrn = resource.provider.split("::").slice(0, -1).join("::");
        const providerResource = byUrn.get(providerUrn);
        provider = {
          type:
            providerResource?.type ??
            providerUrn.split("::").at(-2)?.split("$").at(-1) ??
            KUBERNETES_PROVIDER_TYPE,
          name: providerResource?.name ?? providerUrn.split("::").at(-1) ?? "",
          urn: providerUrn,
          properties: providerResource?.inputs ?? {},
        };
      }
      const timeouts = resource.options.customTimeouts;
      return {
        type: resource.type,
        name: resource.name,
        urn: resource.urn,
        inputs: resource.inputs,
        outputs: resource.outputs,
        parent: resource.parent,
        dependencies: resource.dependencies,
        provider,
        options: {
          protect: resource.options.protect,
          ignoreChanges: resource.options.ignoreChanges,
          deleteBeforeReplace: resource.options.deleteBeforeReplace,
          additionalSecretOutputs: resource.options.additionalSecretOutputs,
          aliases: resource.options.aliases,
          customTimeouts:
            timeouts === undefined
              ? undefined
              : {
                  create: durationSeconds(timeouts.create),
                  update: durationSeconds(timeouts.update),
                  delete: durationSeconds(timeouts.delete),
                },
          parent: resource.parent,
        },
      };
    });
}

/** A default Kubernetes provider, as `pulumi preview` would use for objects given without one. */
export function defaultKubernetesProvider(stack: string, namespace?: string): ProviderReference {
  return {
    type: KUBERNETES_PROVIDER_TYPE,
    name: "default",
    urn: `urn:pulumi:${stack}::${PROJECT}::pulumi:providers:kubernetes::default`,
    properties: namespace === undefined ? {} : { namespace },
  };
}

/**
 * A Kubernetes object (from a manifest or a YAML document) as a registered resource of `type`. The
 * Pulumi name is the object's name (or `fallbackName`), the URN the one a top-level resource would get.
 */
export function kubernetesObjectResource(
  type: string,
  object: Record<string, unknown> | NetworkPolicyManifest,
  stack: string,
  fallbackName: string,
  provider: ProviderReference = defaultKubernetesProvider(stack),
): AnalyzedResource {
  const metadata = (object as { metadata?: { name?: unknown } }).metadata;
  const name = typeof metadata?.name === "string" && metadata.name !== "" ? metadata.name : fallbackName;
  return {
    type,
    name,
    urn: `urn:pulumi:${stack}::${PROJECT}::${type}::${name}`,
    inputs: structuredClone(object) as Record<string, unknown>,
    provider,
  };
}

/** A NetworkPolicy object as a registered resource (see kubernetesObjectResource). */
export function networkPolicyResource(
  object: Record<string, unknown> | NetworkPolicyManifest,
  stack: string,
  fallbackName: string,
  provider: ProviderReference = defaultKubernetesProvider(stack),
): AnalyzedResource {
  return kubernetesObjectResource(NETWORK_POLICY_TYPE, object, stack, fallbackName, provider);
}
