import { defineChecker } from "../checker.ts";
import { describe } from "../util.ts";

/**
 * A17 A push on a channel without push receipts is the hand-off (our addition beside PROTOCOL §7;
 * the rules are §3.4 "without the capability, pushed means the socket was open" and §1.8, endpoint
 * hand-off steps 3–4).
 *
 * Theory of operation:
 * 1. A pipeline task's `message_received` push without a `push_id` (the channel did not ask for
 *    receipts) was written on an open socket: the broker only pushes on a channel it holds open. It
 *    is therefore a successful hand-off, with nothing to wait for.
 * 2. A hand-off of a message with an id goes on at once to §1.8 step 4: the task remembers the
 *    routed event and posts `runtime_inbound_routed` for that message. With no receipt to wait for,
 *    that post belongs to the same step as the push.
 * 3. A task that instead counts the push as not delivered ends not accepted: the message is
 *    released and routed again when the connector replays it, a second route claim and possibly a
 *    second push for one delivery. Read from the outputs' causes (a task's push and its own post);
 *    a target that exposes no causes is not judged (sim/targets/index.ts).
 */
export const A17 = defineChecker({
  id: "A17",
  kind: "safety",
  kinds: ["start", "crash", "step_end", "out:ipc_push", "out:api_call"],
  statement:
    "A pipeline task's push of a message on a channel without push receipts is its hand-off: in the same step the task posts runtime_inbound_routed for that message.",
  create() {
    /** Receipt-less pushes of the current step by a task, awaiting its routed post: message → push. */
    const pending = new Map<string, string>();
    return {
      onEvent(ev) {
        if (ev.k === "start" || ev.k === "crash") {
          pending.clear();
          return undefined;
        }
        if (ev.k === "step_end") {
          const first = pending.entries().next();
          pending.clear();
          if (first.done === true) return undefined;
          const [m, push] = first.value;
          return {
            message: `the task of ${m} pushed it on a channel without push receipts but did not post runtime_inbound_routed for it in that step: a receipt-less push on an open socket is the hand-off (PROTOCOL §3.4, §1.8 step 4), so the task counted a delivered message as not handed off and it will be routed again.`,
            involved: [push],
          };
        }
        if (ev.k !== "out") return undefined;
        const o = ev.output;
        const cause = o.cause;
        if (cause?.kind !== "task" || cause.messageId === undefined) return undefined;
        if (o.kind === "ipc_push") {
          const f = o.frame;
          if (f.event !== "message_received" || f.push_id !== undefined || f.runtimeAssignment)
            return undefined;
          if (f.sourceMessageId !== cause.messageId) return undefined;
          pending.set(cause.messageId, describe(ev));
          return undefined;
        }
        if (o.kind === "api_call" && o.op === "inbound_routed") pending.delete(o.args.source_message_id);
        return undefined;
      },
    };
  },
});
