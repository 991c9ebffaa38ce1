/**
 * Armed deadlines: the core's only notion of "later".
 *
 * Theory of operation:
 * 1. A deadline is data (deadline-kinds.ts) with a unique key (its kind and ids) and a due time in
 *    ms. Nothing here runs code of its own: `expire` hands each due deadline to the caller's `run`.
 * 2. Setting a key that is already armed replaces it (the old entry never fires).
 * 3. `expire(now, run)` hands over every deadline with `at <= now` in order of (`at`, arming
 *    order). `run` may arm new deadlines; those that are already due fire in the same `expire` call.
 * 4. Nothing here reads a clock: the driver says what time it is.
 *
 * Implementation: a binary min-heap of entries with lazy deletion (a cancelled or replaced entry
 * stays in the heap with `live = false` and is skipped when it reaches the top). Push receipts arm
 * and cancel one deadline per message, so dead entries would pile up for a whole receipt timeout;
 * when they outnumber the live ones the heap is rebuilt from the live entries. The run order is the
 * total order (`at`, `order`), so the rebuild cannot change which deadline runs when.
 */

import type { ArmedDeadline, Deadline } from "./deadline-kinds.ts";

interface Entry {
  name: string;
  at: number;
  order: number;
  live: boolean;
  deadline: Deadline;
}

export class Deadlines {
  private heap: Entry[] = [];
  private byName = new Map<string, Entry>();
  private order = 0;

  /** Arm (or re-arm) `deadline`, keyed `name`, to fall due at `atMs`. */
  set(name: string, atMs: number, deadline: Deadline): void {
    const old = this.byName.get(name);
    if (old) old.live = false;
    const e: Entry = { name, at: atMs, order: this.order++, live: true, deadline };
    this.byName.set(name, e);
    this.push(e);
    if (old) this.compactIfSparse();
  }

  cancel(name: string): boolean {
    const e = this.byName.get(name);
    if (!e) return false;
    e.live = false;
    this.byName.delete(name);
    this.compactIfSparse();
    return true;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** Due time of `name`, if armed. */
  at(name: string): number | undefined {
    return this.byName.get(name)?.at;
  }

  get size(): number {
    return this.byName.size;
  }

  /** Names of armed deadlines, in arming order (for inspection and checkers). */
  names(): string[] {
    return [...this.byName.keys()];
  }

  /** The armed deadlines as data with their due times, in arming order. */
  armed(): ArmedDeadline[] {
    const out: ArmedDeadline[] = [];
    for (const e of this.byName.values()) out.push({ deadline: e.deadline, atMs: e.at });
    return out;
  }

  next(): number | undefined {
    this.dropDead();
    return this.heap[0]?.at;
  }

  /** Hand every deadline due at or before `nowMs` to `run`, in order. Returns how many fired. */
  expire(nowMs: number, run: (deadline: Deadline) => void): number {
    let ran = 0;
    for (;;) {
      this.dropDead();
      const top = this.heap[0];
      if (!top || top.at > nowMs) return ran;
      this.pop();
      top.live = false;
      if (this.byName.get(top.name) === top) this.byName.delete(top.name);
      ran++;
      run(top.deadline);
    }
  }

  clear(): void {
    for (const e of this.heap) e.live = false;
    this.heap = [];
    this.byName.clear();
  }

  /** Rebuild the heap from its live entries once dead ones are the large majority. */
  private compactIfSparse(): void {
    const h = this.heap;
    if (h.length < 1_024 || h.length < 4 * this.byName.size) return;
    const live: Entry[] = [];
    for (const e of h) if (e.live) live.push(e);
    this.heap = live;
    for (let i = (live.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private dropDead(): void {
    while (this.heap.length > 0 && !this.heap[0]!.live) this.pop();
  }

  private less(a: Entry, b: Entry): boolean {
    return a.at < b.at || (a.at === b.at && a.order < b.order);
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    this.siftDown(0);
  }

  private siftDown(start: number): void {
    const h = this.heap;
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}
