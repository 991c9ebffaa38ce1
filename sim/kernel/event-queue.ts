/**
 * The simulator's single event queue: a binary min-heap keyed by virtual time, then by insertion
 * order. Two events due at the same millisecond run in the order they were scheduled, which is what
 * makes a run reproducible without any tie-breaking randomness.
 *
 * Cancellation is lazy: a cancelled entry stays in the heap and is skipped when it reaches the top.
 */

export interface QueueEntry {
  readonly at: number;
  readonly order: number;
  /** What to run; `undefined` once cancelled. */
  fn: (() => void) | undefined;
  /** The queue's `cause` when the entry was scheduled (see `EventQueue.cause`). */
  readonly cause: number;
}

export class EventQueue {
  private heap: QueueEntry[] = [];
  private order = 0;
  private live = 0;
  /**
   * The workload item (1-based) the running event serves, 0 for none. Whoever runs an entry sets
   * this to the entry's `cause`, and every entry scheduled meanwhile inherits it, so everything
   * an item sets in motion (its frames, the platform's answers, the plugin's reactions) carries its
   * number. Bookkeeping for the decision log only: it never changes what runs or when.
   */
  cause = 0;

  /** Schedule `fn` at virtual time `at`. The returned entry can be passed to `cancel`. */
  schedule(at: number, fn: () => void): QueueEntry {
    const e: QueueEntry = { at, order: this.order++, fn, cause: this.cause };
    this.live++;
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p]!;
      if (!less(e, parent)) break;
      h[i] = parent;
      i = p;
    }
    h[i] = e;
    return e;
  }

  cancel(e: QueueEntry): void {
    if (e.fn === undefined) return;
    e.fn = undefined;
    this.live--;
  }

  /** Number of scheduled, not-cancelled events. */
  get size(): number {
    return this.live;
  }

  /** Due time of the next live event, or `undefined` when the queue is empty. */
  peekTime(): number | undefined {
    this.dropCancelled();
    return this.heap[0]?.at;
  }

  /** Remove and return the next live event. */
  pop(): QueueEntry | undefined {
    this.dropCancelled();
    const top = this.heap[0];
    if (top === undefined) return undefined;
    this.removeTop();
    this.live--;
    return top;
  }

  private dropCancelled(): void {
    while (this.heap.length > 0 && this.heap[0]!.fn === undefined) this.removeTop();
  }

  private removeTop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    let i = 0;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && less(h[r]!, h[l]!) ? r : l;
      if (!less(h[c]!, last)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
}

function less(a: QueueEntry, b: QueueEntry): boolean {
  return a.at < b.at || (a.at === b.at && a.order < b.order);
}
