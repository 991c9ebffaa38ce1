/**
 * L10 bounded control traffic on hand-made histories: a row re-dispatched every second and an
 * endpoint collecting failed dispatches are reported; a backoff, and many rows each failing a few
 * times, are not.
 */

import { describe, expect, it } from "vitest";
import {
  ENDPOINT_FAILURE_BURST,
  ENDPOINT_FAILURES_PER_ROW,
  L10,
  ROW_TRAFFIC_BURST,
} from "../../sim/checkers/liveness/l10-bounded-control-traffic.ts";
import { check, History } from "./support/history.ts";

let key = 0;

/** One dispatch of `row` to `endpoint`, acked failed with `detail` (or not acked). */
function dispatch(h: History, row: string, endpoint: string, detail?: string): History {
  const k = `asg-${++key}`;
  h.in({
    kind: "control_event",
    event: {
      type: "dispatch_undispatched",
      version: 1,
      idempotency_key: k,
      undispatched_id: row,
      source_message_id: row,
      target_ref: { kind: "projection_endpoint", projection_endpoint_id: endpoint },
    },
  });
  if (detail !== undefined) h.out({ kind: "control_ack", idempotency_key: k, status: "failed", detail });
  return h.end();
}

describe("L10 bounded control traffic", () => {
  it("fires on a row re-dispatched every second", () => {
    const h = new History();
    // Unacknowledged, so only the row's own count can fire.
    for (let i = 0; i < 120; i++) dispatch(h.at(i * 1_000), "m1", "ep-1");
    expect(check(L10, h)?.message).toMatch(/undispatched row m1 drew \d+ dispatch events/);
  });

  it("passes a row retried with a doubling backoff for ten minutes", () => {
    const h = new History();
    let t = 0;
    for (let i = 0; i < 40; i++) {
      dispatch(h.at(t), "m1", "ep-1", "target endpoint did not acknowledge push receipt: ep-1");
      t += Math.min(1_000 * 2 ** i, 30_000);
    }
    expect(check(L10, h)).toBeUndefined();
  });

  it("counts the broker's undispatched_changed posts for the row too", () => {
    const h = new History();
    for (let i = 0; i <= ROW_TRAFFIC_BURST; i++) {
      h.at(i * 10)
        .call("undispatched_changed", { action: "add", undispatched_id: "m1" })
        .end();
    }
    expect(check(L10, h)?.message).toMatch(/undispatched row m1/);
  });

  it("fires on an endpoint collecting far more failed dispatches than its rows explain", () => {
    const h = new History();
    const rows = 3;
    const n = ENDPOINT_FAILURE_BURST + ENDPOINT_FAILURES_PER_ROW * rows + 1;
    for (let i = 0; i < n; i++)
      dispatch(h.at(i * 50), `m${i % rows}`, "ep-9", "target endpoint not found: ep-9");
    // Each row alone stays within its burst; the endpoint does not.
    expect(Math.ceil(n / rows)).toBeLessThanOrEqual(ROW_TRAFFIC_BURST);
    expect(check(L10, h)?.message).toMatch(/dispatches to endpoint ep-9 failed.*for 3 distinct rows/);
  });

  it("passes many rows each failing a few times on one endpoint", () => {
    const h = new History();
    for (let r = 0; r < 100; r++) {
      for (let i = 0; i < 4; i++)
        dispatch(h.at(r * 10 + i), `m${r}`, "ep-1", "target endpoint not found: ep-1");
    }
    expect(check(L10, h)).toBeUndefined();
  });
});
