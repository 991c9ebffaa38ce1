/**
 * A12 adapter reports are taken as reported, on hand-made histories: a well-formed
 * `processing_started` refused as malformed or broker-owned, one answered 200 but posted changed,
 * and a registration whose `execution_surface` never reached the platform are reported; the same
 * report posted as sent (its sequence raised) and a registration passed on unchanged are not.
 */

import { describe, expect, it } from "vitest";
import { A12, wellFormedReport } from "../../sim/checkers/safety/a12-adapter-reports-as-reported.ts";
import { check, History } from "./support/history.ts";

const REPORT = {
  endpoint_id: "ep-1",
  plugin_pid: 10,
  endpoint_owner_token: "tok-ep-1",
  assignment_id: "asg-1",
  source_message_id: "m1",
  undispatched_id: "m1",
  state: "processing_started",
  state_sequence: 2,
  state_event_id: "asg-1:processing_started:2",
};

/** The plugin reports `REPORT`; the broker posts `posted` (if any) and answers `status`. */
function report(posted: Record<string, unknown> | undefined, status: number, error?: string): History {
  const h = new History().at(10).request(7, "POST", "/v1/runtime/processing-state", REPORT);
  if (posted !== undefined) {
    h.call("processing_state", { type: "runtime_processing_state", version: 1, ...posted });
    const id = h.lastId;
    h.end().at(20).result(id);
  }
  return h.respond(7, status, status === 200 ? { ok: true } : { error, message: "no" }).end();
}

const AS_SENT = {
  source_message_id: "m1",
  assignment_id: "asg-1",
  state: "processing_started",
  state_sequence: 3,
  state_event_id: "asg-1:processing_started:2",
};

/** The plugin registers with `execution_surface: "headless"`; the broker calls `register` with `args`. */
function register(args: Record<string, unknown>): History {
  const body = { plugin_pid: 10, kind: "k", session_name: "k-10", execution_surface: "headless" };
  const h = new History().channel(1, 10).at(10).request(8, "POST", "/v1/endpoint/register", body);
  h.call("register", { nonce: "n", plugin_pid: 10, capabilities: [], display_label: "k", ...args });
  const id = h.lastId;
  return h
    .end()
    .at(20)
    .result(id, { ok: true, endpoint_id: "ep-1" })
    .respond(8, 200, { endpoint_id: "ep-1", endpoint_owner_token: "t" })
    .end();
}

describe("A12 adapter reports are taken as reported", () => {
  it("knows a well-formed report from a malformed one", () => {
    expect(wellFormedReport(REPORT)).toBe(true);
    expect(wellFormedReport({ ...REPORT, state: "reply_emitted" })).toBe(false);
    expect(wellFormedReport({ ...REPORT, state_sequence: -1 })).toBe(false);
    expect(wellFormedReport({ ...REPORT, detail: 3 })).toBe(false);
  });

  it("fires when a well-formed processing_started is refused as malformed", () => {
    expect(check(A12, report(undefined, 400, "bad_request"))?.message).toMatch(
      /well-formed processing_started report \(request 7, assignment asg-1\) was refused as malformed: 400 bad_request/,
    );
  });

  it("fires when a well-formed processing_started is refused as broker-owned", () => {
    expect(check(A12, report(undefined, 403, "processing_started_broker_owned"))?.message).toMatch(
      /refused as broker-owned/,
    );
  });

  it("fires when a report answered 200 reached the platform with a lower sequence", () => {
    expect(check(A12, report({ ...AS_SENT, state_sequence: 1 }, 200))?.message).toMatch(
      /reached the platform changed: state_sequence=1/,
    );
  });

  it("fires when a report answered 200 was never posted", () => {
    expect(check(A12, report(undefined, 200))?.message).toMatch(/answered 200 but never posted/);
  });

  it("passes a report posted as sent with its sequence raised, and a refusal for ownership", () => {
    expect(check(A12, report(AS_SENT, 200))).toBeUndefined();
    expect(check(A12, report(undefined, 403, "endpoint_token_mismatch"))).toBeUndefined();
  });

  it("fires when a registration's execution_surface never reached the platform", () => {
    expect(check(A12, register({ kind: "k", session_name: "k-10" }))?.message).toMatch(
      /registration 8 reached the platform with execution_surface=undefined \(sent "headless"\)/,
    );
  });

  it("passes a registration passed on unchanged", () => {
    const args = { kind: "k", session_name: "k-10", execution_surface: "headless" };
    expect(check(A12, register(args))).toBeUndefined();
  });

  it("fires when a well-formed assignment reply or send is refused for its form", () => {
    const reply = {
      endpoint_id: "ep-1",
      plugin_pid: 10,
      endpoint_owner_token: "t",
      assignment_id: "asg-1",
      source_message_id: "m1",
      reply_request_id: "rr-1",
      content: "hi",
    };
    const h = new History().at(10).request(9, "POST", "/v1/runtime/assignment-reply", reply);
    h.respond(9, 400, { error: "bad_request", message: "content must be a string" }).end();
    expect(check(A12, h)?.message).toMatch(
      /well-formed reply \(request 9\) was refused for its form: 400 bad_request/,
    );
    const r = new History().at(10).request(9, "POST", "/v1/runtime/assignment-reply", reply);
    r.respond(9, 400, { error: "reply_request_id_required", message: "required" }).end();
    expect(check(A12, r)?.message).toMatch(/well-formed reply .* 400 reply_request_id_required/);
    const noRrid = { ...reply, reply_request_id: "" };
    const q = new History().at(10).request(9, "POST", "/v1/runtime/assignment-reply", noRrid);
    q.respond(9, 400, { error: "reply_request_id_required", message: "required" }).end();
    expect(check(A12, q)).toBeUndefined();
    const send = { endpoint_id: "ep-1", plugin_pid: 10, to: "someone", content: "hi" };
    const g = new History().at(10).request(9, "POST", "/v1/send", send);
    g.respond(9, 403, { error: "source_endpoint_id_mismatch", message: "no" }).end();
    expect(check(A12, g)?.message).toMatch(/well-formed send .* 403 source_endpoint_id_mismatch/);
    const c = new History().at(10).request(9, "POST", "/v1/send", send);
    c.respond(9, 400, { error: "correlation_id_forbidden", message: "no" }).end();
    expect(check(A12, c)?.message).toMatch(/well-formed send .* 400 correlation_id_forbidden/);
  });

  it("passes the refusal of a malformed reply and of a send naming another sender", () => {
    const reply = { assignment_id: "asg-1", source_message_id: "m1", reply_request_id: "rr-1", content: 3 };
    const h = new History().at(10).request(9, "POST", "/v1/runtime/assignment-reply", reply);
    h.respond(9, 400, { error: "bad_request", message: "content must be a string" }).end();
    expect(check(A12, h)).toBeUndefined();
    const send = { endpoint_id: "ep-1", to: "x", content: "hi", metadata: { source_endpoint_id: "ep-2" } };
    const g = new History().at(10).request(9, "POST", "/v1/send", send);
    g.respond(9, 403, { error: "source_endpoint_id_mismatch", message: "no" }).end();
    expect(check(A12, g)).toBeUndefined();
    const own = { endpoint_id: "ep-1", to: "x", content: "hi", metadata: { correlation_id: "c-1" } };
    const k = new History().at(10).request(9, "POST", "/v1/send", own);
    k.respond(9, 400, { error: "correlation_id_forbidden", message: "no" }).end();
    expect(check(A12, k)).toBeUndefined();
  });
});
