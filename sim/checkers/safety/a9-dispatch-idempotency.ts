import { defineChecker } from "../checker.ts";
import { describe } from "../util.ts";

/** A9 Dispatch idempotency (PROTOCOL §7.3). */
export const A9 = defineChecker({
  id: "A9",
  kind: "safety",
  kinds: [
    "start",
    "in:control_event",
    "out:control_ack",
    "out:api_call",
    "out:ipc_push",
    "out:storage",
    "step_end",
  ],
  statement:
    "Replaying a dispatch_undispatched whose idempotency_key already succeeded (within the window) produces no new posts or pushes.",
  create() {
    let applied = new Set<string>();
    let order: string[] = [];
    let replayed: { key: string; ev: string } | undefined;
    return {
      onEvent(ev, v) {
        if (ev.k === "start") {
          applied = new Set();
          order = [];
          return undefined;
        }
        if (ev.k === "in") {
          replayed = undefined;
          if (ev.input.kind !== "control_event") return undefined;
          const e = ev.input.event as Record<string, unknown> | null;
          if (
            e?.type === "dispatch_undispatched" &&
            typeof e.idempotency_key === "string" &&
            applied.has(e.idempotency_key)
          ) {
            replayed = { key: e.idempotency_key, ev: describe(ev) };
          }
          return undefined;
        }
        if (ev.k === "step_end") {
          replayed = undefined;
          return undefined;
        }
        if (ev.k !== "out") return undefined;
        const o = ev.output;
        if (o.kind === "control_ack") {
          if (o.status === "applied" && !applied.has(o.idempotency_key)) {
            applied.add(o.idempotency_key);
            order.push(o.idempotency_key);
            const max = v.options?.controlIdempotencyRingMax ?? 1024;
            while (order.length > max) applied.delete(order.shift()!);
          }
          return undefined;
        }
        if (replayed && (o.kind === "api_call" || o.kind === "ipc_push" || o.kind === "storage")) {
          return {
            message: `a replay of the already applied dispatch ${replayed.key} produced ${o.kind === "api_call" ? `a ${o.op} post` : o.kind === "ipc_push" ? "a push" : "a buffer write"}.`,
            involved: [replayed.ev, describe(ev)],
          };
        }
        return undefined;
      },
    };
  },
});
