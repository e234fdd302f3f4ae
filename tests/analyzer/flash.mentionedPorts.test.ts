import { strict as assert } from "assert";
import type { NetworkPolicy } from "../../core/kubernetes";
import { portsMentionedBy } from "../../analyzer/flash/mentionedPorts";

function policy(
  ports: NonNullable<NonNullable<NetworkPolicy["spec"]["egress"]>[number]["ports"]>,
): NetworkPolicy {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: "p", namespace: "ns" },
    spec: { podSelector: {}, policyTypes: ["Egress"], egress: [{ ports }] },
  };
}

const keys = (policies: NetworkPolicy[]) =>
  portsMentionedBy(policies)
    .sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol))
    .map(({ port, protocol }) => `${port}/${protocol}`);

describe("ports the guard probes beyond the flow table", function () {
  it("probes a single port and the ports on either side of it, with its protocol", function () {
    assert.deepEqual(keys([policy([{ port: 9464, protocol: "TCP" }])]), ["9463/TCP", "9464/TCP", "9465/TCP"]);
  });

  it("probes both ends of a range and just outside them", function () {
    assert.deepEqual(keys([policy([{ port: 8000, endPort: 9999, protocol: "UDP" }])]), [
      "7999/UDP",
      "8000/UDP",
      "9999/UDP",
      "10000/UDP",
    ]);
  });

  it("defaults the protocol to TCP and stays inside 1..65535", function () {
    assert.deepEqual(keys([policy([{ port: 1 }, { port: 65535 }])]), [
      "1/TCP",
      "2/TCP",
      "65534/TCP",
      "65535/TCP",
    ]);
  });

  it("skips named ports (ports-explicit refuses them) and port-less entries", function () {
    assert.deepEqual(keys([policy([{ port: "metrics", protocol: "TCP" }, { protocol: "TCP" }])]), []);
  });
});
