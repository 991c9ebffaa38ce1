import { describe, expect, it } from "vitest";
import { BrokerPair, OK } from "../../support/broker-pair.ts";

function world() {
  const pair = new BrokerPair();
  pair.connect();
  const ep = pair.register(100, 1).endpointId;
  return { pair, ep };
}

/** Everything a wrong request must leave untouched. */
function state(pair: BrokerPair) {
  const s = pair.core.snapshot();
  return {
    endpoints: s.endpoints,
    inbox: s.inbox,
    deadlines: s.deadlines,
    api: pair.core.env.pendingApiCalls,
  };
}

describe("route matching", () => {
  it("answers an unknown path with 404 not_found", () => {
    const { pair } = world();
    const id = pair.request("GET", "/v1/nope");
    expect(pair.response(id)).toMatchObject({ status: 404, body: { error: "not_found" } });
  });

  it("answers a known path with the wrong method with 405 method_not_allowed", () => {
    const { pair } = world();
    const id = pair.request("GET", "/v1/send");
    expect(pair.response(id)).toMatchObject({ status: 405, body: { error: "method_not_allowed" } });
  });

  it("answers a POST route with a query string with 404", () => {
    const { pair, ep } = world();
    const id = pair.request("POST", "/v1/send?x=1", { endpoint_id: ep, to: "a", content: "b" });
    expect(pair.response(id)).toMatchObject({ status: 404, body: { error: "not_found" } });
    expect(pair.sentFrames("SEND_MESSAGE")).toHaveLength(0);
  });

  it("reports health with the IPC protocol version", () => {
    const { pair } = world();
    const id = pair.request("GET", "/health");
    expect(pair.response(id)).toMatchObject({ status: 200, body: { ok: true, protocol_version: "1.1" } });
  });
});

describe("POST /v1/initialize", () => {
  it("returns a session and the current network presence", () => {
    const { pair } = world();
    const id = pair.request("POST", "/v1/initialize", { client_protocol_version: "1.4", client_kind: "sdk" });
    expect(pair.response(id)).toMatchObject({
      status: 200,
      body: { server_protocol_version: "1.1", network_presence: "online" },
    });
  });

  it("refuses another major version and malformed bodies with 400", () => {
    const { pair } = world();
    const a = pair.request("POST", "/v1/initialize", { client_protocol_version: "2.0", client_kind: "sdk" });
    const b = pair.request("POST", "/v1/initialize", { client_protocol_version: 1, client_kind: "sdk" });
    const c = pair.request("POST", "/v1/initialize", "nope");
    expect(pair.response(a)).toMatchObject({ status: 400, body: { error: "protocol_version_mismatch" } });
    expect(pair.response(b)).toMatchObject({ status: 400, body: { error: "bad_request" } });
    expect(pair.response(c)).toMatchObject({ status: 400, body: { error: "bad_request" } });
  });
});

describe("POST /v1/endpoint/register", () => {
  it("refuses a pid without an open stream with 400 ipc_channel_missing", () => {
    const { pair } = world();
    const id = pair.request("POST", "/v1/endpoint/register", { plugin_pid: 999, kind: "claude" });
    expect(pair.response(id)).toMatchObject({ status: 400, body: { error: "ipc_channel_missing" } });
    expect(pair.calls("register")).toHaveLength(0);
  });

  it("refuses wrong types with a clear 400 and never calls the platform", () => {
    const { pair } = world();
    const bodies: Array<[unknown, number, string]> = [
      [null, 400, "bad_request"],
      [[1, 2], 400, "bad_request"],
      [{ plugin_pid: "100", kind: "claude" }, 400, "plugin_pid_invalid"],
      [{ plugin_pid: -1, kind: "claude" }, 400, "plugin_pid_invalid"],
      [{ plugin_pid: 100, kind: 7 }, 400, "bad_request"],
      [{ plugin_pid: 100, kind: "claude", capabilities: "all" }, 400, "bad_request"],
      [
        { plugin_pid: 100, kind: "claude", runtime_session_id: "__masons_x" },
        400,
        "invalid_runtime_session_id",
      ],
      [{ plugin_pid: 100, kind: "claude", workspace: { root: "" } }, 422, "invalid_request"],
      [{ plugin_pid: 100, kind: "claude", headless: "yes" }, 400, "bad_request"],
    ];
    for (const [body, status, error] of bodies) {
      const id = pair.request("POST", "/v1/endpoint/register", body);
      expect(pair.response(id), JSON.stringify(body)).toMatchObject({ status, body: { error } });
    }
    expect(pair.calls("register")).toHaveLength(0);
    expect(pair.core.internalErrors).toBe(0);
  });

  it("answers 500 internal_error when the platform refuses the registration", () => {
    const { pair } = world();
    const id = pair.request("POST", "/v1/endpoint/register", { plugin_pid: 100, kind: "claude" });
    pair.answerOne("register", { ok: false, terminal: true, status: 401 });
    expect(pair.response(id)).toMatchObject({ status: 500, body: { error: "internal_error" } });
    expect(pair.core.registry.size).toBe(1);
  });
});

