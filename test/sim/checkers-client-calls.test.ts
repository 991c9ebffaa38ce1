/**
 * The checkers for the wider clients (docs/world-model.md): X2 (bad input is refused cleanly), A14
 * (a local dispatch does what it names), A15 (a final adapter state ends the assignment) and M1 (outbound trace and `require_live` metadata), each with a hand-made history that violates the invariant and the legal twin.
 */

import { describe, expect, it } from "vitest";
import { A14 } from "../../sim/checkers/safety/a14-local-dispatch.ts";
import { A15 } from "../../sim/checkers/safety/a15-final-state-ends-assignment.ts";
import { M1 } from "../../sim/checkers/safety/m1-outbound-metadata.ts";
import { badInput, X2 } from "../../sim/checkers/safety/x2-bad-input.ts";
import { check, History } from "./support/history.ts";

const req = (method: "GET" | "POST" | "DELETE", path: string, body: unknown = {}) => ({
  kind: "ipc_request" as const,
  id: 1,
  method,
  path,
  pidHeader: "10",
  body,
});
const send = { endpoint_id: "ep-1", to: "a", content: "hi" };

describe("X2 bad input is refused cleanly", () => {
  it("recognises requests no correct broker may accept", () => {
    const issued = new Set(["ep-1"]);
    expect(
      badInput(req("POST", "/v1/initialize", { client_protocol_version: "2.0", client_kind: "k" }), issued),
    ).toMatch(/protocol version 2.0/);
    expect(badInput(req("POST", "/v1/send", "not json"), issued)).toMatch(/not a JSON object/);
    expect(badInput(req("POST", "/v1/send", { ...send, require_live: "yes" }), issued)).toMatch(
      /require_live/,
    );
    expect(badInput(req("POST", "/v1/send", { ...send, endpoint_id: "ep-9" }), issued)).toMatch(
      /never issued/,
    );
    expect(badInput(req("POST", "/v1/send?x=1", send), issued)).toMatch(/query string/);
    expect(badInput(req("GET", "/v1/send"), issued)).toMatch(/GET on/);
    expect(badInput(req("POST", "/v1/nowhere"), issued)).toMatch(/no route/);
    expect(badInput(req("POST", "/v1/dispatch", { undispatched_id: "u" }), issued)).toMatch(
      /dispatch without/,
    );
    expect(badInput(req("POST", "/v1/endpoint/register", { plugin_pid: "7" }), issued)).toMatch(/plugin_pid/);
    expect(badInput(req("POST", "/v1/endpoint/ep-9/heartbeat"), issued)).toMatch(/never issued/);
  });

  it("leaves legal requests alone", () => {
    const issued = new Set(["ep-1"]);
    expect(
      badInput(req("POST", "/v1/initialize", { client_protocol_version: "1.1", client_kind: "k" }), issued),
    ).toBeUndefined();
    expect(
      badInput(
        req("POST", "/v1/send", { ...send, require_live: true, metadata: { traceparent: "X" } }),
        issued,
      ),
    ).toBeUndefined();
    expect(
      badInput(req("POST", "/v1/endpoint/register", { plugin_pid: 7, kind: "k" }), issued),
    ).toBeUndefined();
    expect(badInput(req("DELETE", "/v1/endpoint/ep-9"), issued)).toBeUndefined();
    expect(badInput(req("GET", "/v1/undispatched?endpoint_id=ep-1", undefined), issued)).toBeUndefined();
    expect(
      badInput(req("POST", "/v1/dispatch", { undispatched_id: "u", target_endpoint_id: "ep-1" }), issued),
    ).toBeUndefined();
  });

  it("passes when a bad body gets a 400 with an error code and no effect", () => {
    const h = new History().channel(1, 10).registered("ep-1", 10).open();
    h.request(50, "POST", "/v1/send", { ...send, require_live: "yes" });
    h.respond(50, 400, { error: "bad_request", message: "require_live must be a boolean" }).end();
    expect(check(X2, h)).toBeUndefined();
  });

  it("reports a bad body answered 500", () => {
    const h = new History().channel(1, 10).registered("ep-1", 10).open();
    h.request(50, "POST", "/v1/runtime/processing-state", [1, 2]);
    h.respond(50, 500, { error: "internal_error", message: "boom" }).end();
    expect(check(X2, h)?.message).toMatch(
      /request 50 \(a body that is not a JSON object\) was answered 500 internal_error/,
    );
  });

  it("reports a refusal without an error code", () => {
    const h = new History().channel(1, 10).open();
    h.request(50, "POST", "/v1/initialize", { client_protocol_version: "2.0", client_kind: "k" });
    h.respond(50, 400, {}).end();
    expect(check(X2, h)?.message).toMatch(/answered 400 without an error code/);
  });

  it("reports a send for a never-issued endpoint that reaches the connector", () => {
    const h = new History().channel(1, 10).registered("ep-1", 10).open();
    h.request(50, "POST", "/v1/send", { ...send, endpoint_id: "ep-404" });
    h.send({ type: "SEND_MESSAGE", to: "a", content: "hi" });
    expect(check(X2, h)?.message).toMatch(/endpoint ep-404 was never issued\) had an effect: connector_send/);
  });
});

