/**
 * The checkers of the wider clients and connector (docs/world-model.md, `reconnect-replies`,
 * `connector-errors`): A22 (replies go out only through active endpoints) and M2 (a connector ERROR
 * settles only the send it names), each with a hand-made history that violates the invariant and
 * the legal twin.
 */

import { describe, expect, it } from "vitest";
import { A22 } from "../../sim/checkers/safety/a22-replies-need-active-endpoint.ts";
import { M2 } from "../../sim/checkers/safety/m2-connector-error-frames.ts";
import { check, History } from "./support/history.ts";

const REPLY = {
  endpoint_id: "ep-1",
  plugin_pid: 10,
  assignment_id: "a1",
  source_message_id: "m1",
  reply_request_id: "rr-1",
  content: "hi",
};

/** ep-1 registered on channel 1, then its stream closed while the plugin lives (reconnecting). */
function reconnecting(): History {
  const h = new History().channel(1, 10).registered("ep-1", 10).open();
  return h.in({ kind: "ipc_channel_closed", channel: 1, pluginAlive: true }).end();
}

describe("A22 replies go out only through active endpoints", () => {
  it("passes a reply from a reconnecting endpoint refused 409 endpoint_not_active", () => {
    const h = reconnecting();
    h.request(20, "POST", "/v1/runtime/assignment-reply", REPLY);
    h.respond(20, 409, { error: "endpoint_not_active" }).end();
    expect(check(A22, h)).toBeUndefined();
  });

  it("passes a stored answer to a repeat from a reconnecting endpoint, and a new reply from an active one", () => {
    const h = reconnecting();
    h.request(20, "POST", "/v1/runtime/assignment-reply", REPLY);
    h.respond(20, 200, { messageId: "w1", status: "sent" }).end();
    const active = new History().channel(1, 10).registered("ep-1", 10).open();
    active.request(21, "POST", "/v1/runtime/assignment-reply", REPLY);
    active.call("processing_state", {
      state: "reply_requested",
      assignment_id: "a1",
      reply_request_id: "rr-1",
    });
    active.end();
    expect(check(A22, h)).toBeUndefined();
    expect(check(A22, active)).toBeUndefined();
  });

  it("reports a reply_requested posted for a reply from a reconnecting endpoint", () => {
    const h = reconnecting();
    h.request(20, "POST", "/v1/runtime/assignment-reply", REPLY);
    h.call("processing_state", {
      state: "reply_requested",
      assignment_id: "a1",
      reply_request_id: "rr-1",
    }).end();
    expect(check(A22, h)?.message).toMatch(
      /reply request 20 \(assignment a1, key rr-1\) through endpoint ep-1, which is reconnecting, posted reply_requested/,
    );
  });

  it("reports a SEND_MESSAGE written from a reconnecting endpoint for a sendable record", () => {
    const h = reconnecting();
    h.request(20, "POST", "/v1/runtime/assignment-reply", REPLY);
    h.send({
      event: "SEND_MESSAGE",
      messageId: "w1",
      to: "a",
      content: "hi",
      metadata: { source_endpoint_id: "ep-1" },
    });
    expect(check(A22, h.end())?.message).toMatch(/which is reconnecting, wrote a SEND_MESSAGE/);
  });
});

/** Request 30 (`/v1/send`) writes SEND_MESSAGE `w1`; then the connector answers with `frame`. */
function sent(frame: Record<string, unknown>): History {
  const h = new History().channel(1, 10).registered("ep-1", 10).open().online();
  h.request(30, "POST", "/v1/send", { endpoint_id: "ep-1", to: "agent://x", content: "hi" });
  h.send({ event: "SEND_MESSAGE", messageId: "w1", to: "agent://x", content: "hi", metadata: {} }).end();
  return h.frame(frame);
}

describe("M2 a connector ERROR settles only the send it names", () => {
  const refusal = {
    event: "ERROR",
    code: "recipient_blocked",
    message: "no",
    messageId: "w1",
    to: "agent://x",
  };

  it("passes a refused send answered 502 connector_send_rejected", () => {
    const h = sent(refusal).respond(30, 502, { error: "connector_send_rejected", retryable: false }).end();
    expect(check(M2, h)).toBeUndefined();
  });

  it("reports a refused send answered otherwise", () => {
    const h = sent(refusal).respond(30, 500, { error: "internal_error" }).end();
    expect(check(M2, h)?.message).toMatch(
      /the connector refused SEND_MESSAGE w1 of request 30 \(ERROR recipient_blocked to agent:\/\/x\), but the request was answered 500/,
    );
  });

  it("passes a notice naming no send, after which the SEND_ACK answers the request", () => {
    const h = sent({ event: "ERROR", code: "rate_limited", message: "slow down", to: "agent://x" }).end();
    h.frame({ event: "SEND_ACK", messageId: "w1", status: "sent" });
    h.respond(30, 200, { messageId: "w1", status: "sent" }).end();
    expect(check(M2, h)).toBeUndefined();
  });

  it("reports a request answered in the step of an ERROR that names no pending send", () => {
    const h = sent({ event: "ERROR", code: "rate_limited", message: "slow down", to: "agent://x" });
    h.respond(30, 502, { error: "connector_send_rejected" }).end();
    expect(check(M2, h)?.message).toMatch(
      /request 30 was answered 502 in the step of a connector ERROR rate_limited to agent:\/\/x, which names no pending send/,
    );
  });
});
