import type { ApiOp } from "../../../src/broker/api.ts";
import type { Cause } from "../../../src/broker/types.ts";
import { SIM_EPOCH_MS } from "../../kernel/clock.ts";
import { defineChecker } from "../checker.ts";
import { describe } from "../util.ts";
import { PRESENCE_GRACE_TOLERANCE_MS, PRESENCE_STEP_TOLERANCE_MS } from "./l7-presence-convergence.ts";
import { firstFew, Phase, plural } from "./phase.ts";

/** The platform projections the broker keeps up to date through its retry emitters (PROTOCOL §1.9). */
const PROJECTION_OPS: ReadonlySet<ApiOp> = new Set<ApiOp>([
  "undispatched_changed",
  "inbound_routed",
  "presence_changed",
]);

/** A projection post that failed transiently and what must follow it. */
interface Owed {
  id: number;
  op: ApiOp;
  t: number;
  /** The later post that settles the debt: a repeat of post `id`, or a queue post naming `item`. */
  repeats: number | undefined;
  item: string | undefined;
  /** The queue item it concerns (see `itemKey`). */
  key: string;
}

/** An item of a retry queue as the wire shows it: an id it names, and whether its queue posted it. */
interface QueueItem {
  pinned: boolean;
  ids: readonly string[];
  posted: boolean;
}

type QueueOptions = { emitterQueueMax?: number; presenceEmitterQueueMax?: number };

/** A lost-at-capacity `remove` is pinned: never evicted, never dropped after its retries. */
function isPinned(op: ApiOp, args: Record<string, unknown>): boolean {
  return op === "undispatched_changed" && args.action === "remove";
}

/** A queue item's identity across its posts: the ids it names, else the first post it repeats. */
function itemKey(cause: Extract<Cause, { kind: "queue" }>, postId: number): string {
  return cause.ids.length > 0 ? cause.ids.join(",") : `#${cause.repeats ?? postId}`;
}

type PresenceState = "online" | "reconnecting" | "offline";

/**
 * L12 Projections reach the platform (our addition beside PROTOCOL §7.4; the rules are §1.9, the
 * retry emitters, and §1.11, network presence), judged at the end of the liveness phase, within the
 * last broker incarnation (a crash loses the emitters' queues; a shutdown drops them):
 * - presence: the change that made the broker's presence what it is at the end (the connector's
 *   connect, its disconnect, or `presenceGraceMs` of disconnection) was posted to the platform as
 *   `network_presence_changed` with that state, timestamped at or after the change;
 * - retries, read from the outputs' causes: a projection post answered with a transient failure is
 *   followed by its retry queue's post of the same item: a retry-queue post (`queue` cause) below
 *   `emitterRetriesMax` attempts (a pinned lost-at-capacity `remove` at any attempt) by a post that
 *   repeats it, a pipeline task's own `inbound_routed` post, and its `undispatched_changed add` for
 *   a message without a seq, by a queue post whose ids name the message.
 * Posting is what counts, not the answer: an item dropped after its retries is within the rules, and
 * so is one evicted from a full queue (§1.9: enqueueing onto a full queue evicts the oldest item).
 * The checker keeps each queue's items as the wire shows them (an item enters when its post fails
 * transiently or its queue first posts it, and leaves on success, a terminal answer or its last
 * allowed failure) and, when they outnumber the queue's capacity (`emitterQueueMax`,
 * `presenceEmitterQueueMax`), releases the oldest unpinned one from its debt.
 */
