/**
 * The checkers of the platform's wider answers (docs/world-model.md, `platform-answers`): A20
 * (platform answers reach the plugin) and A21 (heartbeats follow the register answer), each with a
 * hand-made history that violates the invariant and the legal twin.
 */

import { describe, expect, it } from "vitest";
import { A20 } from "../../sim/checkers/safety/a20-platform-answers-passed-on.ts";
import { A21 } from "../../sim/checkers/safety/a21-heartbeat-schedule.ts";
import { check, History } from "./support/history.ts";

const REGISTER = { plugin_pid: 10, kind: "k", capabilities: [] };
const NAMING = { nickname: "nick", owner_edited_name: null };

/** A registration whose platform call answers `result`, then the broker's answer `status`/`body`. */
function registration(
  result: Record<string, unknown>,
  status: number,
  body: Record<string, unknown>,
  causes = true,
) {
  const h = new History({}, 0, causes).channel(1, 10).open();
  h.request(7, "POST", "/v1/endpoint/register", REGISTER).call("register", { nonce: "n" });
  const call = h.lastId;
  return h.end().result(call, result).respond(7, status, body).end();
}

function replyRefused(refusal: Record<string, unknown>, status: number, body: Record<string, unknown>) {
  const h = new History().channel(1, 10).registered("ep-1", 10).open();
  h.request(9, "POST", "/v1/runtime/assignment-reply", { endpoint_id: "ep-1", reply_request_id: "rr" });
  h.call("processing_state", { state: "reply_requested", assignment_id: "a1", source_message_id: "m1" });
  const call = h.lastId;
  return h
    .end()
    .result(call, { ok: false, ...refusal })
    .respond(9, status, body)
    .end();
}

