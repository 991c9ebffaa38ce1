import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ApiOp, ApiResult } from "../../../src/broker/api.ts";
import {
  checkA1,
  checkA3,
  checkA4,
  checkA5,
  checkA7,
  checkA10,
  checkA11,
  type ReplyAttempt,
} from "../../support/assignment-invariants.ts";
import { AssignmentWorld, OK, terminal, transient } from "../../support/assignment-world.ts";

/**
 * Random interleavings of dispatch / accept / fail / timeout / reply (repeated and conflicting
 * reply_request_ids) / SEND_ACK delay and loss / connector close against the real component and
 * its real neighbours; A1, A3, A4, A5, A7 must hold throughout, A10 and A11 at quiescence.
 */

const ROWS = ["u1", "u2", "u3"];
const KEYS = ["a1", "a2"];
const EPS = [
  { id: "ep1", pid: 11 },
  { id: "ep2", pid: 12 },
];

type Cmd =
  | { t: "dispatch"; key: number; row: number; ep: number }
  | { t: "answer"; pick: number; outcome: "ok" | "transient" | "terminal" }
  | { t: "pushAck"; pick: number }
  | { t: "state"; rec: number; wild: boolean; state: string; seq: number; retryable: boolean }
  | { t: "reply"; rec: number; wild: boolean; rrid: number; variant: number }
  | { t: "sendAck"; pick: number }
  | { t: "connectorError"; pick: number }
  | { t: "close" }
  | { t: "connect" }
  | { t: "advance"; ms: number }
  | { t: "storage"; pick: number; ok: boolean }
  | { t: "filler" }
  | { t: "takeFiller" }
  | { t: "removeEp" }
  | { t: "addEp" };

const idx = fc.nat({ max: 7 });
const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  w(3, fc.record({ t: fc.constant("dispatch" as const), key: idx, row: idx, ep: idx })),
  w(
    10,
    fc.record({
      t: fc.constant("answer" as const),
      pick: idx,
      outcome: fc.constantFrom(
        "ok" as const,
        "ok" as const,
        "ok" as const,
        "ok" as const,
        "transient" as const,
        "terminal" as const,
      ),
    }),
  ),
  w(3, fc.record({ t: fc.constant("pushAck" as const), pick: idx })),
  w(
    5,
    fc.record({
      t: fc.constant("state" as const),
      rec: idx,
      wild: fc.nat({ max: 4 }).map((n) => n === 0),
      state: fc.constantFrom(
        "adapter_accepted",
        "adapter_accepted",
        "adapter_accepted",
        "processing_started",
        "processing_failed",
        "expired",
        "waiting_for_runtime_capability",
      ),
      seq: fc.nat({ max: 6 }),
      retryable: fc.boolean(),
    }),
  ),
  w(
    6,
    fc.record({
      t: fc.constant("reply" as const),
      rec: idx,
      wild: fc.nat({ max: 3 }).map((n) => n === 0),
      rrid: fc.nat({ max: 1 }),
      variant: fc.constantFrom(0, 0, 0, 1),
    }),
  ),
  w(3, fc.record({ t: fc.constant("sendAck" as const), pick: idx })),
  w(1, fc.record({ t: fc.constant("connectorError" as const), pick: idx })),
  w(1, fc.record({ t: fc.constant("close" as const) })),
  w(2, fc.record({ t: fc.constant("connect" as const) })),
  w(2, fc.record({ t: fc.constant("advance" as const), ms: fc.constantFrom(100, 2_000, 15_000, 30_000) })),
  w(1, fc.record({ t: fc.constant("storage" as const), pick: idx, ok: fc.boolean() })),
  w(1, fc.record({ t: fc.constant("filler" as const) })),
  w(1, fc.record({ t: fc.constant("takeFiller" as const) })),
  w(1, fc.record({ t: fc.constant("removeEp" as const) })),
  w(1, fc.record({ t: fc.constant("addEp" as const) })),
);

const pick = <T>(list: T[], i: number): T | undefined =>
  list.length === 0 ? undefined : list[i % list.length];

