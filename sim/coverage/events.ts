/**
 * The "sometimes" events of the coverage matrix: things a scenario must make happen at least once
 * across a sweep. Each is named in plain words (the names scenarios list in `exercises`)
 * and counted from the probe's raw counters (`sim/coverage/probe.ts`).
 */

export interface CoverageEvent {
  /** Plain-words name, as scenarios list it in `exercises`. */
  name: string;
  /** What happening once means. */
  description: string;
  /** Raw counter keys (see probe.ts); the event's count is their sum. */
  keys: readonly string[];
}

const e = (name: string, description: string, ...keys: string[]): CoverageEvent => ({
  name,
  description,
  keys,
});

export const COVERAGE_EVENTS: readonly CoverageEvent[] = [
  // delivery path
  e("push acked", "a plugin acked a push receipt", "sim:plugin_push_acks"),
  e("inbox add", "a message went to the undispatched inbox", "log:undispatched_added"),
  e("delivery skip", "a DELIVERY_SKIP was accepted", "log:delivery_skip_accepted"),
  e("route claim skip", "a route claim answered skip", "log:runtime_inbound_route_claim_skip"),
  e(
    "delivered-cache hit",
    "a redelivered message hit the delivered-route cache",
    "log:delivered_route_cache_hit",
  ),
  e(
    "buffered for reconnecting endpoint",
    "a message was appended to a reconnecting buffer",
    "log:buffered_for_reconnecting_endpoint",
  ),
  e("push receipt timeout", "a push receipt did not come in time", "log:ipc_push_ack_timeout"),
  // cursor, duplicates, gaps
  e(
    "duplicate suppressed",
    "a MESSAGE_RECEIVED for a pending or seen payload id was dropped",
    "log:connector_message_dropped:duplicate",
  ),
  e(
    "old seq dropped",
    "a MESSAGE_RECEIVED at or below the cursor was dropped",
    "log:connector_message_dropped:old",
  ),
  e("gap fill requested", "a REQUEST_GAP_FILL was written", "log:gap_fill_requested"),
  e(
    "out-of-order seq",
    "a seq above the contiguous run revealed a hole",
    "log:gap_fill_requested:message_gap",
  ),
  e("gap fill retried", "the stuck-cursor retry re-sent REQUEST_GAP_FILL", "log:gap_fill_requested:retry"),
  e(
    "gap fill suppressed",
    "a repeated gap-fill request was held back by the backoff",
    "log:gap_fill_suppressed",
  ),
  e(
    "seq released",
    "a seq finished not-accepted and was released for redelivery",
    "log:delivery_seq_released",
  ),
  e("poison seq", "one seq was released three or more times", "sim:poison_seq"),
  e("cursor jumped", "the server's deliveredSeq moved the cursor", "log:delivery_cursor_jumped"),
  // connector
  e("connector reconnect", "the connector scheduled a reconnect", "log:connector_reconnect_scheduled"),
  e("register timeout", "REGISTER_ACK did not come in time", "log:connector_register_timeout"),
  e(
    "register rejected",
    "REGISTER_ACK said error (e.g. Already connected)",
    "log:connector_register_rejected",
  ),
  e("ack timeout fired", "a SEND_ACK did not come in time", "log:connector_send_ack_timeout"),
  e("late SEND_ACK ignored", "a SEND_ACK came after its timeout", "log:connector_send_ack_ignored"),
  // broker process
  e("broker restarted", "the broker crashed and restarted from its persisted cursor", "sim:broker_restarts"),
  e(
    "crash between ack and cursor write",
    "the broker crashed after a DELIVERY_ACK whose cursor write had not landed",
    "sim:crash_between_ack_and_write",
  ),
  e(
    "redelivery after restart",
    "the server redelivered a seq an earlier broker process had been sent",
    "sim:redelivered_after_restart",
  ),
  e("cursor persist failed", "a cursor write failed", "log:delivery_cursor_persist_failed"),
  // inbox and assignments
  e("inbox full", "a message found the inbox at capacity", "log:undispatched_inbox_at_capacity"),
  e(
    "reinsertion at capacity",
    "restoring an assignment found the inbox full",
    "log:runtime_assignment_reinsert_failed_at_capacity",
  ),
  e(
    "put-back over capacity",
    "a failed dispatch put its accepted row back into a full inbox, over the capacity",
    "log:dispatch_putback_over_capacity",
  ),
  e("assignment dispatched", "a dispatch created an assignment", "log:undispatched_dispatched"),
  e(
    "acceptance timeout fired",
    "an assignment was not accepted in time",
    "log:runtime_assignment_acceptance_timeout",
  ),
  e(
    "late acceptance race",
    "an adapter_accepted post and a restore met (one waited for the other's outcome)",
    "log:runtime_assignment_restore_deferred",
    "log:runtime_assignment_accept_waits_for_restore",
  ),
  e(
    "adapter sequence raised",
    "an adapter reported a state_sequence the broker had to raise (A1)",
    "log:runtime_processing_state_sequence_raised",
  ),
  e("re-dispatch", "the platform dispatched the same row again under a new assignment", "sim:redispatch"),
  e("dispatch event repeated", "the same dispatch event arrived twice", "sim:dispatch_event_repeated"),
  e(
    "dispatch to reconnecting endpoint",
    "a dispatch targeted an endpoint in grace",
    "sim:dispatch_to_reconnecting",
  ),
  e(
    "dispatch to closed endpoint",
    "a dispatch targeted an endpoint already removed",
    "sim:dispatch_to_closed",
  ),
  // replies
  e("reply emitted", "an assignment reply was sent and acked", "log:runtime_assignment_reply_sent"),
  e(
    "reply conflict 409",
    "a reply key was reused with other content",
    "ipc:409:runtime_assignment_reply_idempotency_conflict",
  ),
  e(
    "reply during connector outage",
    "a reply found the connector unavailable (503)",
    "ipc:503:connector_unavailable",
  ),
  e(
    "reply outcome unknown",
    "a reply's send ended outcome-unknown (503)",
    "ipc:503:connector_send_outcome_unknown",
  ),
  e(
    "reply_emitted retried",
    "a reply_emitted post failed and was retried",
    "log:runtime_reply_emitted_projection_failed",
  ),
  e("reply abandoned by plugin", "a plugin gave up on a reply", "sim:plugin_reply_abandoned"),
  e(
    "reply repeated after outcome unknown",
    "a plugin sent a reply again with the same key after a 503 outcome-unknown answer",
    "sim:answer:outcome_unknown:repeat",
    "sim:answer:outcome_unknown:retry",
    "sim:answer:outcome_unknown:reconnect",
    "sim:answer:outcome_unknown:reregister",
  ),
  e(
    "reply under a fresh key",
    "a plugin retried a reply that was not sent under a new reply_request_id",
    "sim:answer:fresh-key",
  ),
  e(
    "client reconnected after an answer",
    "a plugin dropped its channel and reattached or re-registered after a reply answer",
    "sim:answer:reconnect",
    "sim:answer:reregister",
  ),
  e("push lost on open channel", "a push was lost on a receipt-capable open channel", "fault:push-lost:lost"),
  e(
    "control event during its handling",
    "a control event was delivered again before the broker acked it",
    "fault:control-reentry:during_handling",
  ),
  // endpoints
  e("endpoint reattached", "a reconnecting endpoint reattached within grace", "log:endpoint_reattached"),
  e(
    "grace expired",
    "a reconnecting endpoint was closed by its grace timeout",
    "sim:endpoint_closed:grace_timeout",
  ),
  e("plugin exit", "an endpoint closed because its plugin died", "sim:endpoint_closed:plugin_exit"),
  // platform API
  e(
    "emitter retry",
    "a retry emitter retried a post",
    "log:undispatched_emitter_retry",
    "log:routed_emitter_retry",
    "log:presence_emitter_retry",
  ),
  e(
    "transition deferred",
    "an endpoint-state projection was deferred for retry",
    "log:transition_state_deferred",
  ),
];

const BY_NAME = new Map(COVERAGE_EVENTS.map((ev) => [ev.name, ev]));

export function coverageEvent(name: string): CoverageEvent | undefined {
  return BY_NAME.get(name);
}

/** Every catalogued event's count in one run's raw counters (zero counts included). */
export function countEvents(raw: ReadonlyMap<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const ev of COVERAGE_EVENTS) {
    let n = 0;
    for (const k of ev.keys) n += raw.get(k) ?? 0;
    out.set(ev.name, n);
  }
  return out;
}
