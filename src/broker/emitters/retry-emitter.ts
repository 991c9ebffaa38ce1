/**
 * FIFO retry emitter (PROTOCOL §1.9): the undispatched, routed and presence emitters are instances.
 *
 * Theory of operation:
 * 1. One item is in flight at a time, the head of the queue (head-of-line): order on the wire is
 *    enqueue order.
 * 2. An item is posted until ok, a terminal failure (dropped), or `retriesMax` transient failures
 *    (dropped). Before retry n (1-based) the emitter waits min(initial·2^(n-1), max) ms on the
 *    deadline `{ kind: "emitter_retry", queue: <name> }`; one handler per env serves every emitter.
 * 3. Enqueue onto a full queue evicts the oldest item and returns false. If the evicted item is the
 *    one in flight its result is ignored when it arrives.
 * 3a. Pinned items (a deviation, docs/deviations.md "A10 — a lost-at-capacity remove is never
 *    evicted"): an event whose loss would lose a message silently — the `remove` that announces a
 *    row lost at capacity — is never evicted and never dropped after `retriesMax`; eviction takes
 *    the oldest unpinned item instead, and the queue may exceed its capacity by the pinned items
 *    (one per failed put-back, so bounded by the inbox's traffic).
 * 4. `onSuccess` of an item runs when its post returned ok, never otherwise.
 * 5. `shutdown()` stops at once: queued items are dropped, the backoff deadline is cancelled, and
 *    results that arrive later are ignored.
 * 6. Each post, and whatever its answer leads to (`onSuccess`, the next post), runs under a `queue`
 *    cause: the emitter's name, the attempt (1-based), the id of the post a retry repeats and the
 *    ids the item concerns.
 */

import type { ApiArgs } from "../api.ts";
import type { Deadline } from "../deadline-kinds.ts";
import type { Env } from "../env.ts";
import { invariant } from "../invariant.ts";
import type { Cause } from "../types.ts";

/** The emitters built on each env, by name: the one `emitter_retry` handler finds them here. */
const emittersOf = new WeakMap<Env, Map<string, { retryDue(): void }>>();

function register(env: Env, name: string, emitter: { retryDue(): void }): void {
  let byName = emittersOf.get(env);
  if (byName === undefined) {
    const m = new Map<string, { retryDue(): void }>();
    byName = m;
    emittersOf.set(env, m);
    env.onDeadline("emitter_retry", (d) => {
      const e = m.get(d.queue);
      invariant(e !== undefined, `emitter_retry deadline for unknown queue ${d.queue}`);
      e.retryDue();
    });
  }
  invariant(!byName.has(name), `a second retry emitter named ${name}`);
  byName.set(name, emitter);
}

export type EmitterOp = "undispatched_changed" | "inbound_routed" | "presence_changed";

export interface RetryEmitterOptions {
  capacity: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  retriesMax: number;
}

interface Item<K extends EmitterOp> {
  args: ApiArgs[K];
  /** Id of the item's last post (the attempt a retry repeats). */
  lastCall: number | undefined;
  onSuccess: (() => void) | undefined;
  failures: number;
  dropped: boolean;
  pinned: boolean;
}

export class RetryEmitter<K extends EmitterOp> {
  private queue: Item<K>[] = [];
  private inflight: Item<K> | undefined;
  private waiting = false;
  private stopped = false;

  constructor(
    private readonly env: Env,
    readonly name: string,
    private readonly op: K,
    private readonly opts: RetryEmitterOptions,
  ) {
    this.retryDeadline = { kind: "emitter_retry", queue: name };
    register(env, name, this);
  }

  /** The backoff deadline of this emitter. */
  readonly retryDeadline: Deadline;

  get size(): number {
    return this.queue.length;
  }

  /** The backoff deadline fell due: post the head again. */
  retryDue(): void {
    this.waiting = false;
    this.pump();
  }

  enqueue(args: ApiArgs[K], onSuccess?: () => void, pinned = false): boolean {
    if (this.stopped) return false;
    let fit = true;
    this.queue.push({ args, onSuccess, lastCall: undefined, failures: 0, dropped: false, pinned });
    while (this.queue.length > this.opts.capacity) {
      const i = this.queue.findIndex((it) => !it.pinned);
      if (i < 0) {
        this.env.log("warn", `${this.name}_queue_over_capacity_pinned`, {
          capacity: this.opts.capacity,
          size: this.queue.length,
        });
        break;
      }
      const [evicted] = this.queue.splice(i, 1);
      evicted!.dropped = true;
      fit = false;
      this.env.log("warn", `${this.name}_queue_overflow`, { capacity: this.opts.capacity });
      if (i === 0 && this.waiting) {
        // The head was the item we were backing off for.
        this.waiting = false;
        this.env.disarm(this.retryDeadline);
      }
    }
    this.pump();
    return fit;
  }

  shutdown(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.queue.length > 0) {
      this.env.log("info", `${this.name}_dropped_on_shutdown`, { count: this.queue.length });
    }
    for (const item of this.queue) item.dropped = true;
    this.queue = [];
    this.waiting = false;
    this.env.disarm(this.retryDeadline);
  }

  private pump(): void {
    if (this.stopped || this.inflight || this.waiting) return;
    const head = this.queue[0];
    if (!head) return;
    this.inflight = head;
    const cause: Cause = {
      kind: "queue",
      queue: this.name,
      attempt: head.failures + 1,
      ids: itemIds(head.args),
    };
    if (head.lastCall !== undefined) cause.repeats = head.lastCall;
    head.lastCall = this.env.withCause(cause, () =>
      this.env.api(this.op, head.args, (result) => {
        this.inflight = undefined;
        if (this.stopped) return;
        if (head.dropped) {
          this.pump();
          return;
        }
        if (result.ok) {
          this.removeHead(head);
          head.onSuccess?.();
        } else if (result.terminal) {
          this.removeHead(head);
          this.env.log("warn", `${this.name}_drop_terminal`, {
            status: result.status,
            detail: result.detail,
          });
        } else {
          head.failures++;
          if (head.failures >= this.opts.retriesMax && !head.pinned) {
            this.removeHead(head);
            this.env.log("warn", `${this.name}_drop_max_retries`, { failures: head.failures });
          } else {
            const delay = Math.min(
              this.opts.backoffInitialMs * 2 ** (head.failures - 1),
              this.opts.backoffMaxMs,
            );
            this.env.log("debug", `${this.name}_retry`, { attempt: head.failures, delay_ms: delay });
            this.waiting = true;
            this.env.arm(this.retryDeadline, delay);
            return;
          }
        }
        this.pump();
      }),
    );
  }

  private removeHead(item: Item<K>): void {
    if (this.queue[0] === item) this.queue.shift();
    else {
      const i = this.queue.indexOf(item);
      if (i >= 0) this.queue.splice(i, 1);
    }
  }
}

/** The ids an emitter item concerns: its message, row or endpoint, as its event names them. */
function itemIds(args: object): string[] {
  const a = args as { source_message_id?: unknown; undispatched_id?: unknown; endpoint_id?: unknown };
  const ids: string[] = [];
  if (typeof a.source_message_id === "string") ids.push(a.source_message_id);
  if (typeof a.undispatched_id === "string" && a.undispatched_id !== a.source_message_id)
    ids.push(a.undispatched_id);
  if (typeof a.endpoint_id === "string") ids.push(a.endpoint_id);
  return ids;
}
