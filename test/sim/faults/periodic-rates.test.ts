import { describe, expect, it } from "vitest";
import { bareWorld, runHappy } from "./support.ts";

/** A Poisson count with mean ≥ 50 lands within ±40 % of its mean (≥ 2.8 σ; the seeds are fixed). */
function nearMean(count: number, mean: number): boolean {
  return count >= 0.6 * mean && count <= 1.4 * mean;
}

describe("periodic faults fire at their configured rates", () => {
  it("hold stalls one link per interval on average and releases it after the hold", () => {
    const w = bareWorld({ hold: { meanIntervalMs: 2_000, holdMinMs: 10, holdMaxMs: 10 } });
    w.runUntil(200_000);
    expect(nearMean(w.faultHub.count("hold"), 100)).toBe(true);
    expect([...w.network.all()].filter((l) => l.holding).length).toBeLessThanOrEqual(1);
  });

  it("disconnect closes the connector socket about once per interval, both cleanly and abruptly", () => {
    const w = bareWorld({ disconnect: { meanIntervalMs: 10_000 } });
    w.runUntil(1_000_000);
    // Some draws find the socket down (the broker is backing off), so fewer than 100 fire.
    expect(nearMean(w.faultHub.count("disconnect"), 90)).toBe(true);
    expect(w.faultHub.count("disconnect", "clean")).toBeGreaterThan(20);
    expect(w.faultHub.count("disconnect", "abrupt")).toBeGreaterThan(20);
    expect(w.server.registrations).toBeGreaterThan(w.faultHub.count("disconnect") / 2);
  });

  it("partition cuts a path once per interval plus duration, and every partition ends", () => {
    const w = bareWorld({
      partition: { meanIntervalMs: 5_000, durationMinMs: 1_000, durationMaxMs: 1_000 },
    });
    w.runUntil(600_000);
    const started = w.faultHub.count("partition") - w.faultHub.count("partition", "heal");
    const started2 =
      started -
      w.faultHub.count("partition", "lost_request") -
      w.faultHub.count("partition", "lost_response");
    expect(nearMean(started2, 100)).toBe(true);
    expect(w.faultHub.count("partition", "heal")).toBeGreaterThanOrEqual(started2 - 1);
  });

  it("clock-jump moves the clock forward by the configured amounts at the configured rate", () => {
    const w = bareWorld({ "clock-jump": { meanIntervalMs: 1_000, jumpMinMs: 100, jumpMaxMs: 100 } });
    w.runUntil(110_000);
    expect(nearMean(w.faultHub.count("clock-jump"), 100)).toBe(true);
  });

  it("broker-crash crashes the broker at random about once per interval plus down time, and restarts it", () => {
    const w = bareWorld({
      "broker-crash": {
        meanIntervalMs: 5_000,
        downMinMs: 1_000,
        downMaxMs: 1_000,
        crashAfterAckProbability: 0,
        crashDuringCursorWriteProbability: 0,
        writeErrorProbability: 0,
      },
    });
    w.runUntil(600_000);
    const crashes = w.faultHub.count("broker-crash", "random");
    expect(nearMean(crashes, 100)).toBe(true);
    expect(w.incarnation).toBeGreaterThanOrEqual(crashes);
    expect(w.violation?.invariant).not.toBe("X1");
  });

  it("broker-crash crashes mid cursor write and after acks at their rates, corrupting the file when told", () => {
    const w = runHappy(
      {
        "broker-crash": {
          meanIntervalMs: 0,
          downMinMs: 0,
          downMaxMs: 0,
          crashAfterAckProbability: 0.05,
          crashDuringCursorWriteProbability: 0.05,
          tornWriteCorruptProbability: 1,
          writeErrorProbability: 0,
        },
      },
      3,
    );
    expect(w.faultHub.count("broker-crash", "after_ack")).toBeGreaterThan(3);
    expect(w.faultHub.count("broker-crash", "mid_write_corrupt")).toBeGreaterThan(1);
    expect(w.faultHub.count("broker-crash", "mid_write")).toBe(0);
    expect(w.violation?.invariant).not.toBe("X1");
  });

  it("plugin closes streams and crashes plugins at the configured rate and weights", () => {
    const w = runHappy(
      { plugin: { meanIntervalMs: 1_000, channelCloseWeight: 1, crashWeight: 1, restartMaxMs: 2_000 } },
      5,
    );
    const closes =
      w.faultHub.count("plugin", "channel_close_reattach") +
      w.faultHub.count("plugin", "channel_close_reregister");
    const crashes = w.faultHub.count("plugin", "crash");
    expect(closes).toBeGreaterThan(10);
    expect(crashes).toBeGreaterThan(10);
    expect(w.faultHub.count("plugin", "restart")).toBeGreaterThanOrEqual(crashes - 3);
    expect(w.violation?.invariant).not.toBe("X1");
  });

  it("inbox-pressure runs the broker with the configured small capacities", () => {
    const w = bareWorld({ "inbox-pressure": { inboxCapacity: 3, emitterQueueMax: 7 } });
    expect(w.options.inboxCapacity).toBe(3);
    expect(w.options.emitterQueueMax).toBe(7);
    expect(w.view.options?.inboxCapacity ?? 3).toBe(3);
  });
});
