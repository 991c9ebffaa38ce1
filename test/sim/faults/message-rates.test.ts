import { describe, expect, it } from "vitest";
import type { ApiArgs, ApiOp } from "../../../src/broker/api.ts";
import type { FaultPlan } from "../../../sim/faults/index.ts";
import type { World } from "../../../sim/kernel/world.ts";
import { bareWorld, withinRate } from "./support.ts";

const N = 4_000;

function sendMany(w: World, linkName: string, label: string, n = N) {
  const link = w.network.link(linkName, { ordered: true, minMs: 5, maxMs: 40 });
  const out = { drop: 0, delayed: 0, duplicated: 0, reordered: 0 };
  for (let i = 0; i < n; i++) {
    const d = w.network.faults?.onSend(link, label);
    if (d?.drop) out.drop++;
    if ((d?.extraDelayMs ?? 0) > 0 || (d?.extraDelayMs === 0 && !d.reorder)) out.delayed++;
    if (d?.duplicateAfterMs !== undefined) out.duplicated++;
    if (d?.reorder) out.reordered++;
  }
  return out;
}

function apiMany(w: World, op: ApiOp, n = N) {
  const out = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const args = { source_message_id: `m-${i}`, routed_to_endpoint_id: "ep-1" } as unknown as ApiArgs[ApiOp];
    const r = w.apiFaults?.(op, args, w.nowMs);
    let key = "none";
    if (r === "lost_request" || r === "lost_response") key = r;
    else if (r?.ok === false) key = r.terminal ? "4xx" : "5xx";
    else if (r?.ok === true) key = "ok";
    out.set(key, (out.get(key) ?? 0) + 1);
  }
  return out;
}

