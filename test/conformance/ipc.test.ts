/**
 * The IPC of PROTOCOL §3 as the published SDK uses it, and the connector behaviour (§2) a plugin
 * can observe, against one daemon started like a plugin host starts it. The tests run in order and
 * share the daemon, the SDK client and the endpoint registered by the first ones.
 */

import type { BrokerClient, BrokerInboundMessage } from "@masons/runtime-broker";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { ConformanceWorld, conforms, type Daemon, sleep, TARGET, until } from "./harness.ts";

const w = new ConformanceWorld();
let daemon: Daemon;
let client: BrokerClient;
let endpointId = "";
const received: BrokerInboundMessage[] = [];

beforeAll(async () => {
  await w.listen();
  daemon = await w.startDaemon();
  client = await w.client();
  client.on("message_received", (m) => received.push(m));
}, 30_000);
afterAll(() => w.close());

/** Messages addressed to our endpoint, appended at the connector. */
function appendAddressed(n: number, tag: string): number[] {
  const seqs: number[] = [];
  for (let i = 0; i < n; i++) {
    seqs.push(
      w.connector.append({ content: `${tag}-${i}`, metadata: { target_endpoint_id: endpointId } }).seq,
    );
  }
  return seqs;
}

const contents = () => received.map((m) => m.content);
const acks = () => w.sent("DELIVERY_ACK").map((f) => f.upToSeq as number);

