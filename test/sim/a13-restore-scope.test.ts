/**
 * A13 restores take only their endpoint's unaccepted assignments, on hand-made histories: an
 * acceptance-timeout restore of an assignment whose endpoint has nothing old enough, an
 * endpoint-lost restore of an endpoint active all along, and a restore of an accepted assignment
 * are reported; the restore after the deadline, after the endpoint's loss, and an adapter's own
 * report of the state are not.
 */

import { describe, expect, it } from "vitest";
import { A13 } from "../../sim/checkers/safety/a13-restore-scope.ts";
import { check, History } from "./support/history.ts";

function state(assignment: string, endpoint: string, st: string, extra: Record<string, unknown> = {}) {
  return {
    type: "runtime_processing_state",
    version: 1,
    source_message_id: `m-${assignment}`,
    assignment_id: assignment,
    state_event_id: `${assignment}:${st}`,
    state_sequence: 1,
    target_ref: {
      kind: "projection_endpoint",
      projection_endpoint_id: endpoint,
      background_exchange_mode: "resident_endpoint",
    },
    state: st,
    occurred_at: 0,
    ...extra,
  };
}

/** The broker dispatches `assignment` to `endpoint` at `t`. */
function dispatch(h: History, t: number, assignment: string, endpoint: string): History {
  h.at(t).in({ kind: "control_event", event: { type: "dispatch_undispatched" } });
  h.call("processing_state", state(assignment, endpoint, "assigned_to_runtime_target"));
  return h.end();
}

/** The broker restores `assignment` of `endpoint` at `t` for `reason`. */
function restore(h: History, t: number, assignment: string, endpoint: string, reason: string): History {
  h.at(t).advance();
  h.call(
    "processing_state",
    state(assignment, endpoint, "target_lost_before_acceptance", { reason_code: reason }),
  );
  return h.end();
}

describe("A13 restores take only their endpoint's unaccepted assignments", () => {
  it("fires on an acceptance-timeout restore of an endpoint with no assignment that old", () => {
    const h = dispatch(new History(), 0, "asg-1", "ep-1");
    dispatch(h, 25_000, "asg-2", "ep-2");
    restore(h, 30_000, "asg-1", "ep-1", "adapter_acceptance_timeout");
    restore(h, 30_000, "asg-2", "ep-2", "adapter_acceptance_timeout");
    expect(check(A13, h)?.message).toMatch(
      /assignment asg-2 of ep-2 \(reason adapter_acceptance_timeout\): no unaccepted assignment of that endpoint was dispatched 30000 ms before/,
    );
  });

  it("passes the restore of every unaccepted assignment of the endpoint whose deadline fired", () => {
    const h = dispatch(new History(), 0, "asg-1", "ep-1");
    dispatch(h, 25_000, "asg-2", "ep-1");
    restore(h, 30_000, "asg-1", "ep-1", "adapter_acceptance_timeout");
    restore(h, 30_000, "asg-2", "ep-1", "adapter_acceptance_timeout");
    expect(check(A13, h)).toBeUndefined();
  });

  it("fires on an endpoint-lost restore of an endpoint active since before the dispatch", () => {
    const h = new History().channel(1, 10).channel(2, 20);
    h.registered("ep-1", 10).registered("ep-2", 20, { plugin_pid: 20 });
    dispatch(h, 100, "asg-1", "ep-1");
    dispatch(h, 100, "asg-2", "ep-2");
    h.at(200).in({ kind: "ipc_channel_closed", channel: 1, pluginAlive: false });
    h.call(
      "processing_state",
      state("asg-1", "ep-1", "target_lost_before_acceptance", { reason_code: "endpoint_lost" }),
    );
    h.call(
      "processing_state",
      state("asg-2", "ep-2", "target_lost_before_acceptance", { reason_code: "endpoint_lost" }),
    );
    h.end();
    expect(check(A13, h)?.message).toMatch(
      /assignment asg-2 of ep-2 \(reason endpoint_lost\): the endpoint has been active since/,
    );
  });

  it("fires on a restore of an assignment the platform took as accepted", () => {
    const h = dispatch(new History(), 0, "asg-1", "ep-1");
    h.at(10).request(5, "POST", "/v1/runtime/processing-state", { state: "adapter_accepted" });
    h.call("processing_state", state("asg-1", "ep-1", "adapter_accepted"));
    const id = h.lastId;
    h.end().at(11).result(id).respond(5, 200, { ok: true }).end();
    restore(h, 40_000, "asg-1", "ep-1", "adapter_acceptance_timeout");
    expect(check(A13, h)?.message).toMatch(/which the platform had taken as accepted/);
  });

  it("passes an adapter's own report of target_lost_before_acceptance", () => {
    const h = dispatch(new History(), 0, "asg-1", "ep-1");
    h.at(10).request(5, "POST", "/v1/runtime/processing-state", { state: "target_lost_before_acceptance" });
    h.call(
      "processing_state",
      state("asg-1", "ep-1", "target_lost_before_acceptance", { reason_code: "endpoint_lost" }),
    );
    expect(check(A13, h.end())).toBeUndefined();
  });
});
