/** Expected versus observed: rows, exit codes, JSON and the text matrix. */
import * as assert from "node:assert/strict";
import {
  compareOutcomes,
  comparisonJson,
  exitCodeOf,
  renderComparison,
  EXIT_ALL_MATCH,
  EXIT_CLUSTER_ERROR,
  EXIT_MISMATCH,
} from "../../verify/compare";
import type { PlannedProbe, Verdict } from "../../verify/probe";
import type { Observation } from "../../verify/probeOutput";

function probe(from: string, to: string, port: number, expected: Verdict): PlannedProbe {
  return {
    from,
    to,
    port,
    protocol: "TCP",
    sourceKey: from,
    check: { kind: "tcp", host: to, port },
    expected,
    intended: expected === "allowed",
    reason: `${from} -> ${to}`,
  };
}

const gatewayToApi = probe("flash-gateway", "flash-api.flash-ticket.svc.cluster.local", 4000, "allowed");
const payToApi = probe("flash-pay", "flash-api.flash-ticket.svc.cluster.local", 4000, "blocked");
const open: Observation = { kind: "connected", detail: "open" };
const refused: Observation = { kind: "refused", detail: "Connection refused" };
const timeout: Observation = { kind: "timeout", detail: "Connection timed out" };
const forbidden: Observation = { kind: "could-not-probe", detail: "Error from server (Forbidden)" };

describe("verify: comparison", () => {
  it("all match: exit 0", () => {
    const rows = compareOutcomes([
      { probe: gatewayToApi, observation: open },
      { probe: payToApi, observation: timeout },
    ]);
    assert.deepEqual(
      rows.map((row) => [row.observed, row.match]),
      [
        ["allowed", true],
        ["blocked", true],
      ],
    );
    assert.equal(exitCodeOf(rows), EXIT_ALL_MATCH);
  });

  it("a refused connection counts as allowed, so it matches an allowed expectation", () => {
    const rows = compareOutcomes([{ probe: gatewayToApi, observation: refused }]);
    assert.equal(rows[0].match, true);
  });

  it("a blocked probe that got through is a mismatch: exit 1, with the CNI hint", () => {
    const rows = compareOutcomes([
      { probe: gatewayToApi, observation: open },
      { probe: payToApi, observation: refused },
    ]);
    assert.equal(exitCodeOf(rows), EXIT_MISMATCH);
    const text = renderComparison(rows, { stack: "prod", context: "flash-prod", stage: "defaultDeny off" });
    assert.match(text, /1 match, 1 mismatch, 0 could not probe/);
    assert.match(
      text,
      /MISMATCH flash-pay -> flash-api\.flash-ticket\.svc\.cluster\.local:4000 was expected blocked but got through/,
    );
    assert.match(text, /Is the CNI enforcing NetworkPolicy/);
  });

  it("an allowed flow that did not get through is a mismatch too", () => {
    const rows = compareOutcomes([{ probe: gatewayToApi, observation: timeout }]);
    assert.equal(exitCodeOf(rows), EXIT_MISMATCH);
    assert.match(
      renderComparison(rows, { stack: "dev", context: "c", stage: "s" }),
      /expected allowed but did not get through/,
    );
  });

  it("could not probe is neither: exit 2 when nothing mismatched, and a mismatch still wins", () => {
    const unprobed = compareOutcomes([
      { probe: gatewayToApi, observation: open },
      { probe: payToApi, observation: forbidden },
    ]);
    assert.equal(exitCodeOf(unprobed), EXIT_CLUSTER_ERROR);
    assert.match(
      renderComparison(unprobed, { stack: "prod", context: "c", stage: "s" }),
      /1 match, 0 mismatch, 1 could not probe/,
    );
    const both = compareOutcomes([
      { probe: gatewayToApi, observation: timeout },
      { probe: payToApi, observation: forbidden },
    ]);
    assert.equal(exitCodeOf(both), EXIT_MISMATCH);
  });

  it("JSON rows carry exactly from, to, port, protocol, expected, observed, match", () => {
    const json = comparisonJson(
      compareOutcomes([
        { probe: payToApi, observation: open },
        { probe: gatewayToApi, observation: forbidden },
      ]),
    );
    assert.deepEqual(json, [
      {
        from: "flash-pay",
        to: "flash-api.flash-ticket.svc.cluster.local",
        port: 4000,
        protocol: "TCP",
        expected: "blocked",
        observed: "allowed",
        match: false,
      },
      {
        from: "flash-gateway",
        to: "flash-api.flash-ticket.svc.cluster.local",
        port: 4000,
        protocol: "TCP",
        expected: "allowed",
        observed: "could not probe",
        match: false,
      },
    ]);
  });

  it("the text matrix has one aligned row per probe with its mark", () => {
    const text = renderComparison(
      compareOutcomes([
        { probe: gatewayToApi, observation: open },
        { probe: payToApi, observation: open },
        { probe: payToApi, observation: forbidden },
      ]),
      { stack: "prod", context: "flash-prod", stage: "defaultDeny off" },
    );
    const lines = text.split("\n");
    assert.equal(lines[0], "Live verification of stack prod in context flash-prod");
    assert.match(lines[3], /^\s+from\s+to\s+expected\s+observed\s+detail$/);
    assert.match(
      lines[5],
      /^ok\s+flash-gateway\s+flash-api\.flash-ticket\.svc\.cluster\.local:4000\/TCP\s+allowed\s+allowed\s+open$/,
    );
    assert.match(lines[6], /^MISMATCH\s+flash-pay .* blocked\s+allowed\s+open$/);
    assert.match(
      lines[7],
      /^\?\?\s+flash-pay .* blocked\s+could not probe\s+Error from server \(Forbidden\)$/,
    );
  });
});
