/**
 * Deadlines as plain data: a kind plus the ids it concerns. The component that owns a kind
 * registers one handler for it on the env at construction (`Env.onDeadline`); arming a deadline
 * stores only this data and its due time, and firing one looks the handler up by kind and hands it
 * the data. So a snapshot lists the armed deadlines as they are, and the `timer` cause of whatever a
 * deadline does names its kind and ids as fields.
 *
 * Identity: two deadlines with the same kind and ids are the same deadline (arming it again
 * replaces the due time). The id fields of each kind, in order, are `DEADLINE_ID_FIELDS`.
 */

export type Deadline =
  /** A retry emitter's backoff before it posts its head again (PROTOCOL §1.9). */
  | { kind: "emitter_retry"; queue: string }
  /** The one retry of an endpoint's failed transition_state post. */
  | { kind: "transition_retry"; endpointId: string }
  /** Network presence: disconnected this long means offline (§1.9). */
  | { kind: "presence_grace" }
  /** REGISTER written, no REGISTER_ACK yet (§3). */
  | { kind: "register_ack" }
  /** A SEND_MESSAGE written, no SEND_ACK yet: the send is settled outcome-unknown (§3). */
  | { kind: "send_ack"; messageId: string }
  /** The connector socket closed: the backoff before the next connect. */
  | { kind: "reconnect" }
  /** The delivery cursor is stuck on a gap: the next REQUEST_GAP_FILL. */
  | { kind: "gap_retry" }
  /** The correlation cache drops expired entries. */
  | { kind: "correlation_sweep" }
  /** A reconnecting endpoint's grace (§4): it closes unless its plugin comes back. */
  | { kind: "grace"; endpointId: string }
  /** An endpoint's next platform heartbeat. */
  | { kind: "heartbeat"; endpointId: string }
  /** A receipted push without its push_ack: the push counts as not received (§4). */
  | { kind: "push_receipt"; pushId: string }
  /** Surfaced buffer records wait for a free inbox slot. */
  | { kind: "surface_retry" }
  /** The backoff before a surfaced buffer record's undispatched_changed post is repeated. */
  | { kind: "buffer_post_retry"; endpointId: string; undispatchedId: string }
  /** Rows waiting for reinsertion take the slots held for them (right after the current step). */
  | { kind: "reinsert_drain" }
  /** A slot kept for an inbound message nobody reserved goes back to the reinsertion queue. */
  | { kind: "inbound_slot_kept" }
  /** An assignment not accepted in time is restored (§5.5). */
  | { kind: "acceptance"; sourceMessageId: string; assignmentId: string }
  /** The backoff before an ambiguous adapter_accepted is posted again (§5.5, acceptance rule 6). */
  | { kind: "accept_resolve"; sourceMessageId: string; assignmentId: string }
  /** The backoff before a reply's reply_emitted post is repeated. */
  | { kind: "reply_emitted"; sourceMessageId: string; assignmentId: string; replyRequestId: string };

export type DeadlineKind = Deadline["kind"];
export type DeadlineOf<K extends DeadlineKind> = Extract<Deadline, { kind: K }>;
export type DeadlineHandler<K extends DeadlineKind> = (deadline: DeadlineOf<K>) => void;

type IdField<K extends DeadlineKind> = Exclude<keyof DeadlineOf<K>, "kind">;

/** The id fields of each kind, in the order `deadlineIds` lists them. */
export const DEADLINE_ID_FIELDS: { readonly [K in DeadlineKind]: readonly IdField<K>[] } = {
  emitter_retry: ["queue"],
  transition_retry: ["endpointId"],
  presence_grace: [],
  register_ack: [],
  send_ack: ["messageId"],
  reconnect: [],
  gap_retry: [],
  correlation_sweep: [],
  grace: ["endpointId"],
  heartbeat: ["endpointId"],
  push_receipt: ["pushId"],
  surface_retry: [],
  buffer_post_retry: ["endpointId", "undispatchedId"],
  reinsert_drain: [],
  inbound_slot_kept: [],
  acceptance: ["sourceMessageId", "assignmentId"],
  accept_resolve: ["sourceMessageId", "assignmentId"],
  reply_emitted: ["sourceMessageId", "assignmentId", "replyRequestId"],
};

export const DEADLINE_KINDS = Object.keys(DEADLINE_ID_FIELDS) as DeadlineKind[];

/** The ids `d` concerns, in the order of its kind's id fields. */
export function deadlineIds(d: Deadline): string[] {
  const fields = DEADLINE_ID_FIELDS[d.kind] as readonly string[];
  const rec = d as unknown as Record<string, unknown>;
  const out: string[] = [];
  for (const f of fields) out.push(String(rec[f]));
  return out;
}

/**
 * The identity of `d` as one string: its kind, then its id, or its ids as a JSON array when it has
 * several (so `a:b` + `c` and `a` + `b:c` stay apart whatever characters the ids hold).
 */
export function deadlineKey(d: Deadline): string {
  const fields = DEADLINE_ID_FIELDS[d.kind] as readonly string[];
  if (fields.length === 0) return d.kind;
  const rec = d as unknown as Record<string, unknown>;
  if (fields.length === 1) return `${d.kind} ${String(rec[fields[0]!])}`;
  return `${d.kind} ${JSON.stringify(deadlineIds(d))}`;
}

/** An armed deadline and its due time (ms since the epoch). */
export interface ArmedDeadline {
  deadline: Deadline;
  atMs: number;
}

/**
 * What happened to a deadline, in order: armed (or re-armed) to fall due at `atMs`, cleared
 * before it fell due, or fired. Targets with the `causes` capability report these each step.
 */
export type DeadlineChange =
  | { op: "arm"; deadline: Deadline; atMs: number }
  | { op: "clear"; deadline: Deadline }
  | { op: "fire"; deadline: Deadline };
