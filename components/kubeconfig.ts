/**
 * The kubeconfig the Kubernetes provider talks to the cluster with: built from the EKS cluster the
 * AWS lookup found, or an explicit one from stack config.
 */
import * as YAML from "yaml";
import type { EksClusterInfo } from "./awsLookups";
import { ConfigError } from "../core/configError";

/**
 * A kubeconfig that authenticates with `aws eks get-token`: no long-lived credential is stored in
 * state, and the token follows whatever AWS identity runs `pulumi up`.
 */
export function eksKubeconfig(cluster: EksClusterInfo, region: string): string {
  const contextName = `eks-${cluster.name}`;
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: contextName,
        cluster: { server: cluster.endpoint, "certificate-authority-data": cluster.certificateAuthority },
      },
    ],
    contexts: [{ name: contextName, context: { cluster: contextName, user: contextName } }],
    "current-context": contextName,
    users: [
      {
        name: contextName,
        user: {
          exec: {
            apiVersion: "client.authentication.k8s.io/v1beta1",
            command: "aws",
            args: [
              "eks",
              "get-token",
              "--cluster-name",
              cluster.name,
              "--region",
              region,
              "--output",
              "json",
            ],
            interactiveMode: "Never",
          },
        },
      },
    ],
  });
}

/** Checks an explicit kubeconfig before any resource uses it; the error never echoes the secret. */
export function validateKubeconfig(text: string, key: string): void {
  let parsed: unknown;
  try {
    parsed = YAML.parse(text);
  } catch (cause) {
    const where =
      cause instanceof YAML.YAMLParseError && cause.linePos ? ` at line ${cause.linePos[0].line}` : "";
    throw new ConfigError(
      `${key}: the kubeconfig does not parse as YAML or JSON${where}; expected the contents of a kubeconfig file. ` +
        `Fix: pulumi config set --secret ${key.replace(/^flash-netpol:/, "")} "$(cat ~/.kube/config)"`,
    );
  }
  const document = parsed as { clusters?: unknown; contexts?: unknown; users?: unknown } | null;
  const missing = ["clusters", "contexts", "users"].filter(
    (section) => !Array.isArray((document as Record<string, unknown> | null)?.[section]),
  );
  if (document === null || typeof document !== "object" || missing.length > 0) {
    throw new ConfigError(
      `${key}: the kubeconfig has no ${missing.join(", ") || "content"} list; expected a kubeconfig with clusters, contexts and users. ` +
        `Fix: set it from a working file (kubectl config view --raw --minify).`,
    );
  }
}