describe("A20 platform answers reach the plugin", () => {
  it("passes when the register answer's session_naming is handed on unchanged", () => {
    const ok = { ok: true, endpoint_id: "ep-1", session_naming: NAMING };
    expect(
      check(A20, registration(ok, 200, { endpoint_id: "ep-1", session_naming: NAMING })),
    ).toBeUndefined();
    expect(
      check(A20, registration({ ok: true, endpoint_id: "ep-1" }, 200, { endpoint_id: "ep-1" })),
    ).toBeUndefined();
  });

  it("reports a session_naming dropped, changed or made up", () => {
    const ok = { ok: true, endpoint_id: "ep-1", session_naming: NAMING };
    expect(check(A20, registration(ok, 200, { endpoint_id: "ep-1" }))?.message).toMatch(
      /registration 7 was answered with session_naming undefined, but the platform's register answer had \{"nickname":"nick","owner_edited_name":null\}/,
    );
    expect(
      check(A20, registration(ok, 200, { endpoint_id: "ep-1", session_naming: { nickname: "nick" } }))
        ?.message,
    ).toMatch(/registration 7 was answered with session_naming \{"nickname":"nick"\}/);
    expect(
      check(
        A20,
        registration({ ok: true, endpoint_id: "ep-1" }, 200, { endpoint_id: "ep-1", session_naming: NAMING }),
      )?.message,
    ).toMatch(/the platform's register answer had undefined/);
  });

  it("matches the register call to its request by the step when the target gives no causes", () => {
    const ok = { ok: true, endpoint_id: "ep-1", session_naming: NAMING };
    expect(check(A20, registration(ok, 200, { endpoint_id: "ep-1" }, false))?.message).toMatch(
      /registration 7/,
    );
    expect(
      check(A20, registration(ok, 200, { endpoint_id: "ep-1", session_naming: NAMING }, false)),
    ).toBeUndefined();
  });

  it("passes when a refused reply_requested answers 409 or 503 with the refusal's category", () => {
    const terminal = { terminal: true, status: 422, assignmentFailureCategory: "acceptance_rejected" };
    const body = {
      error: "runtime_reply_request_rejected",
      assignment_failure_category: "acceptance_rejected",
    };
    expect(check(A20, replyRefused(terminal, 409, body))).toBeUndefined();
    expect(
      check(
        A20,
        replyRefused({ terminal: false, status: 503 }, 503, { error: "runtime_reply_request_rejected" }),
      ),
    ).toBeUndefined();
  });

  it("reports a refusal answered with the wrong status or without its category", () => {
    const terminal = { terminal: true, status: 422, assignmentFailureCategory: "acceptance_rejected" };
    expect(
      check(A20, replyRefused(terminal, 409, { error: "runtime_reply_request_rejected" }))?.message,
    ).toMatch(
      /refused the reply_requested post of request 9 \(terminal, acceptance_rejected\), but the request was answered 409 runtime_reply_request_rejected; expected 409 runtime_reply_request_rejected with acceptance_rejected/,
    );
    const body = { error: "runtime_reply_request_rejected" };
    expect(check(A20, replyRefused({ terminal: false, status: 503 }, 409, body))?.message).toMatch(
      /\(transient\), but the request was answered 409/,
    );
  });

  it("judges an adapter report the platform refused the same way", () => {
    const h = new History().channel(1, 10).registered("ep-1", 10).open();
    h.request(11, "POST", "/v1/runtime/processing-state", {
      endpoint_id: "ep-1",
      state: "processing_started",
    });
    h.call("processing_state", { state: "processing_started", assignment_id: "a1" });
    const call = h.lastId;
    h.end().result(call, {
      ok: false,
      terminal: true,
      status: 409,
      assignmentFailureCategory: "reply_handle_stale",
    });
    const bad = new History();
    bad.events.push(...h.events);
    h.respond(11, 409, {
      error: "runtime_processing_state_rejected",
      assignment_failure_category: "reply_handle_stale",
    });
    expect(check(A20, h.end())).toBeUndefined();
    bad.respond(11, 409, { error: "runtime_processing_state_rejected" }).end();
    expect(check(A20, bad)?.message).toMatch(/processing_started post of request 11/);
  });
});

/** A register answer at t=0 naming `seconds`, then heartbeat calls at `beats` (ms). */
function beats(seconds: unknown, at: number[]) {
  const h = new History().channel(1, 10).open();
  h.request(7, "POST", "/v1/endpoint/register", REGISTER).call("register", { nonce: "n" });
  const call = h.lastId;
  const result: Record<string, unknown> = { ok: true, endpoint_id: "ep-1" };
  if (seconds !== undefined) result.heartbeat_after_seconds = seconds;
  h.end().result(call, result).respond(7, 200, { endpoint_id: "ep-1" }).end();
  for (const t of at) h.at(t).advance().call("heartbeat", { endpoint_id: "ep-1" }).end();
  return h;
}

describe("A21 heartbeats follow the register answer", () => {
  it("passes heartbeats at the interval the register answer named", () => {
    expect(check(A21, beats(30, [30_000, 60_000, 95_000]))).toBeUndefined();
    expect(check(A21, beats(undefined, []))).toBeUndefined();
  });

  it("reports a heartbeat when the register answer named no positive interval", () => {
    expect(check(A21, beats(undefined, [30_000]))?.message).toMatch(
      /heartbeats endpoint ep-1 although its register answer's heartbeat_after_seconds was absent/,
    );
    expect(check(A21, beats(0, [30_000]))?.message).toMatch(/heartbeat_after_seconds was 0/);
    expect(check(A21, beats(-5, [30_000]))?.message).toMatch(/heartbeat_after_seconds was -5/);
  });

  it("reports a heartbeat sooner than the interval", () => {
    expect(check(A21, beats(10, [10_000, 15_000]))?.message).toMatch(
      /heartbeats endpoint ep-1 at t=15000, 5000 ms after its registration or previous heartbeat \(t=10000\); the register answer's interval is 10000 ms/,
    );
  });
});
