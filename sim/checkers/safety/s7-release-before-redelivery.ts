import type { SimEvent } from "../../kernel/events.ts";
import type { Output } from "../../../src/broker/types.ts";
import { defineChecker } from "../checker.ts";
import { describe, taskMessageOf } from "../util.ts";
import type { View } from "../view.ts";

/**
 * Whether a task's first output takes it straight to the inbox: the `undispatched_changed` post, or
 * the inbox journal write that precedes it (a slow write may leave the task ending there, not
 * accepted, with no post).
 */
const wentToInbox = (o: Output): boolean =>
  (o.kind === "api_call" && o.op === "undispatched_changed") ||
  (o.kind === "storage" && o.op.op === "inbox_put");

/** S7 Release before redelivery (PROTOCOL §7.1). */
export const S7 = defineChecker({
  id: "S7",
  kind: "safety",
  kinds: ["start", "in:connector_frame", "out", "step_end"],
  statement:
    "A seq whose task finished without being accepted has had its payload id released, so its next replay (above the cursor) is processed again.",
  create() {
    /** Message ids this process has received at least once. */
    let received = new Set<string>();
    let replay: { messageId: string; seq: number; frame: SimEvent } | undefined;
    let produced = false;
    /**
     * Messages whose last processing produced no pipeline output at all (e.g. routed to a full
     * inbox: not accepted, released, nothing posted). Re-processing such a replay is just as
     * silent, so its silence proves nothing; those replays are not judged.
     */
    const silent = new Set<string>();
    /**
     * Messages whose last processing went straight to the inbox (an `undispatched_changed add`
     * written while handling the frame itself, so no platform answer decided the route). A replay
     * of such a message takes the same route, and if the inbox has filled up meanwhile it ends
     * right there, not accepted and released, with no output at all (PROTOCOL §1.8 "inbox add":
     * `tryAdd` fails ⇒ not accepted). That silence cannot be told apart from a suppressed
     * duplicate, so these replays are not judged either.
     */
    const inboxDirect = new Set<string>();
    /**
     * The endpoint each message's last route claim named, and the undispatched ids an
     * `undispatched_changed add` was posted for in this process (an upper bound on the inbox rows:
     * a row is only added together with its add post).
     */
    const claimedTo = new Map<string, string>();
    const inboxIds = new Set<string>();
    /**
     * A message claimed for an endpoint that has closed since routes to the inbox now, and with the
     * inbox possibly full its replay ends right there, not accepted, released and silent (§1.8
     * "inbox add") — as legal as the `inboxDirect` case, and just as silent.
     */
    const rerouteMayBeRefused = (m: string, v: View): boolean => {
      const ep = claimedTo.get(m);
      if (ep === undefined || v.endpoints.get(ep)?.state !== "closed") return false;
      // A task waiting on a closed-endpoint lookup holds an inbox slot (an L1 deviation,
      // docs/deviations.md): rows plus unanswered lookups may fill the inbox before the rows alone do.
      let reserved = 0;
      for (const c of v.apiCalls.values()) if (c.op === "closed_endpoint_lookup") reserved++;
      return inboxIds.size + reserved >= (v.options?.inboxCapacity ?? 256);
    };
    let fresh: { messageId: string; produced: boolean; inbox: boolean } | undefined;
    return {
      onEvent(ev, v) {
        switch (ev.k) {
          case "start":
            received = new Set();
            silent.clear();
            inboxDirect.clear();
            claimedTo.clear();
            inboxIds.clear();
            return undefined;
          case "in": {
            replay = undefined;
            produced = false;
            fresh = undefined;
            const f = v.stepFrame;
            if (f?.event !== "MESSAGE_RECEIVED" || typeof f.messageId !== "string") return undefined;
            if (typeof f.seq !== "number") return undefined;
            if ((f.runtimeSessionId ?? undefined) !== v.options?.runtimeSessionId) return undefined;
            const m = f.messageId;
            const rerouted = rerouteMayBeRefused(m, v);
            if (
              received.has(m) &&
              !silent.has(m) &&
              !inboxDirect.has(m) &&
              !rerouted &&
              !retiredTarget(f, v) &&
              f.seq > v.committed &&
              !v.acceptedIds.has(m) &&
              !v.handedOffIds.has(m) &&
              !v.inFlight(m)
            ) {
              replay = { messageId: m, seq: f.seq, frame: ev };
            }
            if (!received.has(m) || replay || silent.has(m) || inboxDirect.has(m) || rerouted)
              fresh = { messageId: m, produced: false, inbox: false };
            received.add(m);
            return undefined;
          }
          case "out": {
            const o = ev.output;
            if (o.kind === "api_call" && o.op === "inbound_route_claim")
              claimedTo.set(o.args.source_message_id, o.args.routed_to_endpoint_id);
            if (o.kind === "api_call" && o.op === "undispatched_changed" && o.args.action === "add")
              inboxIds.add(o.args.undispatched_id);
            if (fresh && taskMessageOf(ev.output) === fresh.messageId) {
              if (!fresh.produced && wentToInbox(ev.output)) fresh.inbox = true;
              fresh.produced = true;
            }
            if (
              replay &&
              !(ev.output.kind === "connector_send" && ev.output.frame.event === "REQUEST_GAP_FILL")
            ) {
              produced = true;
            }
            return undefined;
          }
          case "step_end":
            if (fresh) {
              if (fresh.produced) silent.delete(fresh.messageId);
              else silent.add(fresh.messageId);
              if (fresh.inbox) inboxDirect.add(fresh.messageId);
              else if (fresh.produced) inboxDirect.delete(fresh.messageId);
              fresh = undefined;
            }
            if (replay && !produced) {
              const r = replay;
              replay = undefined;
              return {
                message: `the replay of seq ${r.seq} (${r.messageId}) was ignored although its earlier task ended without acceptance and nothing of it is still running: its pending id was not released.`,
                involved: [describe(r.frame)],
              };
            }
            replay = undefined;
            return undefined;
          default:
            return undefined;
        }
      },
    };
  },
});

/**
 * Does the frame name a target endpoint that is gone (or was never registered here)? Such a message
 * needs the closed-endpoint lookup before it can go to the inbox, and the broker reserves an inbox
 * slot first: with the inbox full it ends right there, released and silent (an L1 deviation,
 * docs/deviations.md), which is legal and looks exactly like a suppressed duplicate.
 */
function retiredTarget(f: Record<string, unknown>, v: View): boolean {
  const md = f.metadata as Record<string, unknown> | undefined;
  const target = md?.target_endpoint_id;
  if (typeof target !== "string") return false;
  const e = v.endpoints.get(target);
  return e === undefined || e.state === "closed";
}
