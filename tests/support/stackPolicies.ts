/**
 * What each stack's policies allow, written by hand from the flow table (DEVELOPERS.md) and the
 * stage of each stack file (docs/rollout.md), not taken from the planner: the simulated
 * cluster answers with it, so a verify run that matches proves the plan agrees with this reading.
 */
import type { Network } from "./simulatedCluster";

const STORE_PORTS: Record<number, string> = { 6379: "redis", 15432: "postgres", 5671: "mq" };

/** What the stack's policies allow, by hand from the flow table and the stage. */
export function policiesOf(stack: "dev" | "prod"): Network {
  const calls: Record<string, readonly string[]> = {
    "flash-gateway": ["flash-api", "redis"],
    "flash-api": ["postgres", "redis", "mq"],
    "flash-pay": ["mq", "internet"],
  };
  return (source, destination, port) => {
    if (destination.kind === "dns" || port === 53)
      return source.startsWith("probe-pod@") ? "timeout" : "open";
    if (destination.kind === "pod") {
      return source === "flash-gateway" && destination.service === "flash-api" ? "open" : "timeout";
    }
    const what = STORE_PORTS[port] ?? (destination.host === "169.254.169.254" ? "metadata" : "internet");
    if (calls[source]?.includes(what)) return what === "internet" ? "refused" : "open";
    // prod stage 3: flash-api's egress and the default deny are not enforced yet.
    if (stack === "prod" && (source === "flash-api" || source === "probe-pod")) {
      return what === "metadata" || what === "internet" ? "refused" : "open";
    }
    return "timeout";
  };
}
