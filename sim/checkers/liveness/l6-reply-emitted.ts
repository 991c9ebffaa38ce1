import { defineChecker } from "../checker.ts";
import { sentFrame } from "../util.ts";
import { firstFew, Phase, plural } from "./phase.ts";

interface Acked {
  t: number;
  incarnation: number;
}

/** L6 reply_emitted eventually posted (PROTOCOL §7.4), judged at the end of the liveness phase. */
export const L6 = defineChecker({
  id: "L6",
  kind: "liveness",
  kinds: [
    "start",
    "in:connector_frame",
    "in:api_result",
    "out:connector_send",
    "truth:liveness_begin",
    "truth:liveness_end",
    "truth:plugin_reply_abandoned",
    "quiescent",
  ],
  statement:
    "Every assignment reply whose SEND_ACK the broker accepted gets its reply_emitted post answered (ok or terminally) once the API is healthy.",
  create() {
    const phase = new Phase();
    /** SEND_MESSAGE frame id → time written, for reply frames not yet SEND_ACK'd. */
    const written = new Map<string, number>();
    /** Reply keys SEND_ACK'd in time and still waiting for an answered reply_emitted. */
    const pending = new Map<string, Acked>();
    const abandoned = new Set<string>();
    return {
      onEvent(ev, v) {
        if (phase.observe(ev)) {
          return undefined;
        }
        if (ev.k === "truth") {
          if (ev.fact.f === "plugin_reply_abandoned") abandoned.add(ev.fact.assignmentId);
          return undefined;
        }
        if (ev.k === "start") {
          // Reply records live in memory: a crash loses them, in the reference too.
          pending.clear();
          written.clear();
          return undefined;
        }
        if (ev.k === "out") {
          const f = sentFrame(ev);
          if (f?.event === "SEND_MESSAGE" && v.replyKeyOfFrame.has(f.messageId))
            written.set(f.messageId, ev.t);
          return undefined;
        }
        if (ev.k === "in") {
          const key = v.lastSendAckKey;
          if (key !== undefined) {
            const id = (v.stepFrame as { messageId?: string } | undefined)?.messageId;
            const at = id === undefined ? undefined : written.get(id);
            // Only the first SEND_ACK of a frame counts: a duplicated one changes nothing.
            if (id !== undefined) written.delete(id);
            const timeoutMs = v.options?.sendAckTimeoutMs ?? 15_000;
            // A SEND_ACK after the broker's ack timeout is ignored by design (outcome unknown).
            if (at !== undefined && ev.t - at < timeoutMs)
              pending.set(key, { t: ev.t, incarnation: v.incarnation });
            return undefined;
          }
          const call = v.lastApiCall;
          if (ev.input.kind === "api_result" && call?.op === "processing_state") {
            const a = call.args as { state?: string; assignment_id?: unknown; reply_request_id?: unknown };
            const r = ev.input.result;
            if (a.state === "reply_emitted" && (r.ok || r.terminal))
              pending.delete(`${String(a.assignment_id)}|${String(a.reply_request_id)}`);
          }
          return undefined;
        }
        if (!phase.isVerdict(ev)) return undefined;
        const missing: string[] = [];
        for (const [key, a] of pending) {
          if (abandoned.has(key.slice(0, key.indexOf("|")))) continue;
          missing.push(`${key} (SEND_ACK at t=${a.t})`);
        }
        if (missing.length === 0) return undefined;
        return {
          message: `${plural(missing.length, "acknowledged reply")} never got an answered reply_emitted post: ${firstFew(missing)}.`,
          involved: missing,
        };
      },
    };
  },
});
