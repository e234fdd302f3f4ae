/**
 * core/v1 Services as `kubectl get services -o json` prints them, read into the fields the EKS model
 * uses. A malformed object is an error naming where it is and what was expected.
 */
import { z } from "zod";
import { portNumberSchema } from "../../core/kubernetes";
import type { ServiceInfo } from "./model";

const servicePortSchema = z.object({
  name: z.string().optional(),
  port: portNumberSchema,
  protocol: z.enum(["TCP", "UDP", "SCTP"]).default("TCP"),
  targetPort: z.union([portNumberSchema, z.string().min(1)]).optional(),
});

const serviceSchema = z.object({
  metadata: z.object({ name: z.string().min(1), namespace: z.string().min(1) }),
  spec: z.object({
    clusterIP: z.string().optional(),
    selector: z.record(z.string(), z.string()).optional(),
    ports: z.array(servicePortSchema).default([]),
  }),
});

/** Each object of a Service list (or a lone Service), `where` naming the file and key for errors. */
export function servicesFromKubectl(objects: readonly unknown[], where: string): ServiceInfo[] {
  return objects.map((object, index) => {
    const parsed = serviceSchema.safeParse(object);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(
        `${where}[${index}].${issue.path.join(".")}: ${issue.message}; expected a Service as \`kubectl get service -o json\` prints it`,
      );
    }
    const { metadata, spec } = parsed.data;
    return {
      namespace: metadata.namespace,
      name: metadata.name,
      clusterIP: spec.clusterIP,
      selector: spec.selector,
      // The API server defaults an omitted targetPort to the port.
      ports: spec.ports.map((port) => ({ ...port, targetPort: port.targetPort ?? port.port })),
    };
  });
}