describe("message-level faults fire at their configured rates", () => {
  it("drop loses connector frames at the configured probability and never lifecycle events", () => {
    const w = bareWorld({ drop: { connectorDownProbability: 0.2, connectorUpProbability: 0.05 } });
    expect(withinRate(sendMany(w, "conn-down:99", "MESSAGE_RECEIVED").drop, N, 0.2)).toBe(true);
    expect(withinRate(sendMany(w, "conn-up:99", "DELIVERY_ACK").drop, N, 0.05)).toBe(true);
    expect(sendMany(w, "conn-down:99", "server_close").drop).toBe(0);
    expect(sendMany(w, "ipc-down:1", "message_received").drop).toBe(0);
    expect(w.faultHub.count("drop")).toBeGreaterThan(0);
  });

  it("delay adds extra latency at the configured probability, capped at maxMs, only on chosen links", () => {
    const w = bareWorld({
      delay: { probability: 0.3, meanMs: 1_000, maxMs: 1_500, linkClasses: ["api-res"] },
    });
    const link = w.network.link("api-res", { ordered: false, minMs: 5, maxMs: 60 });
    let delayed = 0;
    let max = 0;
    for (let i = 0; i < N; i++) {
      const d = w.network.faults?.onSend(link, "register#1");
      if (d?.extraDelayMs !== undefined) {
        delayed++;
        max = Math.max(max, d.extraDelayMs);
      }
    }
    expect(withinRate(delayed, N, 0.3)).toBe(true);
    expect(max).toBe(1_500);
    expect(sendMany(w, "conn-down:99", "MESSAGE_RECEIVED").delayed).toBe(0);
  });

  it("duplicate copies connector frames and control events at their probabilities", () => {
    const w = bareWorld({ duplicate: { connectorDownProbability: 0.1, controlEventsProbability: 0.25 } });
    expect(withinRate(sendMany(w, "conn-down:99", "MESSAGE_RECEIVED").duplicated, N, 0.1)).toBe(true);
    expect(withinRate(sendMany(w, "control-events", "asg-1").duplicated, N, 0.25)).toBe(true);
    expect(sendMany(w, "conn-down:99", "REGISTER_ACK").duplicated).toBe(0);
  });

  it("reorder lets messages ignore link order at the configured probability", () => {
    const w = bareWorld({ reorder: { connectorDownProbability: 0.15, connectorUpProbability: 0 } });
    expect(withinRate(sendMany(w, "conn-down:99", "MESSAGE_RECEIVED").reordered, N, 0.15)).toBe(true);
    expect(sendMany(w, "conn-up:99", "DELIVERY_ACK").reordered).toBe(0);
  });

  it("push-receipt loses and delays push acks at their probabilities", () => {
    const w = bareWorld({ "push-receipt": { lostProbability: 0.1, lateProbability: 0.2 } });
    const r = sendMany(w, "ipc-up:101", "message");
    expect(withinRate(r.drop, N, 0.1)).toBe(true);
    expect(withinRate(w.faultHub.count("push-receipt", "late"), N, 0.2)).toBe(true);
    expect(sendMany(w, "ipc-up:101", "open").drop).toBe(0);
  });

  it("api fails calls transiently and terminally at the configured per-op rates", () => {
    const plan: FaultPlan = {
      api: {
        transient5xxProbability: 0.1,
        lostRequestProbability: 0.05,
        lostResponseProbability: 0.05,
        transientOps: ["heartbeat"],
        terminal4xxProbability: 0.1,
        terminalOps: ["heartbeat", "presence_changed"],
        latencyProbability: 0,
      },
    };
    const w = bareWorld(plan);
    const hb = apiMany(w, "heartbeat");
    expect(withinRate(hb.get("5xx") ?? 0, N, 0.1)).toBe(true);
    expect(withinRate(hb.get("lost_request") ?? 0, N, 0.05)).toBe(true);
    expect(withinRate(hb.get("lost_response") ?? 0, N, 0.05)).toBe(true);
    expect(withinRate(hb.get("4xx") ?? 0, N, 0.1)).toBe(true);
    const pres = apiMany(w, "presence_changed");
    expect(pres.get("5xx") ?? 0).toBe(0);
    expect(withinRate(pres.get("4xx") ?? 0, N, 0.1)).toBe(true);
    expect(apiMany(w, "register").get("none")).toBe(N);
  });

  it("route-skip answers route claims with skip at the configured probability, and nothing else", () => {
    const w = bareWorld({ "route-skip": { skipProbability: 0.3 } });
    expect(withinRate(apiMany(w, "inbound_route_claim").get("ok") ?? 0, N, 0.3)).toBe(true);
    expect(apiMany(w, "inbound_routed").get("none")).toBe(N);
  });

  it("register answers REGISTER with each fault at its probability", () => {
    const w = bareWorld({
      register: {
        alreadyConnectedProbability: 0.2,
        noAckProbability: 0.1,
        closeDuringRegisterProbability: 0.1,
      },
    });
    const counts = new Map<string, number>();
    for (let i = 0; i < N; i++) {
      const d = w.server.faults?.onRegister?.(12_345);
      const key = d?.reply === "error" ? d.reason : (d?.reply ?? "none");
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(withinRate(counts.get("Already connected") ?? 0, N, 0.2)).toBe(true);
    expect(withinRate(w.faultHub.count("register", "no_ack"), N, 0.1)).toBe(true);
    expect(withinRate(counts.get("none") ?? 0, N, 0.2)).toBe(true);
    expect(withinRate(counts.get("ok") ?? 0, N, 0.6)).toBe(true);
  });

  it("send-ack withholds and delays SEND_ACKs at their probabilities", () => {
    const w = bareWorld({ "send-ack": { withholdProbability: 0.15, lateProbability: 0.25 } });
    let withheld = 0;
    for (let i = 0; i < N; i++) if (w.server.faults?.withholdSendAck?.(`m-${i}`, 12_345)) withheld++;
    expect(withinRate(withheld, N, 0.4)).toBe(true);
    expect(withinRate(w.faultHub.count("send-ack", "late"), N, 0.25)).toBe(true);
  });

  it("broker-crash fails storage writes at the configured probability", () => {
    const w = bareWorld({
      "broker-crash": { meanIntervalMs: 0, crashDuringCursorWriteProbability: 0, writeErrorProbability: 0.1 },
    });
    let failed = 0;
    for (let i = 0; i < N; i++) {
      if (w.storage.faults?.onOp({ op: "delete_buffer", endpointId: "ep-1" }) !== undefined) failed++;
    }
    expect(withinRate(failed, N, 0.1)).toBe(true);
  });
});