describe("A14 local dispatch", () => {
  const assigned = (row: string, target: string) => ({
    state: "assigned_to_runtime_target",
    assignment_id: "local-1",
    source_message_id: row,
    undispatched_id: row,
    state_sequence: 1,
    target_ref: { kind: "projection_endpoint", projection_endpoint_id: target },
    broker_projection_token: "t",
  });

  it("passes when the named row is assigned to the named endpoint before the 200", () => {
    const h = new History().channel(1, 10).registered("ep-1", 10).open();
    h.request(50, "POST", "/v1/dispatch", { undispatched_id: "m-1", target_endpoint_id: "ep-1" });
    h.call("processing_state", assigned("m-1", "ep-1"));
    const id = h.lastId;
    h.end().result(id).respond(50, 200, { ok: true }).end();
    expect(check(A14, h)).toBeUndefined();
  });

  it("passes when a refused dispatch posts nothing", () => {
    const h = new History().channel(1, 10).registered("ep-1", 10).open();
    h.request(50, "POST", "/v1/dispatch", { undispatched_id: "m-1", target_endpoint_id: "ep-1" });
    h.respond(50, 400, { error: "dispatch_failed" }).end();
    expect(check(A14, h)).toBeUndefined();
  });

  it("reports a dispatch assigned to another endpoint", () => {
    const h = new History().channel(1, 10).registered("ep-1", 10).open();
    h.request(50, "POST", "/v1/dispatch", { undispatched_id: "m-1", target_endpoint_id: "ep-1" });
    h.call("processing_state", assigned("m-1", "ep-2")).end();
    expect(check(A14, h)?.message).toMatch(
      /named row m-1 and endpoint ep-1, but the broker assigned row m-1 to ep-2/,
    );
  });

  it("reports a 200 with no assignment posted", () => {
    const h = new History().channel(1, 10).registered("ep-1", 10).open();
    h.request(50, "POST", "/v1/dispatch", { undispatched_id: "m-1", target_endpoint_id: "ep-1" });
    h.respond(50, 200, { ok: true }).end();
    expect(check(A14, h)?.message).toMatch(/answered 200 without an assigned_to_runtime_target post/);
  });
});

describe("M1 outbound metadata", () => {
  const tp = "00-0123456789abcdef0123456789abcdef-0123456789abcdef-01";
  const frame = (metadata: Record<string, unknown>) => ({
    event: "SEND_MESSAGE",
    messageId: "f-1",
    to: "a",
    content: "hi",
    contentType: "text",
    metadata,
  });
  const sendWith = (body: Record<string, unknown>, metadata: Record<string, unknown>) => {
    const h = new History().channel(1, 10).registered("ep-1", 10).open();
    h.request(50, "POST", "/v1/send", { ...send, ...body });
    return h.send(frame(metadata)).end();
  };

  it("passes when an upper-case client traceparent is replaced and require_live is carried", () => {
    const h = sendWith(
      { metadata: { traceparent: tp.toUpperCase() }, require_live: true },
      { traceparent: tp, require_live: true },
    );
    expect(check(M1, h)).toBeUndefined();
  });

  it("reports an upper-case traceparent passed through", () => {
    const h = sendWith(
      { metadata: { traceparent: tp.toUpperCase() } },
      { traceparent: tp.toUpperCase(), require_live: false },
    );
    expect(check(M1, h)?.message).toMatch(/not a valid W3C traceparent/);
  });

  it("reports a client's valid traceparent replaced", () => {
    const other = "00-ffffffffffffffffffffffffffffffff-0123456789abcdef-01";
    const h = sendWith({ metadata: { traceparent: tp } }, { traceparent: other, require_live: false });
    expect(check(M1, h)?.message).toMatch(/replaced the client's valid traceparent/);
  });

  it("reports require_live dropped from the frame", () => {
    const h = sendWith({ require_live: true }, { traceparent: tp, require_live: false });
    expect(check(M1, h)?.message).toMatch(/require_live false; the body said true/);
  });
});

describe("A15 a final adapter state ends the assignment", () => {
  const failedThenQuiet = (assignments: Array<{ assignmentId: string; accepted: boolean }>) => {
    const h = new History().channel(1, 10).registered("ep-1", 10).open();
    h.request(70, "POST", "/v1/runtime/processing-state", {});
    h.call("processing_state", {
      state: "processing_failed",
      assignment_id: "as-1",
      source_message_id: "m-1",
    });
    const id = h.lastId;
    h.end().result(id).end();
    return h.quiescent({ assignments } as never);
  };

  it("passes when the broker forgot the failed assignment", () => {
    expect(check(A15, failedThenQuiet([{ assignmentId: "as-2", accepted: true }]))).toBeUndefined();
  });

  it("reports an assignment still held after its processing_failed was accepted", () => {
    expect(check(A15, failedThenQuiet([{ assignmentId: "as-1", accepted: true }]))?.message).toMatch(
      /still holds 1 assignment\(s\) whose processing_failed or expired the platform accepted: as-1 \(accepted\)/,
    );
  });
});