class Run {
  readonly w: AssignmentWorld;
  readonly attempts: ReplyAttempt[] = [];
  readonly acked = new Map<string, number>();
  readonly pushAcked = new Set<string>();
  readonly storageDone = new Set<number>();
  fillers = 0;
  ep2Present = true;

  constructor(faults: object = {}) {
    this.w = new AssignmentWorld({ inboxCapacity: 4 }, faults);
    this.w.connect();
    for (const ep of EPS) this.w.addEndpoint({ id: ep.id, pid: ep.pid });
    for (const r of ROWS) this.w.addRow(r);
  }

  /** Live assignments most of the time; otherwise any assignment ever seen, or a made-up one. */
  private target(i: number, wild: boolean): { ep: { id: string; pid: number }; row: string; key: string } {
    const recs = [...this.w.component.records()];
    for (const r of recs) this.seen.set(`${r.undispatchedId}|${r.assignmentId}`, r);
    const pool = wild ? [...this.seen.values()] : recs;
    const r = pool.length > 0 ? pool[i % pool.length] : undefined;
    if (!r || (wild && i % 4 === 3)) {
      return { ep: EPS[i % EPS.length]!, row: ROWS[i % ROWS.length]!, key: KEYS[(i >> 1) % KEYS.length]! };
    }
    return { ep: EPS.find((e) => e.id === r.targetEndpointId)!, row: r.undispatchedId, key: r.assignmentId };
  }

  readonly seen = new Map<
    string,
    { undispatchedId: string; assignmentId: string; targetEndpointId: string }
  >();

  exec(c: Cmd): void {
    const w = this.w;
    for (const r of w.component.records()) this.seen.set(`${r.undispatchedId}|${r.assignmentId}`, r);
    switch (c.t) {
      case "dispatch": {
        const row = ROWS[c.row % ROWS.length]!;
        w.control(w.dispatchEvent(KEYS[c.key % KEYS.length]!, row, EPS[c.ep % EPS.length]!.id));
        return;
      }
      case "answer": {
        const call = pick(w.pending(), c.pick);
        if (!call) return;
        const r: ApiResult<ApiOp> =
          c.outcome === "ok" ? OK : c.outcome === "transient" ? transient() : terminal();
        w.answer(call.id, r);
        return;
      }
      case "pushAck": {
        const p = pick(
          w.pushes().filter((x) => x.pushId && !this.pushAcked.has(x.pushId)),
          c.pick,
        );
        if (!p) return;
        this.pushAcked.add(p.pushId!);
        w.pushAck(p.channel, p.pushId!);
        return;
      }
      case "state": {
        const t = this.target(c.rec, c.wild);
        w.reportState(t.ep.id, t.ep.pid, t.row, t.key, c.state, {
          state_sequence: c.seq,
          retryable: c.retryable,
        });
        return;
      }
      case "reply": {
        const t = this.target(c.rec, c.wild);
        const rrid = `r${c.rrid}`;
        const replyKey = `${t.row}|${t.key}|${rrid}`;
        const variant = `v${c.variant}`;
        const at = w.history.length;
        const requestId = w.reply(t.ep.id, t.ep.pid, t.row, t.key, rrid, `${replyKey}|${variant}`);
        this.attempts.push({ requestId, replyKey, variant, at });
        return;
      }
      case "sendAck": {
        const s = pick(
          w.sends().filter((f) => !this.acked.has(f.messageId)),
          c.pick,
        );
        if (!s) return;
        this.acked.set(s.messageId, w.history.length);
        w.sendAck(s.messageId);
        return;
      }
      case "connectorError": {
        const s = pick(
          w.sends().filter((f) => !this.acked.has(f.messageId)),
          c.pick,
        );
        if (s) w.connectorError(s.messageId);
        return;
      }
      case "close":
        if (w.connector.socketOpen) w.closeConnector();
        return;
      case "connect":
        if (!w.connector.socketOpen) w.connect();
        return;
      case "advance":
        w.advance(c.ms);
        return;
      case "storage": {
        const ops = w.history.filter((o) => o.kind === "storage" && !this.storageDone.has(o.id)) as Array<{
          id: number;
        }>;
        const op = pick(ops, c.pick);
        if (!op) return;
        this.storageDone.add(op.id);
        w.env.completeStorage(op.id, c.ok);
        w.sync();
        return;
      }
      case "filler":
        if (w.inbox.size + w.inbox.reserved < w.inbox.capacity) w.addRow(`f${this.fillers++}`);
        return;
      case "takeFiller":
        for (const r of w.inbox.values()) {
          if (r.id.startsWith("f")) {
            w.inbox.take(r.id);
            return;
          }
        }
        return;
      case "removeEp":
        if (this.ep2Present) {
          this.ep2Present = false;
          w.removeEndpoint("ep2");
        }
        return;
      case "addEp":
        if (!this.ep2Present) {
          this.ep2Present = true;
          w.addEndpoint({ id: "ep2", pid: 12 });
        }
        return;
    }
  }

