/** What a parsed stack config means for the policies: each endpoint's ports, each rollout flag. */
import type { RolloutConfig, StackConfig } from "./config";
import { DATA_STORE_NAMES, type DataStoreName, type EndpointPorts, type ServiceName } from "./flowTable";
import { DIRECTIONS, type Direction } from "./kubernetes";

export function endpointPorts(config: StackConfig): EndpointPorts {
  return {
    servicePorts: Object.fromEntries(
      Object.entries(config.services).map(([name, service]) => [name, service.port]),
    ),
    dataStorePorts: Object.fromEntries(
      DATA_STORE_NAMES.map((name) => [name, dataStorePortsOf(config, name)]),
    ) as Record<DataStoreName, readonly number[]>,
    paymentApiPorts: config.paymentApi.ports,
  };
}

/** Every port a data store listens on: one, or for ElastiCache Serverless its endpoint and reader ports. */
export function dataStorePortsOf(config: StackConfig, store: DataStoreName): readonly number[] {
  if (store === "redis") {
    const { port: primary, readerPort } = config.dataStores.redis;
    return readerPort === undefined || readerPort === primary ? [primary] : [primary, readerPort];
  }
  return [config.dataStores[store].port];
}

export function isEnforced(rollout: RolloutConfig, service: ServiceName, direction: Direction): boolean {
  return rollout.services[service]?.[direction] === "enforce";
}

/** Whether this stage deploys any policy that isolates pods, which only matters if the CNI enforces it. */
export function isAnyPolicyEnforced(rollout: RolloutConfig): boolean {
  return (
    rollout.defaultDeny === "enforce" ||
    Object.keys(rollout.services).some((service) =>
      DIRECTIONS.some((direction) => isEnforced(rollout, service, direction)),
    )
  );
}