describe("ownership checks", () => {
  it("rejects a reattach for an unknown endpoint id with 404 and changes nothing", () => {
    const { pair } = world();
    pair.closeChannel(1, true);
    pair.openChannel(2, 100);
    const before = state(pair);
    const id = pair.request("POST", "/v1/endpoint/ep-nope/reattach", { plugin_pid: 100 });
    expect(pair.response(id)).toMatchObject({ status: 404, body: { error: "endpoint_unknown" } });
    expect(state(pair)).toEqual(before);
  });

  it("rejects a reattach from another pid with 403 and changes nothing", () => {
    const { pair, ep } = world();
    pair.closeChannel(1, true);
    pair.openChannel(2, 200);
    const before = state(pair);
    const id = pair.request("POST", `/v1/endpoint/${ep}/reattach`, { plugin_pid: 200 });
    expect(pair.response(id)).toMatchObject({ status: 403, body: { error: "reattach_pid_mismatch" } });
    expect(state(pair)).toEqual(before);
    expect(pair.core.registry.get(ep)?.channel).toBe(1);
  });

  it("rejects a send from an unknown endpoint with 404 and writes nothing", () => {
    const { pair } = world();
    const id = pair.request("POST", "/v1/send", { endpoint_id: "ep-nope", to: "a", content: "b" });
    expect(pair.response(id)).toMatchObject({ status: 404, body: { error: "unknown_endpoint" } });
    expect(pair.sentFrames("SEND_MESSAGE")).toHaveLength(0);
  });

  it("rejects an undispatched listing for another pid's endpoint with 403", () => {
    const { pair, ep } = world();
    const id = pair.request("GET", `/v1/undispatched?endpoint_id=${ep}`, undefined, "200");
    expect(pair.response(id)).toMatchObject({ status: 403, body: { error: "endpoint_pid_mismatch" } });
    expect(pair.calls("list_claim_candidates")).toHaveLength(0);
  });

  it("answers a heartbeat for an unknown endpoint with 404 endpoint_unknown", () => {
    const { pair } = world();
    const id = pair.request("POST", "/v1/endpoint/ep-nope/heartbeat", {});
    expect(pair.response(id)).toMatchObject({ status: 404, body: { error: "endpoint_unknown" } });
  });

  it("treats DELETE of an unknown endpoint as a no-op", () => {
    const { pair } = world();
    const id = pair.request("DELETE", "/v1/endpoint/ep-nope");
    expect(pair.response(id)).toEqual({ status: 200, body: { ok: true } });
    expect(pair.core.registry.size).toBe(1);
  });
});

describe("POST /v1/send", () => {
  it("refuses plugin-chosen correlation and target ids and a foreign source", () => {
    const { pair, ep } = world();
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [{ correlation_id: "c" }, 400, "correlation_id_forbidden"],
      [{ target_endpoint_id: "t" }, 400, "target_endpoint_id_forbidden"],
      [{ source_endpoint_id: "other" }, 403, "source_endpoint_id_mismatch"],
    ];
    for (const [metadata, status, error] of cases) {
      const id = pair.request("POST", "/v1/send", { endpoint_id: ep, to: "a", content: "b", metadata });
      expect(pair.response(id)).toMatchObject({ status, body: { error } });
    }
    const bad = pair.request("POST", "/v1/send", { endpoint_id: ep, to: "a", content: 5 });
    expect(pair.response(bad)).toMatchObject({ status: 400, body: { error: "bad_request" } });
    expect(pair.sentFrames("SEND_MESSAGE")).toHaveLength(0);
  });

  it("answers 503 connector_unavailable, retryable, while the connector is down", () => {
    const { pair, ep } = world();
    pair.input({ kind: "connector_closed", code: 1006, reason: "" });
    const id = pair.request("POST", "/v1/send", { endpoint_id: ep, to: "a", content: "b" });
    expect(pair.response(id)).toMatchObject({
      status: 503,
      body: { error: "connector_unavailable", retryable: true },
    });
  });

  it("answers 503 connector_send_outcome_unknown, not retryable, when the socket closes before SEND_ACK", () => {
    const { pair, ep } = world();
    const id = pair.request("POST", "/v1/send", { endpoint_id: ep, to: "a", content: "b" });
    pair.input({ kind: "connector_closed", code: 1006, reason: "" });
    expect(pair.response(id)).toMatchObject({
      status: 503,
      body: { error: "connector_send_outcome_unknown", retryable: false },
    });
  });

  it("answers 502 connector_send_rejected when the connector answers with an ERROR frame", () => {
    const { pair, ep } = world();
    const id = pair.request("POST", "/v1/send", { endpoint_id: ep, to: "a", content: "b" });
    const frame = pair.sentFrames("SEND_MESSAGE")[0] as { messageId: string };
    pair.frame({
      event: "ERROR",
      code: "recipient_unknown",
      message: "no such agent",
      messageId: frame.messageId,
    });
    expect(pair.response(id)).toMatchObject({ status: 502, body: { error: "connector_send_rejected" } });
  });

  it("reuses in_reply_to as the correlation id only when it resolves to the sender", () => {
    const pair = new BrokerPair();
    pair.connect();
    const ep = pair.register(100, 1, { headless: true }).endpointId;
    const other = pair.register(200, 2, { headless: true }).endpointId;
    pair.message({ seq: 1, metadata: { target_endpoint_id: ep, correlation_id: "c-in" } });
    pair.ackAllPushes(1);
    pair.request("POST", "/v1/send", {
      endpoint_id: ep,
      to: "a",
      content: "re",
      metadata: { in_reply_to: "c-in" },
    });
    pair.request("POST", "/v1/send", {
      endpoint_id: other,
      to: "a",
      content: "re",
      metadata: { in_reply_to: "c-in" },
    });
    const [mine, theirs] = pair.sentFrames("SEND_MESSAGE") as Array<{ metadata: Record<string, unknown> }>;
    expect(mine!.metadata).toMatchObject({
      correlation_id: "c-in",
      source_endpoint_id: ep,
      require_live: false,
    });
    expect(theirs!.metadata.correlation_id).not.toBe("c-in");
    expect(pair.logCount("reply_aware_fallback")).toBe(1);
    expect(pair.core.registry.ringHas(ep, "c-in")).toBe(true);
  });
});