  /** Heal everything and let every deadline run, so the world reaches quiescence. */
  drain(): void {
    const w = this.w;
    for (let round = 0; round < 30; round++) {
      if (!w.connector.socketOpen) w.connect();
      w.answerAll(OK);
      for (const op of w.history) {
        if (op.kind === "storage" && !this.storageDone.has(op.id)) {
          this.storageDone.add(op.id);
          w.env.completeStorage(op.id, true);
        }
      }
      w.sync();
      for (const p of w.pushes()) {
        if (p.pushId && !this.pushAcked.has(p.pushId)) {
          this.pushAcked.add(p.pushId);
          w.pushAck(p.channel, p.pushId);
        }
      }
      for (const s of w.sends()) {
        if (!this.acked.has(s.messageId)) {
          this.acked.set(s.messageId, w.history.length);
          w.sendAck(s.messageId);
        }
      }
      w.answerAll(OK);
      w.advance(31_000);
    }
    w.answerAll(OK);
  }

  violations(): string[] {
    const w = this.w;
    return [
      ...checkA1(w),
      ...checkA3(w, this.acked),
      ...checkA4(w),
      ...checkA5(w, this.attempts),
      ...checkA7(w, this.attempts),
    ];
  }

  quiescentViolations(): string[] {
    return [...checkA10(this.w, ROWS), ...checkA11(this.w)];
  }
}

describe("assignments under random interleavings", () => {
  it("keep A1, A3, A4, A5, A7 throughout and A10, A11 at quiescence", () => {
    fc.assert(
      fc.property(fc.array(cmd, { minLength: 10, maxLength: 150, size: "max" }), (cmds) => {
        const run = new Run();
        for (const c of cmds) run.exec(c);
        expect(run.violations()).toEqual([]);
        run.drain();
        expect(run.violations()).toEqual([]);
        expect(run.quiescentViolations()).toEqual([]);
        expect(run.w.logs.filter((l) => l.event === "ipc_double_reply")).toEqual([]);
      }),
      { numRuns: 300, seed: 20_240_601 },
    );
  });

  it("catch the planted faults (the checks can fail)", () => {
    // Each planted fault must be found by the same checks within a modest number of runs.
    const faults: Array<{ fault: object; drain: boolean; check: (r: Run) => string[] }> = [
      {
        fault: { forgetReplyRecords: true },
        drain: false,
        check: (r) => [...checkA4(r.w), ...checkA3(r.w, r.acked)],
      },
      { fault: { noSequenceGuard: true }, drain: false, check: (r) => checkA1(r.w) },
      { fault: { silentInboxLoss: true }, drain: true, check: (r) => checkA10(r.w, ROWS) },
    ];
    for (const { fault, drain, check } of faults) {
      const found = fc.check(
        fc.property(fc.array(cmd, { minLength: 10, maxLength: 150, size: "max" }), (cmds) => {
          const run = new Run(fault);
          for (const c of cmds) run.exec(c);
          if (drain) run.drain();
          return check(run).length === 0;
        }),
        { numRuns: 1000, seed: 7, endOnFailure: true },
      );
      expect(found.failed, JSON.stringify(fault)).toBe(true);
    }
  });
});
