import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { routeOf } from "../../sim/stub/faults/api-faults.ts";
import { NO_STUB_FAULTS, StubFaultSchedule } from "../../sim/stub/faults/fault-schedule.ts";
import { type SeededPlatform, STUB_SEED_ENV, startSeededPlatform } from "../../sim/stub/seeded-platform.ts";
import { CONNECTOR_PROTOCOL_VERSION } from "../../src/broker/connector/frames.ts";
import { createBroker } from "../../src/daemon/index.ts";
import { MemoryLogWriter } from "../../src/daemon/logger.ts";

/** A bare connector client: registers, then records every frame it is sent, in order. */
class WireClient {
  readonly frames: Array<Record<string, unknown>> = [];
  closeCode: number | undefined;
  private constructor(readonly ws: WebSocket) {}

  static async connect(url: string): Promise<WireClient> {
    const ws = new WebSocket(url);
    const c = new WireClient(ws);
    ws.on("message", (d) => c.frames.push(JSON.parse(d.toString()) as Record<string, unknown>));
    ws.on("close", (code) => {
      c.closeCode = code;
    });
    await new Promise<void>((r) => ws.once("open", () => r()));
    ws.send(JSON.stringify({ event: "REGISTER", protocolVersion: CONNECTOR_PROTOCOL_VERSION, token: "t" }));
    await until(() => c.frames.some((f) => f.event === "REGISTER_ACK"));
    return c;
  }

  seqs(): number[] {
    return this.frames.filter((f) => f.event === "MESSAGE_RECEIVED").map((f) => f.seq as number);
  }

  sendAcks(): string[] {
    return this.frames.filter((f) => f.event === "SEND_ACK").map((f) => f.messageId as string);
  }
}

async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The same traffic every time: 40 inbound messages, then 20 SEND_MESSAGEs. */
async function wireSession(seed: number) {
  const lines: string[] = [];
  const p = await startSeededPlatform({
    seed,
    faults: {
      ...NO_STUB_FAULTS,
      duplicateMessageProbability: 0.1,
      reorderMessageProbability: 0.1,
      dropSendAckProbability: 0.2,
      lateSendAckProbability: 0.2,
      reorderHoldMs: 20,
      sendAckDelayMs: 50,
    },
    log: (l) => lines.push(l),
  });
  try {
    const c = await WireClient.connect(p.connectorUrl);
    for (let i = 0; i < 40; i++) p.append({ content: `m${i}` });
    for (let i = 0; i < 20; i++)
      c.ws.send(
        JSON.stringify({ event: "SEND_MESSAGE", messageId: `out-${i}`, to: "peer@example", content: "x" }),
      );
    await until(() => p.connector.model.outbound.length === 20);
    const counts = p.schedule.counts();
    const expectedAcks = 20 - counts.drop_send_ack;
    await until(
      () => c.seqs().length >= 40 + counts.duplicate_message && c.sendAcks().length >= expectedAcks,
    );
    await new Promise((r) => setTimeout(r, 100));
    return { seqs: c.seqs(), acks: c.sendAcks(), injected: [...p.schedule.injected], lines, counts };
  } finally {
    await p.close();
  }
}