describe("GET /v1/undispatched", () => {
  it("lists platform candidates enriched from the local inbox", () => {
    const { pair } = world();
    pair.message({ seq: 1, messageId: "m1", content: "full content", metadata: { k: "v" } });
    pair.answerOne("undispatched_changed", OK);
    const id = pair.request("GET", "/v1/undispatched", undefined, "100");
    const call = pair.calls("list_claim_candidates")[0]!;
    expect(call.args).toMatchObject({ endpoint_id: "ep-100", limit: 256 });
    pair.answer(call, {
      ok: true,
      items: [
        {
          undispatched_id: "m1",
          content_preview: "full",
          reason: "no_target_endpoint",
          claim_policy: "open",
        },
        {
          undispatched_id: "u2",
          content_preview: "pre",
          reason: "correlated_continuation",
          in_reply_to: "c",
        },
      ],
    });
    const r = pair.response(id)!;
    expect(r.status).toBe(200);
    expect(r.body.items).toEqual([
      expect.objectContaining({
        undispatched_id: "m1",
        content: "full content",
        reason: "unaddressed",
        claim_policy: "open",
      }),
      expect.objectContaining({
        undispatched_id: "u2",
        content: "pre",
        content_type: "text",
        metadata: {},
        reason: "correlated_continuation",
        original_correlation_id: "c",
      }),
    ]);
  });

  it("requires a valid x-plugin-pid header", () => {
    const { pair } = world();
    const id = pair.request("GET", "/v1/undispatched");
    expect(pair.response(id)).toMatchObject({ status: 400, body: { error: "plugin_pid_invalid" } });
  });

  it("maps a transient platform failure to 503 runtime_claim_candidates_unavailable", () => {
    const { pair } = world();
    const id = pair.request("GET", "/v1/undispatched", undefined, "100");
    pair.answerOne("list_claim_candidates", { ok: false, terminal: false, status: 502 });
    expect(pair.response(id)).toMatchObject({
      status: 503,
      body: { error: "runtime_claim_candidates_unavailable" },
    });
  });
});

describe("register racing a stream close", () => {
  it("answers 400 ipc_channel_missing and unregisters when the stream closed before the platform answered", () => {
    const pair = new BrokerPair();
    pair.connect();
    pair.openChannel(1, 100);
    const id = pair.request("POST", "/v1/endpoint/register", { plugin_pid: 100, kind: "claude" });
    pair.closeChannel(1, true);
    pair.answerOne("register", { ok: true, endpoint_id: "ep-late" });
    expect(pair.response(id)).toMatchObject({ status: 400, body: { error: "ipc_channel_missing" } });
    expect(pair.core.registry.size).toBe(0);
    expect(pair.allCalls("unregister").map((c) => c.args.endpoint_id)).toEqual(["ep-late"]);
  });

  it("binds a registration to the pid's newest stream", () => {
    const pair = new BrokerPair();
    pair.connect();
    pair.openChannel(1, 100);
    const id = pair.request("POST", "/v1/endpoint/register", { plugin_pid: 100, kind: "claude" });
    pair.openChannel(2, 100);
    pair.answerOne("register", { ok: true, endpoint_id: "ep-1", heartbeat_after_seconds: 15 });
    expect(pair.response(id)?.status).toBe(200);
    expect(pair.core.registry.get("ep-1")?.channel).toBe(2);
    expect(pair.core.env.dueAt({ kind: "heartbeat", endpointId: "ep-1" })).toBe(pair.now + 15_000);
  });
});
