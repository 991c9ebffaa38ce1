/**
 * A tiny driver + model for the Connector's safety invariants S1–S5, S8 and the L2 gap-fill bound.
 * It plays the driver's part (answers connect with open, close with closed), feeds frames only
 * while the driver's socket is open, and checks every output against what the model knows: which
 * seqs the pipeline accepted, which the server skipped or marked delivered, and what was acked.
 */

import type { Connector } from "../../../src/broker/connector/connector.ts";
import type { PlantedFaults } from "../../../src/broker/options.ts";
import type { Output } from "../../../src/broker/types.ts";
import { Pair } from "./harness.ts";

export type Action =
  | { k: "recv"; seq: number; withId: boolean }
  /** The server's next message: seq = head + 1. */
  | { k: "next"; withId: boolean }
  /** The server replays every seq above the committed cursor up to its head (a gap fill answer). */
  | { k: "replay" }
  | { k: "unseq"; n: number }
  | { k: "dup"; i: number }
  | { k: "accept"; i: number }
  | { k: "acceptAny"; seq: number }
  | { k: "release"; i: number }
  | { k: "close" }
  | { k: "reconnect" }
  | { k: "registerAck"; deliverySeq: number | undefined }
  | { k: "cursor"; deliverySeq: number; deliveredSeq: number | undefined }
  | { k: "skip"; seq: number }
  | { k: "tick"; ms: number };

export interface RunResult {
  violations: string[];
  pair: Pair;
  /** Highest seq the server ever sent, skipped, announced or had accepted (its log is 1 … H). */
  serverHighest: number;
  /** Gap fills written during the healing phase (only with `heal`). */
  healingGapFills: number;
}

