/**
 * Legal histories that the endpoint and inbox checkers (E1, E2, A10) once reported as violations (swarm triage),
 * each next to a history that differs in the one fact that makes it legal and is still reported.
 */

import { describe, expect, it } from "vitest";
import { E1 } from "../../sim/checkers/safety/e1-state-machine.ts";
import { E2 } from "../../sim/checkers/safety/e2-grace-timer.ts";
import { A10 } from "../../sim/checkers/safety/a10-no-silent-inbox-loss.ts";
import { check, History } from "./support/history.ts";

describe("E1 state machine: legal histories", () => {
  const transition = (h: History, state: string, reason: string, ts: string) =>
    h.call("transition_state", { endpoint_id: "ep-1", state, reason, ts }).end();

  it("accepts a deferred projection whose predecessor the bounded queue dropped", () => {
    const h = transition(new History().at(5_000), "reconnecting", "ipc_close", "2025-01-01T00:00:01.000Z");
    expect(check(E1, h)).toBeUndefined();
  });

  it("accepts a deferred grace-timeout close after a dropped reconnecting projection", () => {
    const h = transition(new History(), "active", "register", "2025-01-01T00:00:00.000Z");
    transition(h.at(9_000), "closed", "grace_timeout", "2025-01-01T00:00:08.000Z");
    expect(check(E1, h)).toBeUndefined();
  });

  it("still fires on the same gap when the projection was posted as it happened", () => {
    const h = new History().online().at(10).channel(1, 10).registered("ep-1", 10);
    transition(h.at(5_000), "reconnecting", "ipc_close", "2025-01-01T00:00:05.000Z");
    expect(check(E1, h)?.message).toMatch(/none → reconnecting/);
  });

  // Soak swarm seed 106: ep-404 registered while presence was offline after a restart; its
  // `active` projection waited and an overflow dropped it; presence came online, and the later
  // `reconnecting` projection went out as it happened.
  it("accepts a projection posted as it happened after the endpoint's first one was dropped while offline", () => {
    const h = new History().channel(1, 10).at(1_000).registered("ep-1", 10);
    h.at(4_000).online();
    transition(h.at(5_000), "reconnecting", "ipc_close", "2025-01-01T00:00:05.000Z");
    expect(check(E1, h)).toBeUndefined();
  });

  // Soak swarm seed 65: ep-32's `reconnecting` projection waited while the connector was down and
  // an overflow dropped it; presence came back, and 600 s later the grace close went out at once.
  it("accepts a grace-timeout close posted as it happened after a reconnecting projection dropped while offline", () => {
    const h = new History().online().channel(1, 10).registered("ep-1", 10);
    transition(h.at(1_000), "active", "register", "2025-01-01T00:00:00.000Z");
    h.at(2_000).offline();
    h.at(8_000).online(5);
    transition(h.at(602_000), "closed", "grace_timeout", "2025-01-01T00:10:02.000Z");
    expect(check(E1, h)).toBeUndefined();
  });

  it("still fires on that close when presence stayed online since the endpoint's last projection", () => {
    const h = new History().online().channel(1, 10).registered("ep-1", 10);
    h.at(500).offline();
    h.at(800).online(5);
    transition(h.at(1_000), "active", "register", "2025-01-01T00:00:01.000Z");
    transition(h.at(602_000), "closed", "grace_timeout", "2025-01-01T00:10:02.000Z");
    expect(check(E1, h)?.message).toMatch(/active → closed/);
  });

  it("accepts that close when the connector reconnected but its registration was refused", () => {
    const h = new History().online().channel(1, 10).registered("ep-1", 10);
    transition(h.at(1_000), "active", "register", "2025-01-01T00:00:01.000Z");
    h.at(2_000).offline();
    h.at(3_000).open().frame({ event: "REGISTER_ACK", status: "error", reason: "Already connected" }).end();
    transition(h.at(602_000), "closed", "grace_timeout", "2025-01-01T00:10:02.000Z");
    expect(check(E1, h)).toBeUndefined();
  });

  it("still fires on anything after closed, deferred or not", () => {
    const h = transition(new History(), "active", "register", "2025-01-01T00:00:00.000Z");
    transition(h, "closed", "explicit_unregister", "2025-01-01T00:00:00.000Z");
    transition(h.at(9_000), "active", "register", "2025-01-01T00:00:01.000Z");
    expect(check(E1, h)).toBeDefined();
  });
});

