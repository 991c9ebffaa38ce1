import { defineChecker } from "../checker.ts";
import { replyKey } from "../view.ts";
import { canonical, describe } from "../util.ts";

/** Metadata keys the broker owns on a reply; they do not count in the fingerprint (PROTOCOL §2.7). */
const SANITISED = new Set([
  "correlation_id",
  "in_reply_to",
  "message_id",
  "originalTraceId",
  "require_live",
  "source_endpoint_id",
  "target_endpoint_id",
  "traceparent",
]);

/**
 * Refusals that come before the idempotency lookup (PROTOCOL §5.7 steps 1 and 3: the endpoint gate
 * and the assignment's authority): a key reused through an endpoint that is gone, not active, or
 * not the caller's is refused as any request would be, whatever its fingerprint.
 */
const BEFORE_LOOKUP = new Set([
  "unknown_endpoint",
  "endpoint_pid_mismatch",
  "endpoint_owner_token_mismatch",
  "endpoint_not_active",
  "runtime_assignment_target_mismatch",
]);

export function replyFingerprint(body: Record<string, unknown>): string {
  const md: Record<string, unknown> = {};
  const raw = body.metadata;
  if (raw && typeof raw === "object" && !Array.isArray(raw)) {
    for (const [k, val] of Object.entries(raw)) if (!SANITISED.has(k)) md[k] = val;
  }
  return canonical([body.content, body.contentType || "text", md]);
}

/** A7 Idempotency conflict (PROTOCOL §7.3). */
export const A7 = defineChecker({
  id: "A7",
  kind: "safety",
  kinds: [
    "start",
    "in:api_result",
    "in:ipc_request",
    "out:api_call",
    "out:connector_send",
    "out:ipc_response",
    "step_end",
  ],
  statement:
    "A reply key reused with a different fingerprint gets 409 and causes no post and no send; reused with the same fingerprint it gets the same successful result again (unless the endpoint gate or the assignment's authority refuses the request first).",
  create() {
    let fingerprints = new Map<string, string>();
    let success = new Map<string, string>();
    let conflicts = new Map<number, string>();
    let repeats = new Map<number, string>();
    let conflictInStep: string | undefined;
    return {
      onEvent(ev, v) {
        switch (ev.k) {
          case "start":
            fingerprints = new Map();
            success = new Map();
            conflicts = new Map();
            repeats = new Map();
            return undefined;
          case "in": {
            conflictInStep = undefined;
            const input = ev.input;
            if (input.kind === "api_result" && !input.result.ok && v.lastApiCall?.op === "processing_state") {
              const a = v.lastApiCall.args as {
                state: string;
                assignment_id: string;
                reply_request_id?: string;
              };
              if (a.state === "reply_requested")
                fingerprints.delete(replyKey(a.assignment_id, a.reply_request_id));
            }
            if (input.kind !== "ipc_request" || input.path !== "/v1/runtime/assignment-reply")
              return undefined;
            const body = (input.body ?? {}) as Record<string, unknown>;
            const key = replyKey(body.assignment_id, body.reply_request_id);
            const fp = fingerprints.get(key);
            if (fp === undefined) return undefined;
            if (fp !== replyFingerprint(body)) {
              conflicts.set(input.id, key);
              conflictInStep = key;
            } else if (success.has(key)) {
              repeats.set(input.id, key);
            }
            return undefined;
          }
          case "step_end":
            conflictInStep = undefined;
            return undefined;
          case "out":
            break;
          default:
            return undefined;
        }
        const o = ev.output;
        if (o.kind === "api_call" && o.op === "processing_state" && o.args.state === "reply_requested") {
          const req = v.stepInput;
          if (req?.kind === "ipc_request") {
            const key = replyKey(o.args.assignment_id, o.args.reply_request_id);
            if (!fingerprints.has(key))
              fingerprints.set(key, replyFingerprint((req.body ?? {}) as Record<string, unknown>));
          }
        }
        if (conflictInStep !== undefined) {
          if (
            (o.kind === "api_call" && o.op === "processing_state") ||
            (o.kind === "connector_send" && o.frame.event === "SEND_MESSAGE")
          ) {
            return {
              message: `a reply request reusing key ${conflictInStep} with a different fingerprint caused ${o.kind === "api_call" ? "a processing-state post" : "a SEND_MESSAGE"}.`,
              involved: [describe(ev)],
            };
          }
        }
        if (o.kind !== "ipc_response") return undefined;
        const code = (o.body as { error?: unknown } | undefined)?.error;
        if (o.status !== 200 && typeof code === "string" && BEFORE_LOOKUP.has(code)) {
          conflicts.delete(o.id);
          repeats.delete(o.id);
          return undefined;
        }
        const conflictKey = conflicts.get(o.id);
        if (conflictKey !== undefined) {
          conflicts.delete(o.id);
          if (o.status !== 409) {
            return {
              message: `a reply request reusing key ${conflictKey} with a different fingerprint was answered ${o.status}, not 409.`,
              involved: [describe(ev)],
            };
          }
          return undefined;
        }
        const req = v.lastIpcRequest;
        if (req?.path !== "/v1/runtime/assignment-reply") return undefined;
        const key = replyKey(req.body.assignment_id, req.body.reply_request_id);
        const messageId = (o.body as { messageId?: unknown })?.messageId;
        const repeatKey = repeats.get(o.id);
        if (repeatKey !== undefined) {
          repeats.delete(o.id);
          const first = success.get(repeatKey);
          if (o.status !== 200 || messageId !== first) {
            return {
              message: `a repeated reply request for ${repeatKey} (same fingerprint) got ${o.status} ${JSON.stringify(o.body)} instead of the stored result (messageId ${first}).`,
              involved: [describe(ev)],
            };
          }
          return undefined;
        }
        if (o.status === 200 && typeof messageId === "string" && !success.has(key))
          success.set(key, messageId);
        return undefined;
      },
    };
  },
});