export function run(
  actions: Action[],
  initialCursor: number,
  faults: Partial<PlantedFaults> = {},
  opts: { gapFillRetryInitialMs?: number; heal?: boolean } = {},
): RunResult {
  const violations: string[] = [];
  const gapMinMs = opts.gapFillRetryInitialMs ?? 1_000;
  /** Seqs handed to the pipeline and not yet accepted or released by it (with repeats). */
  const inPipeline: number[] = [];
  const deliveredIds = new Set<string>();
  const releasedSince = new Set<string>();
  const pair = new Pair({
    initialCursor,
    faults,
    options: { gapFillRetryInitialMs: gapMinMs },
    onMessage: (f) => {
      if (f.seq !== undefined) inPipeline.push(f.seq);
      const id = f.messageId;
      if (id === undefined) return;
      if (deliveredIds.has(id) && !releasedSince.has(id))
        violations.push(`S5: ${id} reached the pipeline twice`);
      deliveredIds.add(id);
      releasedSince.delete(id);
    },
  });
  const c: Connector = pair.connector;
  const accSkip = new Set<number>();
  let srv = 0;
  let lastAck = -1;
  let lastPersisted = -1;
  const ackedWhileOpen = new Set<number>();
  let driverOpen = false;
  let closeRequested = false;
  let socketNo = 0;
  let lastGap: { socket: number; since: number; at: number } | undefined;
  const messages: string[] = [];
  let head = initialCursor;
  let serverMax = initialCursor;
  /** Only what reached an open socket counts as delivered by the server (L1 speaks of those). */
  const saw = (n: number | undefined, delivered = driverOpen) => {
    if (delivered && n !== undefined && n > serverMax) serverMax = n;
  };
  const message = (seqNo: number, withId: boolean): string => {
    const f: Record<string, unknown> = {
      event: "MESSAGE_RECEIVED",
      from: "x",
      content: "c",
      contentType: "text/plain",
      metadata: {},
      seq: seqNo,
    };
    if (withId) f.messageId = `m${seqNo}`;
    return JSON.stringify(f);
  };

  const send = (text: string) => {
    if (driverOpen) c.handleFrame(text);
  };

  /** Walk new outputs in order, check them, then answer connect/close like a driver. */
  const drain = (stepGapFills: number[]) => {
    for (;;) {
      const batch: Output[] = pair.take();
      if (batch.length === 0) return;
      const answers: Array<() => void> = [];
      for (const o of batch) {
        if (o.kind === "connector_send") {
          if (!driverOpen || closeRequested) violations.push(`write while not open: ${o.frame.event}`);
          if (o.frame.event === "DELIVERY_ACK") {
            const u = o.frame.upToSeq;
            const base = Math.max(initialCursor, lastAck, srv);
            for (let s = base + 1; s <= u; s++) {
              if (!accSkip.has(s)) violations.push(`S1: ack ${u} covers ${s}, neither accepted nor skipped`);
            }
            if (u < lastAck) violations.push(`S2: ack ${u} after ack ${lastAck}`);
            lastAck = Math.max(lastAck, u);
            ackedWhileOpen.add(u);
          } else if (o.frame.event === "REQUEST_GAP_FILL") {
            const since = o.frame.sinceSeq;
            stepGapFills.push(since);
            if (lastGap && lastGap.socket === socketNo && lastGap.since === since) {
              if (pair.env.nowMs - lastGap.at < gapMinMs) {
                violations.push(`L2: second gap fill for ${since} after ${pair.env.nowMs - lastGap.at} ms`);
              }
            }
            lastGap = { socket: socketNo, since, at: pair.env.nowMs };
          }
        } else if (o.kind === "storage" && o.op.op === "write_cursor") {
          const v = o.op.lastKnownSeq;
          if (!ackedWhileOpen.has(v)) violations.push(`S3: cursor ${v} persisted before its ack`);
          if (v < lastPersisted) violations.push(`S2: cursor file ${v} after ${lastPersisted}`);
          lastPersisted = Math.max(lastPersisted, v);
        } else if (o.kind === "connector_close") {
          closeRequested = true;
          answers.push(() => {
            driverOpen = false;
            c.handleClosed(o.code, o.reason);
          });
        } else if (o.kind === "connector_connect") {
          answers.push(() => {
            driverOpen = true;
            closeRequested = false;
            socketNo++;
            c.handleOpen();
          });
        }
      }
      for (const a of answers) a();
    }
  };

  const take = <T>(arr: T[], i: number): T | undefined => {
    if (arr.length === 0) return undefined;
    return arr.splice(i % arr.length, 1)[0];
  };

  c.start();
  drain([]);
  for (const a of actions) {
    const before = c.committedSeq;
    const wasOpen = driverOpen;
    const stepGapFills: number[] = [];
    switch (a.k) {
      case "recv": {
        saw(a.seq);
        const text = message(a.seq, a.withId);
        if (driverOpen) messages.push(text);
        send(text);
        break;
      }
      case "next": {
        if (!driverOpen) break;
        head++;
        saw(head);
        const text = message(head, a.withId);
        messages.push(text);
        send(text);
        break;
      }
      case "replay":
        for (let s = c.committedSeq + 1; s <= head && driverOpen; s++) send(message(s, true));
        break;
      case "unseq": {
        const text = JSON.stringify({
          event: "MESSAGE_RECEIVED",
          messageId: `u${a.n}`,
          from: "x",
          content: "c",
          contentType: "text/plain",
          metadata: {},
        });
        if (driverOpen) messages.push(text);
        send(text);
        break;
      }
      case "dup":
        if (messages.length > 0) send(messages[a.i % messages.length]!);
        break;
      case "accept": {
        const s = take(inPipeline, a.i);
        if (s !== undefined) {
          accSkip.add(s);
          c.accept(s);
        }
        break;
      }
      case "acceptAny":
        saw(a.seq, true);
        accSkip.add(a.seq);
        c.accept(a.seq);
        break;
      case "release": {
        const s = take(inPipeline, a.i);
        if (s !== undefined) {
          if (s > c.committedSeq) releasedSince.add(`m${s}`);
          c.release(s);
        }
        break;
      }
      case "close":
        if (driverOpen && !closeRequested) {
          driverOpen = false;
          c.handleClosed(1006, "network");
        }
        break;
      case "reconnect": {
        const at = pair.env.dueAt({ kind: "reconnect" });
        if (at !== undefined) pair.advanceTo(at);
        break;
      }
      case "registerAck":
        send(
          JSON.stringify({
            event: "REGISTER_ACK",
            status: "ok",
            protocolVersion: 4,
            deliverySeq: a.deliverySeq,
          }),
        );
        break;
      case "cursor":
        saw(a.deliverySeq);
        saw(a.deliveredSeq);
        if (driverOpen && a.deliveredSeq !== undefined) srv = Math.max(srv, a.deliveredSeq);
        send(
          JSON.stringify({
            event: "DELIVERY_CURSOR",
            deliverySeq: a.deliverySeq,
            deliveredSeq: a.deliveredSeq,
          }),
        );
        break;
      case "skip":
        saw(a.seq);
        if (driverOpen) accSkip.add(a.seq);
        send(JSON.stringify({ event: "DELIVERY_SKIP", seq: a.seq, reason: "runtime_mailbox_dismissed" }));
        break;
      case "tick":
        pair.advanceBy(a.ms);
        break;
    }
    drain(stepGapFills);
    const after = c.committedSeq;
    if (after < before) violations.push(`S2: committed cursor went from ${before} to ${after}`);
    if (!wasOpen && !driverOpen && after !== before && (a.k === "accept" || a.k === "acceptAny")) {
      violations.push(`S4: committed ${after} while the socket was closed`);
    }
    for (const since of stepGapFills) {
      if (since !== after) violations.push(`S8: gap fill since ${since} while the cursor is ${after}`);
    }
  }
  let healingGapFills = 0;
  if (opts.heal) {
    // Fair world: the socket stays up once open, the server replays 1 … H after REGISTER and after
    // every REQUEST_GAP_FILL, and the pipeline accepts everything it is handed.
    const replay = (since: number) => {
      for (let s = since + 1; s <= serverMax && driverOpen; s++) send(message(s, true));
    };
    for (let step = 0; step < 400; step++) {
      const gaps: number[] = [];
      if (step > 0) {
        pair.advanceBy(500);
        drain(gaps);
      }
      if (!driverOpen) {
        const at = pair.env.dueAt({ kind: "reconnect" });
        if (at !== undefined) pair.advanceTo(at);
        drain(gaps);
      }
      if (driverOpen && !c.ready) {
        send(JSON.stringify({ event: "REGISTER_ACK", status: "ok", protocolVersion: 4 }));
        drain(gaps);
        replay(c.committedSeq);
        drain(gaps);
      }
      while (inPipeline.length > 0) {
        const s = inPipeline.shift()!;
        accSkip.add(s);
        c.accept(s);
        drain(gaps);
      }
      healingGapFills += gaps.length;
      for (const since of gaps) replay(since);
      drain(gaps);
      if (c.committedSeq >= serverMax && inPipeline.length === 0) break;
    }
  }
  return { violations, pair, serverHighest: serverMax, healingGapFills };
}