describe(`the published SDK against the ${TARGET} daemon: IPC (PROTOCOL §3)`, () => {
  conforms(
    "§3.2 initialize: the SDK reads server_capabilities as flags and sees push receipts offered",
    {},
    async () => {
      expect(client.serverCapabilities.push_receipt_ack_v1).toBe(true);
      expect(client.sessionId).toMatch(/^[0-9a-f-]{36}$/);
      expect(client.networkPresence).toBe("online");
      expect(typeof client.serverVersion).toBe("string");
      const again = await w.ipc("POST", "/v1/initialize", {
        client_protocol_version: "1.1",
        client_kind: "x",
      });
      expect(again.body.server_protocol_version).toBe("1.1");
      const bad = await w.ipc("POST", "/v1/initialize", { client_protocol_version: "2.0", client_kind: "x" });
      expect(bad).toMatchObject({ status: 400, body: { error: "protocol_version_mismatch" } });
    },
  );

  conforms(
    "§3.2 GET /health answers without a token, with the protocol version and capability flags",
    {},
    async () => {
      const rec = w.discovery()!;
      const res = await fetch(`${rec.ipcUrl}/health`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ ok: true, protocol_version: "1.1" });
      expect(typeof body.version).toBe("string");
      expect((body.capabilities as Record<string, unknown>).push_receipt_ack_v1).toBe(true);
    },
  );

  conforms(
    "§3.1 (I1) every route refuses a missing or wrong bearer token with 401 unauthorized",
    {},
    async () => {
      const routes: Array<[string, string]> = [
        ["POST", "/v1/initialize"],
        ["POST", "/v1/endpoint/register"],
        ["POST", "/v1/endpoint/ep-x/heartbeat"],
        ["DELETE", "/v1/endpoint/ep-x"],
        ["POST", "/v1/send"],
        ["POST", "/v1/runtime/assignment-reply"],
        ["POST", "/v1/runtime/processing-state"],
        ["GET", "/v1/undispatched"],
        ["POST", "/v1/dispatch"],
      ];
      for (const [method, path] of routes) {
        for (const authorization of ["", "Bearer wrong-token"]) {
          const r = await w.ipc(method, path, method === "POST" ? {} : undefined, { authorization });
          expect({ method, path, authorization, status: r.status, error: r.body.error }).toEqual({
            method,
            path,
            authorization,
            status: 401,
            error: "unauthorized",
          });
        }
      }
    },
  );

  conforms(
    "§3.1 the stream upgrade needs the token, the exact path and a positive x-plugin-pid",
    {},
    async () => {
      const rec = w.discovery()!;
      const wsUrl = rec.ipcUrl.replace(/^http/, "ws");
      const status = (path: string, headers: Record<string, string>) =>
        new Promise<number>((resolve) => {
          const ws = new WebSocket(`${wsUrl}${path}`, { headers });
          ws.once("unexpected-response", (_req, res) => {
            resolve(res.statusCode ?? 0);
            ws.terminate();
          });
          ws.once("open", () => {
            resolve(101);
            ws.close();
          });
          ws.once("error", () => resolve(-1));
        });
      const auth = { authorization: `Bearer ${rec.bearerToken}` };
      expect(await status("/v1/stream", { "x-plugin-pid": "4242" })).toBe(401);
      expect(await status("/v1/streams", { ...auth, "x-plugin-pid": "4242" })).toBe(404);
      expect(await status("/v1/stream", auth)).toBe(400);
      expect(await status("/v1/stream", { ...auth, "x-plugin-pid": "-3" })).toBe(400);
    },
  );

  conforms(
    "§3.2 register: the platform receives the session name, execution surface, tracking ref and task hint",
    {},
    async () => {
      const out = await client.registerEndpoint({
        agentId: "agent-conformance",
        kind: "claude",
        sessionName: "conformance session",
        workspace: { root: "/src/project", cwd: "/src/project/app" },
        trackingRef: "feature/x",
        taskHint: "checking the contract",
        runtimeCapabilities: ["foreground_channel_v1"],
        executionSurface: "headless",
      });
      endpointId = out.endpoint_id;
      expect(typeof out.endpoint_owner_token).toBe("string");
      const reg = w.calls("POST", /^\/v1\/runtime-endpoints$/).at(-1)!;
      expect(reg.body).toMatchObject({
        runtime_kind: "claude",
        session_name: "conformance session",
        execution_surface: "headless",
        tracking_ref: "feature/x",
        task_hint: "checking the contract",
        runtime_capabilities: ["foreground_channel_v1"],
        workspace: { root: "/src/project", cwd: "/src/project/app" },
        display_label: "claude · project · feature/x",
      });
      expect(typeof reg.body.endpoint_nonce).toBe("string");
    },
  );

  conforms(
    "§3.4 push receipts: the SDK's push_ack is honoured, so each message is pushed once and acked to the connector",
    {},
    async () => {
      const seqs = appendAddressed(5, "receipt");
      await until(() => w.connector.ackedSeq >= seqs.at(-1)!, "DELIVERY_ACK of the five messages");
      // Each message once; the order of hand-offs is §2.5's test (the published daemon breaks R5).
      expect(contents().sort()).toEqual(["receipt-0", "receipt-1", "receipt-2", "receipt-3", "receipt-4"]);
      expect(received.map((m) => m.sourceMessageId).sort()).toEqual(seqs.map((s) => `msg-${s}`).sort());
      expect(w.logEvents("ipc_push_ack_timeout")).toEqual([]);
    },
  );

  conforms(
    "§2.5 ordered exactly-once pushes with cumulative, non-decreasing acks and no gap fill without a gap (deviation L1/L2)",
    { failsOn: ["published"] },
    async () => {
      const before = received.length;
      const seqs = appendAddressed(20, "burst");
      await until(() => w.connector.ackedSeq >= seqs.at(-1)!, "DELIVERY_ACK of the burst");
      await sleep(100);
      expect(contents().slice(before)).toEqual(seqs.map((_, i) => `burst-${i}`));
      const a = acks();
      expect(a.every((v, i) => i === 0 || v >= a[i - 1]!)).toBe(true);
      expect(a.at(-1)).toBe(seqs.at(-1));
      expect(w.sent("REQUEST_GAP_FILL")).toEqual([]);
    },
  );

  conforms("§2.5 (S5) a duplicate MESSAGE_RECEIVED is not pushed again, acked or not", {}, async () => {
    const last = w.toBroker.filter((f) => f.frame.event === "MESSAGE_RECEIVED").at(-1)!.frame;
    const before = received.length;
    const acksBefore = acks().length;
    w.connector.sendRaw(JSON.stringify(last));
    const first = w.toBroker.find((f) => f.frame.event === "MESSAGE_RECEIVED")!.frame;
    w.connector.sendRaw(JSON.stringify(first));
    await sleep(400);
    expect(received.length).toBe(before);
    expect(
      acks()
        .slice(acksBefore)
        .every((u) => u === w.connector.ackedSeq),
    ).toBe(true);
  });

  conforms(
    "§2.5 a gap is filled with one REQUEST_GAP_FILL from the committed cursor, and pushes stay in seq order (deviations R5, L1/L2)",
    { failsOn: ["published"] },
    async () => {
      const cursor = w.connector.ackedSeq;
      const before = received.length;
      const fillsBefore = w.sent("REQUEST_GAP_FILL").length;
      let dropped = false;
      w.withhold = (f) => {
        if (!dropped && f.event === "MESSAGE_RECEIVED" && f.seq === cursor + 1) {
          dropped = true;
          return true;
        }
        return false;
      };
      const seqs = appendAddressed(3, "gap");
      await until(() => w.connector.ackedSeq >= seqs.at(-1)!, "the gap to be filled and acked");
      w.withhold = undefined;
      expect(contents().slice(before)).toEqual(["gap-0", "gap-1", "gap-2"]);
      const fills = w.sent("REQUEST_GAP_FILL").slice(fillsBefore);
      expect(fills.map((f) => f.sinceSeq)).toEqual([cursor]);
    },
  );

  conforms(
    "§3.2 heartbeat answers {ok:true} for a known endpoint and 404 endpoint_unknown otherwise",
    {},
    async () => {
      expect(await w.ipc("POST", `/v1/endpoint/${endpointId}/heartbeat`, {})).toMatchObject({
        status: 200,
        body: { ok: true },
      });
      expect(await w.ipc("POST", "/v1/endpoint/ep-nobody/heartbeat", {})).toMatchObject({
        status: 404,
        body: { error: "endpoint_unknown" },
      });
    },
  );

  conforms(
    "§3.2 send: the SDK's send reaches the connector with broker-issued correlation metadata",
    {},
    async () => {
      const res = (await client.send(endpointId, "peer@example", "hello peer", "text", { topic: "t" })) as {
        messageId: string;
        status: string;
      };
      expect(res.status).toBe("delivered");
      const frame = w.sent("SEND_MESSAGE").find((f) => f.messageId === res.messageId)!;
      expect(frame).toMatchObject({ to: "peer@example", content: "hello peer", contentType: "text" });
      const md = frame.metadata as Record<string, unknown>;
      expect(md).toMatchObject({ topic: "t", source_endpoint_id: endpointId, require_live: false });
      expect(typeof md.correlation_id).toBe("string");
      expect(typeof md.traceparent).toBe("string");
      await expect(
        client.send(endpointId, "peer@example", "x", "text", { correlation_id: "mine" }),
      ).rejects.toThrow(/400.*correlation_id_forbidden/);
      await expect(client.send("ep-nobody", "peer@example", "x")).rejects.toThrow(/404.*unknown_endpoint/);
    },
  );

  conforms(
    "§3.2 undispatched: the SDK lists candidates, and /v1/dispatch refuses bad or unknown rows",
    {},
    async () => {
      const items = await client.listUndispatched({ endpointId });
      expect(Array.isArray(items)).toBe(true);
      expect(await w.ipc("POST", "/v1/dispatch", { undispatched_id: 5 })).toMatchObject({
        status: 400,
        body: { error: "dispatch_body_invalid" },
      });
      expect(
        await w.ipc("POST", "/v1/dispatch", { undispatched_id: "u-none", target_endpoint_id: endpointId }),
      ).toMatchObject({ status: 400, body: { error: "dispatch_failed" } });
    },
  );

  conforms(
    "§5.2.1/§5.6/§5.7 a dispatched assignment: processing states and the SDK's reply reach the platform and the connector",
    {},
    async () => {
      // Assignments go to background-exchange endpoints only (§5.2.1 step 5).
      const worker = await client.registerEndpoint({
        agentId: "agent-conformance",
        kind: "claude",
        sessionName: "worker",
        runtimeCapabilities: ["background_exchange_v1"],
        backgroundExchangeMode: "resident_endpoint",
      });
      const before = received.length;
      const m = w.connector.append({ content: "needs an answer", from: "asker@example", metadata: {} });
      await until(
        () => w.calls("POST", /undispatched-changed$/).some((r) => r.body.source_message_id === m.messageId),
        "the undispatched add",
      );
      const add = w
        .calls("POST", /undispatched-changed$/)
        .find((r) => r.body.source_message_id === m.messageId)!;
      w.api.dispatch(add.body.undispatched_id as string, worker.endpoint_id);
      await until(() => received.slice(before).some((r) => r.runtimeAssignment), "the assignment push");
      const push = received.slice(before).find((r) => r.runtimeAssignment)!;
      const ra = push.runtimeAssignment!;
      expect(ra).toMatchObject({ sourceMessageId: m.messageId, deliveryIntent: "external_handoff" });
      const common = {
        endpointId: worker.endpoint_id,
        sourceMessageId: ra.sourceMessageId,
        assignmentId: ra.assignmentId,
        undispatchedId: ra.undispatchedId,
      };
      await client.reportRuntimeProcessingState({
        ...common,
        state: "adapter_accepted",
        stateSequence: 2,
        stateEventId: `${ra.assignmentId}:accepted`,
      });
      await client.reportRuntimeProcessingState({
        ...common,
        state: "processing_started",
        stateSequence: 3,
        stateEventId: `${ra.assignmentId}:started`,
      });
      const reply = (await client.sendRuntimeAssignmentReply({
        endpointId: worker.endpoint_id,
        sourceMessageId: ra.sourceMessageId,
        assignmentId: ra.assignmentId,
        replyRequestId: "rr-1",
        content: "the answer",
      })) as { messageId: string; status: string };
      expect(reply.status).toBe("delivered");
      const wire = w.sent("SEND_MESSAGE").find((f) => f.to === "asker@example")!;
      expect((wire.metadata as Record<string, unknown>).message_id).toBe(reply.messageId);
      // The same reply key and body: the same result, no second wire send (A5, A7).
      const again = await client.sendRuntimeAssignmentReply({
        endpointId: worker.endpoint_id,
        sourceMessageId: ra.sourceMessageId,
        assignmentId: ra.assignmentId,
        replyRequestId: "rr-1",
        content: "the answer",
      });
      expect(again).toEqual(reply);
      expect(w.sent("SEND_MESSAGE").filter((f) => f.to === "asker@example")).toHaveLength(1);
      await until(
        () =>
          w
            .calls("POST", /\/runtime\/processing-state$/)
            .some((r) => r.body.assignment_id === ra.assignmentId && r.body.state === "reply_emitted"),
        "reply_emitted",
      );
      const states = w
        .calls("POST", /\/runtime\/processing-state$/)
        .filter((r) => r.body.assignment_id === ra.assignmentId)
        .map((r) => r.body.state);
      expect(states).toEqual([
        "assigned_to_runtime_target",
        "adapter_accepted",
        "processing_started",
        "reply_requested",
        "reply_emitted",
      ]);
    },
  );

  conforms(
    "§5.6 processing-state refusals: 409 runtime_assignment_unknown, 403 for a wrong owner token (I2)",
    {},
    async () => {
      await expect(
        client.reportRuntimeProcessingState({
          endpointId,
          sourceMessageId: "msg-none",
          assignmentId: "asg-none",
          state: "adapter_accepted",
          stateSequence: 2,
          stateEventId: "x",
        }),
      ).rejects.toThrow(/409.*runtime_assignment_unknown/);
      const posts = w.calls("POST", /\/runtime\/processing-state$/).length;
      const wrong = await w.ipc("POST", "/v1/runtime/processing-state", {
        endpoint_id: endpointId,
        plugin_pid: process.pid,
        endpoint_owner_token: "not-the-token",
        source_message_id: "msg-none",
        assignment_id: "asg-none",
        state: "adapter_accepted",
        state_sequence: 2,
        state_event_id: "x",
      });
      expect(wrong).toMatchObject({ status: 403, body: { error: "endpoint_owner_token_mismatch" } });
      expect(w.calls("POST", /\/runtime\/processing-state$/).length).toBe(posts);
    },
  );

  conforms(
    "§3.1 bad input at every IPC route gets a 4xx with an error code, never a 5xx (deviation: bad input gets 400/413)",
    { failsOn: ["published"] },
    async () => {
      const routes: Array<[string, string]> = [
        ["POST", "/v1/initialize"],
        ["POST", "/v1/endpoint/register"],
        ["POST", `/v1/endpoint/${endpointId}/reattach`],
        ["POST", "/v1/send"],
        ["POST", "/v1/runtime/assignment-reply"],
        ["POST", "/v1/runtime/processing-state"],
        ["POST", "/v1/dispatch"],
      ];
      const answers: string[] = [];
      for (const [method, path] of routes) {
        for (const body of [
          "{not json",
          JSON.stringify([1, 2]),
          JSON.stringify({ plugin_pid: "x", endpoint_id: 7 }),
        ]) {
          const r = await w.ipc(method, path, body);
          const ok = r.status >= 400 && r.status < 500 && typeof r.body.error === "string";
          if (!ok) answers.push(`${method} ${path} ${body} -> ${r.status} ${JSON.stringify(r.body)}`);
        }
      }
      expect(answers).toEqual([]);
      // Nothing accepted is lost: delivery still works afterwards.
      const seqs = appendAddressed(1, "after-bad-input");
      await until(() => w.connector.ackedSeq >= seqs[0]!, "the next delivery");
    },
  );

  conforms("§3.2 the SDK's unregisterEndpoint unregisters the endpoint on the platform", {}, async () => {
    const extra = await client.registerEndpoint({ agentId: "agent-conformance", kind: "codex" });
    await client.unregisterEndpoint(extra.endpoint_id);
    await until(
      () => w.calls("DELETE", new RegExp(`/runtime-endpoints/${extra.endpoint_id}$`)).length === 1,
      "the platform unregister",
    );
  });

  conforms(
    "§1.16 SIGTERM: the daemon unregisters its endpoints on the platform, deletes discovery and exits 0",
    {},
    async () => {
      let disconnected = false;
      client.once("disconnected", () => {
        disconnected = true;
      });
      await w.kill(daemon, "SIGTERM");
      expect(daemon.child.exitCode).toBe(0);
      expect(w.calls("DELETE", new RegExp(`/runtime-endpoints/${endpointId}$`))).toHaveLength(1);
      expect(w.discovery()).toBeUndefined();
      await until(() => disconnected, "the SDK to see the stream close");
    },
  );
});
