import { protocolOf, type ContainerPort, type NetworkPolicyPort, type Protocol } from "../core/kubernetes";

/**
 * `destinationPorts` are the container ports declared by the destination pod, or undefined when
 * the destination is not a pod (then a named port has nothing to resolve against).
 */
export type PortMatcher = (
  port: number,
  protocol: Protocol,
  destinationPorts: readonly ContainerPort[] | undefined,
) => boolean;

export interface CompiledPorts {
  readonly matches: PortMatcher;
  /** False when the verdict never depends on the destination's declared ports. */
  readonly usesNamedPorts: boolean;
  /** No ports listed: the rule admits every protocol, ICMP included (a listed port names TCP, UDP or SCTP). */
  readonly admitsEveryProtocol: boolean;
}

function compilePortEntry(entry: NetworkPolicyPort): PortMatcher {
  const entryProtocol = protocolOf(entry);
  const entryPort = entry.port;
  if (entryPort === undefined) {
    return (_port, protocol) => protocol === entryProtocol;
  }
  if (typeof entryPort === "number") {
    const lastPort = entry.endPort ?? entryPort;
    return (port, protocol) => protocol === entryProtocol && port >= entryPort && port <= lastPort;
  }
  // A named port matches the traffic when the destination declares a container port of that
  // name, with the entry's protocol, at the traffic's port number.
  return (port, protocol, destinationPorts) =>
    protocol === entryProtocol &&
    destinationPorts !== undefined &&
    destinationPorts.some(
      (declared) => declared.name === entryPort && declared.protocol === protocol && declared.port === port,
    );
}

/** An absent or empty `ports` list places no restriction on port or protocol. */
export function compilePorts(entries: readonly NetworkPolicyPort[] | undefined): CompiledPorts {
  if (entries === undefined || entries.length === 0) {
    return { matches: () => true, usesNamedPorts: false, admitsEveryProtocol: true };
  }
  const matchers = entries.map(compilePortEntry);
  return {
    matches: (port, protocol, destinationPorts) =>
      matchers.some((matcher) => matcher(port, protocol, destinationPorts)),
    usesNamedPorts: entries.some((entry) => typeof entry.port === "string"),
    admitsEveryProtocol: false,
  };
}
