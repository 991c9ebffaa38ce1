/**
 * `POST /v1/runtime/assignment-reply` (PROTOCOL §5.7): the gate, authority and idempotency
 * decisions before a reply task starts. The task itself lives in replies.ts.
 *
 * Order of decisions (each one answers and stops):
 * 1. E404, PID, TOK; `reply_request_id` (400 `reply_request_id_required`); body shape (400).
 * 2. prune expired reply records whose assignment is gone. ACT (409 `endpoint_not_active`) unless
 *    the answer is already decided — a stored result, outcome-unknown or rejection, or a running
 *    task for the key — so a repeated request from a `reconnecting` endpoint gets the stored
 *    answer (A7); anything that may send still requires `active`. (The reference checks ACT first.)
 * 3. authority: a live record must target this endpoint (403) and be accepted (409, A6); without a
 *    record, an existing reply record or in-flight task must belong to this endpoint and pid (403);
 *    nothing at all ⇒ 409 `runtime_assignment_unknown` / `reply_handle_stale`.
 * 4. stored record: other fingerprint ⇒ 409 conflict (A7); outcome unknown ⇒ 503 not retryable;
 *    rejected by the connector ⇒ the same 502 again; result ⇒ returned verbatim.
 * 5. in-flight task: other fingerprint ⇒ 409; same ⇒ wait for its outcome.
 * 6. assignment gone ⇒ 409 stale; no projection token ⇒ 409 authority missing (A8).
 */

import { BrokerHttpError, type IpcRequest, type Reply, type Route } from "../ipc/http.ts";
import type { Ctx } from "./context.ts";
import {
  body,
  guarded,
  mustBeActive,
  optionalObject,
  optionalString,
  ownedEndpoint,
  requiredString,
} from "./gate.ts";
import { assignmentKey, replyFingerprint, replyKey } from "./keys.ts";
import { outcomeUnknownAnswer, type Replies, rejectedAnswer } from "./replies.ts";

const STALE = { assignment_failure_category: "reply_handle_stale" };

export function replyRoute(ctx: Ctx, replies: Replies): Route {
  return {
    method: "POST",
    pattern: "/v1/runtime/assignment-reply",
    handler: guarded(ctx.env, (req: IpcRequest, reply: Reply) => handle(ctx, replies, req, reply)),
  };
}

function conflict(): BrokerHttpError {
  return new BrokerHttpError(
    409,
    "runtime_assignment_reply_idempotency_conflict",
    "reply_request_id was already used with different reply content",
  );
}

function handle(ctx: Ctx, replies: Replies, req: IpcRequest, reply: Reply): void {
  const b = body(req);
  const entry = ownedEndpoint(ctx.deps.registry, b, false, "assignment reply");
  const rrid = b.reply_request_id;
  if (typeof rrid !== "string" || rrid.length === 0) {
    throw new BrokerHttpError(
      400,
      "reply_request_id_required",
      "reply_request_id is required for assignment replies",
    );
  }
  const sourceMessageId = requiredString(b, "source_message_id");
  const assignmentId = requiredString(b, "assignment_id");
  if (typeof b.content !== "string")
    throw new BrokerHttpError(400, "bad_request", "content must be a string");
  const content = b.content;
  const contentType = optionalString(b, "contentType");
  const metadata = optionalObject(b, "metadata");
  const pid = entry.pluginPid;

  const akey = assignmentKey(sourceMessageId, assignmentId);
  const rkey = replyKey(sourceMessageId, assignmentId, rrid);
  replies.prune();
  const fingerprint = replyFingerprint(content, contentType, metadata);
  const rec = ctx.store.get(akey);
  const stored = replies.records.get(rkey);
  const inFlight = replies.inFlight.get(rkey);
  const decided =
    stored !== undefined &&
    (stored.result !== undefined || stored.outcomeUnknown !== undefined || stored.rejected !== undefined);
  if (!decided && !inFlight) mustBeActive(entry, "assignment reply");

  if (rec) {
    if (rec.context.targetRef.projection_endpoint_id !== entry.endpointId) {
      throw new BrokerHttpError(
        403,
        "runtime_assignment_target_mismatch",
        "endpoint_id does not match the assigned target",
      );
    }
    if (!rec.accepted) {
      throw new BrokerHttpError(
        409,
        "runtime_assignment_not_accepted",
        "assignment replies require adapter_accepted first",
      );
    }
  } else if (stored || inFlight) {
    const owner = (stored ?? inFlight)!;
    if (owner.endpointId !== entry.endpointId || owner.pluginPid !== pid) {
      throw new BrokerHttpError(
        403,
        "runtime_assignment_target_mismatch",
        "endpoint_id does not match the assigned target",
      );
    }
  } else {
    throw new BrokerHttpError(
      409,
      "runtime_assignment_unknown",
      "source assignment is not known to this broker",
      STALE,
    );
  }

  if (stored && stored.fingerprint !== fingerprint) throw conflict();
  if (stored?.outcomeUnknown !== undefined) {
    const a = outcomeUnknownAnswer(stored.outcomeUnknown);
    if (!a.ok) reply.fail(a.status, a.code, a.message, { ...a.extra });
    return;
  }
  if (stored?.rejected) {
    const a = rejectedAnswer(stored.rejected);
    if (!a.ok) reply.fail(a.status, a.code, a.message, { ...a.extra });
    return;
  }
  if (stored?.result) {
    reply.ok(stored.result);
    return;
  }
  if (inFlight) {
    if (inFlight.fingerprint !== fingerprint) throw conflict();
    replies.join(rkey, reply);
    return;
  }
  if (!rec) {
    throw new BrokerHttpError(
      409,
      "runtime_assignment_unknown",
      "source assignment is not known to this broker",
      STALE,
    );
  }
  if (!rec.token) {
    throw new BrokerHttpError(
      409,
      "runtime_assignment_projection_authority_missing",
      "runtime assignment reply requires broker projection authority",
    );
  }
  replies.start(
    {
      entry,
      pluginPid: pid,
      replyKey: rkey,
      assignmentKey: akey,
      replyRequestId: rrid,
      fingerprint,
      content,
      contentType: contentType || "text",
      metadata,
    },
    rec,
    reply,
  );
}
