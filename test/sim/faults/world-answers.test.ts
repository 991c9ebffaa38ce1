import { describe, expect, it } from "vitest";
import type { FaultPlan } from "../../../sim/faults/index.ts";
import { runScenario } from "../../../sim/run.ts";
import { happyPath } from "../../../sim/scenarios/happy-path.ts";

/** The happy path with `faults`, run in full (liveness phase included); its report. */
function run(faults: FaultPlan, seed = 5) {
  const report = runScenario(happyPath, seed, { faults });
  const fired = (fault: string, what?: string) =>
    Object.entries(report.faultsFired)
      .filter(([k]) => (what === undefined ? k.startsWith(`${fault}:`) : k === `${fault}:${what}`))
      .reduce((n, [, v]) => n + v, 0);
  return { report, fired };
}

describe("the wider platform and connector: platform-answers, reconnect-replies, connector-errors", () => {
  it("platform-answers gives every register shape and refusal, and the broker stays correct", () => {
    const { report, fired } = run({
      "platform-answers": {
        heartbeatAbsentProbability: 0.3,
        heartbeatNonPositiveProbability: 0.2,
        heartbeatOtherProbability: 0.3,
        sessionNamingProbability: 0.5,
        replyRequestedRejectProbability: 0.2,
        adapterReportRejectProbability: 0.1,
        routeClaimRejectProbability: 0.05,
      },
      plugin: { meanIntervalMs: 2_000, channelCloseWeight: 1, crashWeight: 0, reattachProbability: 0 },
    });
    for (const what of [
      "no_heartbeat",
      "heartbeat_non_positive",
      "heartbeat_other",
      "session_naming",
      "state_refused_terminal",
      "state_refused_transient",
      "route_claim_refused",
    ])
      expect(fired("platform-answers", what), what).toBeGreaterThan(0);
    expect(report.violation).toBeUndefined();
  });

  it("reconnect-replies resends decided and undecided replies while endpoints reconnect, and the broker stays correct", () => {
    const { report, fired } = run({
      "reconnect-replies": { probability: 1, resendMax: 4, withinMs: 20 },
      plugin: { meanIntervalMs: 1_500, channelCloseWeight: 1, crashWeight: 0 },
    });
    expect(fired("reconnect-replies", "decided")).toBeGreaterThan(0);
    expect(fired("reconnect-replies", "answered_409")).toBeGreaterThan(0);
    expect(report.violation).toBeUndefined();
  });

  it("connector-errors refuses sends and sends notices naming the recipient, and the broker stays correct", () => {
    const { report, fired } = run({ "connector-errors": { refuseProbability: 0.2, noticeProbability: 0.2 } });
    expect(fired("connector-errors", "refuse")).toBeGreaterThan(0);
    expect(fired("connector-errors", "notice")).toBeGreaterThan(0);
    expect(report.violation).toBeUndefined();
  });
});