describe("the seeded platform stub", () => {
  it("draws the same decisions from the same seed and different ones from another seed", () => {
    const draw = (seed: number) => {
      const s = new StubFaultSchedule(seed);
      for (let i = 0; i < 200; i++) s.decide("message.duplicate", "duplicate_message", 0.3, `seq ${i}`);
      return s.injected.map((f) => f.n);
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
    expect(draw(7).length).toBeGreaterThan(30);
    expect(draw(7).length).toBeLessThan(90);
  });

  it("keeps each decision's schedule independent of how other decisions interleave", () => {
    const a = new StubFaultSchedule(3);
    const b = new StubFaultSchedule(3);
    for (let i = 0; i < 50; i++) {
      a.decide("x", "api_error", 0.5, "x");
      a.decide("y", "api_timeout", 0.5, "y");
    }
    for (let i = 0; i < 50; i++) b.decide("y", "api_timeout", 0.5, "y");
    for (let i = 0; i < 50; i++) b.decide("x", "api_error", 0.5, "x");
    const key = (s: StubFaultSchedule) => s.injected.map((f) => `${f.name}#${f.n}`).sort();
    expect(key(a)).toEqual(key(b));
  });

  it("rejects a probability outside 0..1, a negative delay and an unknown option", () => {
    expect(() => new StubFaultSchedule(1, { apiErrorProbability: 1.5 })).toThrow(/probability in 0\.\.1/);
    expect(() => new StubFaultSchedule(1, { sendAckDelayMs: -1 })).toThrow(/non-negative integer/);
    expect(() => new StubFaultSchedule(1, { bogus: 1 } as never)).toThrow(/unknown stub fault option/);
    expect(() => new StubFaultSchedule(-1)).toThrow(/32-bit/);
  });

  it("duplicates and reorders MESSAGE_RECEIVED and drops and delays SEND_ACK on a real socket", async () => {
    const run = await wireSession(11);
    expect(run.counts.duplicate_message).toBeGreaterThan(0);
    expect(run.counts.reorder_message).toBeGreaterThan(0);
    expect(run.counts.drop_send_ack).toBeGreaterThan(0);
    expect(run.counts.late_send_ack).toBeGreaterThan(0);
    // Duplicates: a seq seen twice. Out of order: a seq seen before a smaller one.
    expect(new Set(run.seqs).size).toBe(40);
    expect(run.seqs.length).toBe(40 + run.counts.duplicate_message);
    expect(run.seqs.some((s, i) => i > 0 && s < run.seqs[i - 1]!)).toBe(true);
    // Dropped acks never come; late ones come after acks sent after them.
    expect(run.acks.length).toBe(20 - run.counts.drop_send_ack);
    const late = run.injected.filter((f) => f.fault === "late_send_ack").map((f) => f.on.split(" ")[1]!);
    const onTime = run.acks.filter((a) => !late.includes(a));
    expect(run.acks.slice(0, onTime.length)).toEqual(onTime);
    expect(run.lines).toEqual([
      `platform stub: fault seed 11 (replay the same faults with ${STUB_SEED_ENV}=11)`,
    ]);
  });

  it("replays the same fault schedule and the same wire order for the same seed and traffic", async () => {
    const a = await wireSession(11);
    const b = await wireSession(11);
    const c = await wireSession(12);
    expect(b.injected).toEqual(a.injected);
    expect(b.seqs).toEqual(a.seqs);
    expect(b.acks).toEqual(a.acks);
    expect(c.injected).not.toEqual(a.injected);
  });

  it("answers API requests 503 or never, by route, from the seed", async () => {
    const p = await startSeededPlatform({
      seed: 5,
      faults: { ...NO_STUB_FAULTS, apiErrorProbability: 0.3, apiTimeoutProbability: 0.2, apiTimeoutMs: 50 },
      log: () => {},
    });
    try {
      const statuses: Array<number | "timeout"> = [];
      for (let i = 0; i < 30; i++) {
        try {
          const res = await fetch(`${p.apiUrl}/v1/whoami`);
          await res.text();
          statuses.push(res.status);
        } catch {
          statuses.push("timeout");
        }
      }
      const counts = p.schedule.counts();
      expect(statuses.filter((s) => s === 503).length).toBe(counts.api_error);
      expect(statuses.filter((s) => s === "timeout").length).toBe(counts.api_timeout);
      expect(counts.api_error).toBeGreaterThan(0);
      expect(counts.api_timeout).toBeGreaterThan(0);
      expect(statuses.filter((s) => s === 200).length).toBe(30 - counts.api_error - counts.api_timeout);
      expect(p.schedule.injected[0]!.on).toBe("GET /v1/whoami");
    } finally {
      await p.close();
    }
  });

  it("names API routes without their endpoint ids", () => {
    expect(routeOf("/v1/runtime-endpoints/ep-1/heartbeat")).toBe("/v1/runtime-endpoints/:id/heartbeat");
    expect(routeOf("/v1/runtime-endpoints")).toBe("/v1/runtime-endpoints");
    expect(routeOf("/v1/runtime/undispatched-changed")).toBe("/v1/runtime/undispatched-changed");
  });

  it("restarts the connector after a seeded append, closing the socket with 1012", async () => {
    const p = await startSeededPlatform({
      seed: 2,
      faults: { ...NO_STUB_FAULTS, connectorRestartProbability: 0.5 },
      log: () => {},
    });
    try {
      const c = await WireClient.connect(p.connectorUrl);
      let n = 0;
      while (p.schedule.counts().connector_restart === 0) p.append({ content: `m${n++}` });
      await until(() => c.closeCode !== undefined);
      expect(c.closeCode).toBe(1012);
      expect(p.schedule.injected[0]).toMatchObject({ fault: "connector_restart", on: `after seq ${n}` });
    } finally {
      await p.close();
    }
  });

  it("takes its seed from BROKER_SIM_STUB_SEED and rejects a malformed one", async () => {
    const before = process.env[STUB_SEED_ENV];
    try {
      process.env[STUB_SEED_ENV] = "4242";
      const lines: string[] = [];
      const p = await startSeededPlatform({ log: (l) => lines.push(l) });
      expect(p.seed).toBe(4242);
      expect(lines[0]).toContain("fault seed 4242");
      await p.close();
      process.env[STUB_SEED_ENV] = "seven";
      await expect(startSeededPlatform({ log: () => {} })).rejects.toThrow(/32-bit unsigned integer/);
    } finally {
      if (before === undefined) delete process.env[STUB_SEED_ENV];
      else process.env[STUB_SEED_ENV] = before;
    }
  });

  it("lets the real daemon ack every message through duplicates, reordering, restarts and API faults", async () => {
    let platform: SeededPlatform | undefined;
    const root = mkdtempSync(join(tmpdir(), "seeded-stub-"));
    const broker = await (async () => {
      platform = await startSeededPlatform({
        seed: 9,
        token: "tok",
        faults: {
          apiErrorProbability: 0.3,
          connectorRestartProbability: 0.15,
          apiTimeoutMs: 300,
          sendAckDelayMs: 100,
          reorderHoldMs: 20,
        },
        connector: { gapFillMinIntervalMs: 50 },
        log: () => {},
      });
      return createBroker({
        connectorUrl: platform.connectorUrl,
        connectorToken: "tok",
        apiBaseUrl: platform.apiUrl,
        dataDir: join(root, "data"),
        agentId: "agent-stub",
        logStream: new MemoryLogWriter(),
        apiRequestTimeoutMs: 200,
        shutdownWatchdogMs: 2_000,
        controlEventsBackoffInitialMs: 20,
        controlEventsBackoffMaxMs: 200,
        brokerOptions: { reconnectInitialMs: 20, reconnectMaxMs: 200 },
      });
    })();
    const p = platform!;
    try {
      await until(() => p.connector.registers.length > 0);
      for (let i = 0; i < 30; i++) {
        p.append({ content: `m${i}` });
        await new Promise((r) => setTimeout(r, 5));
      }
      await until(() => p.connector.ackedSeq === 30, 20_000);
      const kinds = new Set(p.schedule.injected.map((f) => f.fault));
      expect([...kinds].sort()).toEqual([
        "api_error",
        "connector_restart",
        "duplicate_message",
        "reorder_message",
      ]);
    } finally {
      await broker.close();
      await p.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