describe("E2 grace timer: legal histories", () => {
  /** ep-1 reconnecting from t=1 000 (grace 5 000); a reattach at t=7 000 is refused (404). */
  function refusedReattachThenLateClose(closeTs: string): History {
    const h = new History({ graceMs: 5_000 }).channel(1, 10).registered("ep-1", 10).open();
    h.at(1_000).in({ kind: "ipc_channel_closed", channel: 1, pluginAlive: true }).end();
    h.at(7_000).channel(2, 10).request(77, "POST", "/v1/endpoint/ep-1/reattach", { plugin_pid: 10 });
    h.respond(77, 404, { error: "endpoint_unknown" }).end();
    // The close projection waited in the transition queue and is posted long after it happened.
    h.at(9_000).advance();
    h.call("transition_state", {
      endpoint_id: "ep-1",
      state: "closed",
      reason: "grace_timeout",
      ts: closeTs,
    });
    return h.end();
  }

  it("measures grace from the reconnect, not from a refused reattach, and uses the projection's ts", () => {
    expect(check(E2, refusedReattachThenLateClose("2025-01-01T00:00:06.000Z"))).toBeUndefined();
  });

  it("still fires when the late-posted close happened before grace ran out", () => {
    const h = refusedReattachThenLateClose("2025-01-01T00:00:04.000Z");
    expect(check(E2, h)?.message).toMatch(/3001 ms after it became reconnecting/);
  });

  /**
   * ep-1 reconnecting from t=1 000; reattach 71 (t=2 000) and, after a drop, reattach 72 (t=3 000)
   * both drain; 71's drain fails at t=4 000 (503, ipc_close: reconnecting from then), 72's at 4 500.
   */
  function twoFailedDrains(closeTs: string): History {
    const h = new History({ graceMs: 5_000 }).channel(1, 10).registered("ep-1", 10).open();
    h.at(1_000).in({ kind: "ipc_channel_closed", channel: 1, pluginAlive: true }).end();
    h.at(2_000).channel(2, 10).request(71, "POST", "/v1/endpoint/ep-1/reattach", { plugin_pid: 10 }).end();
    h.at(2_500).in({ kind: "ipc_channel_closed", channel: 2, pluginAlive: true }).end();
    h.at(3_000).channel(3, 10).request(72, "POST", "/v1/endpoint/ep-1/reattach", { plugin_pid: 10 }).end();
    const failed = { error: "reconnecting_buffer_drain_failed", retryable: true };
    h.at(4_000).respond(71, 503, failed).end();
    h.at(4_500).respond(72, 503, failed).end();
    h.at(9_000).advance();
    h.call("transition_state", {
      endpoint_id: "ep-1",
      state: "closed",
      reason: "grace_timeout",
      ts: closeTs,
    });
    return h.end();
  }

  it("arms grace at an older reattach's failed drain even when a newer reattach made it active", () => {
    expect(check(E2, twoFailedDrains("2025-01-01T00:00:09.000Z"))).toBeUndefined();
  });

  it("still fires when grace closes before running from the first failed drain", () => {
    expect(check(E2, twoFailedDrains("2025-01-01T00:00:08.000Z"))?.message).toMatch(
      /ms after it became reconnecting/,
    );
  });

  /** ep-1 reconnecting from t=1 000.5 (grace 5 000), closed at `closeT` with a millisecond `ts`. */
  function fractionalClose(closeT: number): History {
    const h = new History({ graceMs: 5_000 }).channel(1, 10).registered("ep-1", 10).open();
    h.at(1_000.5).in({ kind: "ipc_channel_closed", channel: 1, pluginAlive: true }).end();
    const ts = new Date(Date.parse("2025-01-01T00:00:00.000Z") + Math.floor(closeT)).toISOString();
    h.at(closeT)
      .advance()
      .call("transition_state", { endpoint_id: "ep-1", state: "closed", reason: "grace_timeout", ts });
    return h.end();
  }

  it("reads a millisecond ts as the millisecond it names, not its start (grace swarm seed 79)", () => {
    expect(check(E2, fractionalClose(6_000.5))).toBeUndefined();
  });

  it("still fires for a close half a millisecond early", () => {
    expect(check(E2, fractionalClose(6_000))?.message).toMatch(/4999.5 ms after it became reconnecting/);
  });
});

describe("A10 no silent inbox loss: legal histories", () => {
  const assignedState = (state: string, seq: number) => ({
    assignment_id: "asg-1",
    source_message_id: "m1",
    undispatched_id: "m1",
    state,
    state_sequence: seq,
    state_event_id: `asg-1:${state}:${seq}`,
  });
  /** Row m1 added, dispatched to an assignment that the adapter accepted. */
  const acceptedAssignment = (): History => {
    const h = new History().inboxed("m1");
    h.call("processing_state", assignedState("assigned_to_runtime_target", 1));
    h.end().result(h.lastId).end();
    h.call("processing_state", assignedState("adapter_accepted", 2));
    return h.end().result(h.lastId).end();
  };
  const emptySnapshot = (stopped: boolean) => ({
    inbox: { size: 0, capacity: 256, ids: [] },
    assignments: [],
    stopped,
  });

  it("forgives an accepted assignment's row that the shutdown flush forgot (§5.10)", () => {
    const h = acceptedAssignment();
    h.in({ kind: "connector_closed", code: 4001, reason: "Replaced by new Runtime" }).out({
      kind: "stopped",
    });
    h.end().quiescent(emptySnapshot(true));
    expect(check(A10, h)).toBeUndefined();
  });

  it("still fires when the assignment vanished while the broker kept running", () => {
    expect(check(A10, acceptedAssignment().quiescent(emptySnapshot(false)))?.message).toMatch(
      /inbox row m1 is gone/,
    );
  });

  it("still fires after shutdown for a row the stopped broker never assigned", () => {
    const h = new History().inboxed("m1");
    h.in({ kind: "connector_closed", code: 4001, reason: "Replaced by new Runtime" }).out({
      kind: "stopped",
    });
    h.end().quiescent(emptySnapshot(true));
    expect(check(A10, h)?.message).toMatch(/inbox row m1 is gone/);
  });
});