export const L12 = defineChecker({
  id: "L12",
  kind: "liveness",
  kinds: ["start", "in", "out", "step_end", "truth", "quiescent"],
  statement:
    "By the end of the liveness phase the broker has posted its current presence change, and every projection post that failed transiently has been retried by its queue.",
  create() {
    const phase = new Phase();
    let connectedFrom: number | undefined;
    let downAt: number | undefined;
    let everConnected = false;
    let ackStep: number | undefined;
    let closedInStep = false;
    let shutDown = false;
    /** Presence posts of this incarnation: state and the change time they carry. */
    let posted: Array<{ state: PresenceState; t: number }> = [];
    const owed = new Map<number, Owed>();
    /** Each retry queue's items as the wire shows them, oldest first; the value says pinned. */
    const queues = new Map<ApiOp, Map<string, QueueItem>>();
    /** Queue post id → its item key. */
    const keyOfPost = new Map<number, string>();
    /** Queue post id → its item key, kept for the posts that repeat it (items without ids). */
    const rootKey = new Map<number, string>();
    const calls = new Map<
      number,
      { op: ApiOp; cause: Cause | undefined; args: Record<string, unknown>; t: number }
    >();
    return {
      onEvent(ev, v) {
        if (phase.observe(ev)) return undefined;
        switch (ev.k) {
          case "start":
            connectedFrom = undefined;
            downAt = undefined;
            everConnected = false;
            ackStep = undefined;
            shutDown = false;
            posted = [];
            owed.clear();
            calls.clear();
            queues.clear();
            keyOfPost.clear();
            rootKey.clear();
            return undefined;
          case "in": {
            ackStep = undefined;
            closedInStep = false;
            const input = ev.input;
            if (input.kind === "shutdown") shutDown = true;
            else if (input.kind === "connector_closed") {
              if (connectedFrom !== undefined) downAt = ev.t;
              connectedFrom = undefined;
            } else if (input.kind === "connector_frame") {
              const f = v.stepFrame;
              if (f?.event === "REGISTER_ACK" && f.status !== "error") ackStep = ev.t;
            } else if (input.kind === "api_result") {
              const call = calls.get(input.id);
              calls.delete(input.id);
              const r = input.result;
              const retriesMax = v.options?.emitterRetriesMax ?? 5;
              if (call && !r.ok && !r.terminal) owe(call, input.id, retriesMax, v.options);
              if (call?.cause?.kind === "queue") {
                const pinned = isPinned(call.op, call.args);
                const key = keyOfPost.get(input.id);
                if (
                  key !== undefined &&
                  (r.ok || r.terminal || (call.cause.attempt >= retriesMax && !pinned))
                )
                  queues.get(call.op)?.delete(key);
              }
              keyOfPost.delete(input.id);
            }
            return undefined;
          }
          case "out": {
            const o = ev.output;
            if (o.kind === "stopped") shutDown = true;
            else if (o.kind === "connector_close") closedInStep = true;
            else if (o.kind === "api_call" && PROJECTION_OPS.has(o.op)) {
              const args = o.args as unknown as Record<string, unknown>;
              calls.set(o.id, { op: o.op, cause: o.cause, args, t: ev.t });
              settle(o.op, o.cause);
              if (o.cause?.kind === "queue") {
                const c = o.cause;
                const key =
                  (c.repeats !== undefined ? rootKey.get(c.repeats) : undefined) ??
                  oldestNaming(o.op, c.ids) ??
                  itemKey(c, o.id);
                rootKey.set(o.id, key);
                keyOfPost.set(o.id, key);
                enter(o.op, key, { pinned: isPinned(o.op, args), ids: c.ids, posted: true }, v.options);
              }
              if (o.op === "presence_changed")
                posted.push({ state: args.state as PresenceState, t: (args.ts as number) - SIM_EPOCH_MS });
            }
            return undefined;
          }
          case "step_end":
            if (ackStep !== undefined && !closedInStep && connectedFrom === undefined) {
              connectedFrom = ackStep;
              everConnected = true;
            }
            ackStep = undefined;
            return undefined;
          default:
            break;
        }
        if (!phase.isVerdict(ev) || shutDown) return undefined;
        const problems: string[] = [];
        const graceMs = v.options?.presenceGraceMs ?? 600_000;
        const expected = expectedPresence(ev.t, graceMs);
        if (expected && !posted.some((p) => p.state === expected.state && p.t >= expected.from)) {
          problems.push(
            `presence became ${expected.state} at t≈${expected.from} and the platform was never told`,
          );
        }
        for (const d of owed.values()) {
          problems.push(`${d.op} post #${d.id} failed transiently at t=${d.t} and was never retried`);
        }
        if (problems.length === 0) return undefined;
        return {
          message: `${plural(problems.length, "projection")} never reached the platform: ${firstFew(problems)}.`,
          involved: [...problems, describe(ev)],
        };
      },
    };

    /** What the broker's presence is at the end and since when (a lower bound), if it changed. */
    function expectedPresence(
      endT: number,
      graceMs: number,
    ): { state: PresenceState; from: number } | undefined {
      const tol = PRESENCE_STEP_TOLERANCE_MS;
      if (connectedFrom !== undefined) return { state: "online", from: connectedFrom - tol };
      if (!everConnected || downAt === undefined) return undefined;
      if (endT - downAt >= graceMs + PRESENCE_GRACE_TOLERANCE_MS)
        return { state: "offline", from: downAt + graceMs - tol };
      if (endT - downAt < graceMs - tol) return { state: "reconnecting", from: downAt - tol };
      return undefined;
    }

    function owe(
      call: { op: ApiOp; cause: Cause | undefined; args: Record<string, unknown>; t: number },
      id: number,
      retriesMax: number,
      options: QueueOptions | undefined,
    ): void {
      const c = call.cause;
      if (c?.kind === "queue") {
        const pinned = isPinned(call.op, call.args);
        const key = keyOfPost.get(id) ?? itemKey(c, id);
        // Evicted while its post was in flight: the queue no longer holds it.
        if (!queues.get(call.op)?.has(key)) return;
        if (c.attempt < retriesMax || pinned)
          owed.set(id, { id, op: call.op, t: call.t, repeats: id, item: undefined, key });
        return;
      }
      if (c?.kind !== "task") return;
      const messageId = call.args.source_message_id;
      if (typeof messageId !== "string") return;
      const queued =
        call.op === "inbound_routed" || (call.op === "undispatched_changed" && c.seq === undefined);
      if (!queued) return;
      const key = `task-post#${id}`;
      owed.set(id, { id, op: call.op, t: call.t, repeats: undefined, item: messageId, key });
      enter(call.op, key, { pinned: false, ids: [messageId], posted: false }, options);
    }

    /** `key` is (still) in `op`'s queue; a queue over its capacity evicts its oldest unpinned item. */
    /** The oldest item of `op`'s queue for these ids that its queue has not posted yet. */
    function oldestNaming(op: ApiOp, ids: readonly string[]): string | undefined {
      if (ids.length === 0) return undefined;
      for (const [k, item] of queues.get(op) ?? []) {
        if (!item.posted && item.ids.some((id) => ids.includes(id))) {
          item.posted = true;
          return k;
        }
      }
      return undefined;
    }

    function enter(op: ApiOp, key: string, item: QueueItem, options: QueueOptions | undefined): void {
      let q = queues.get(op);
      if (!q) {
        q = new Map();
        queues.set(op, q);
      }
      if (!q.has(key)) q.set(key, item);
      const cap =
        op === "presence_changed"
          ? (options?.presenceEmitterQueueMax ?? 128)
          : (options?.emitterQueueMax ?? 1_024);
      while (q.size > cap) {
        let evicted: string | undefined;
        for (const [k, it] of q) {
          if (!it.pinned) {
            evicted = k;
            break;
          }
        }
        if (evicted === undefined) return;
        q.delete(evicted);
        for (const [id, d] of owed) if (d.op === op && d.key === evicted) owed.delete(id);
      }
    }

    function settle(op: ApiOp, cause: Cause | undefined): void {
      if (cause?.kind !== "queue") return;
      for (const [id, d] of owed) {
        if (d.op !== op) continue;
        if (
          d.repeats !== undefined
            ? cause.repeats === d.repeats
            : d.item !== undefined && cause.ids.includes(d.item)
        )
          owed.delete(id);
      }
    }
  },
});
