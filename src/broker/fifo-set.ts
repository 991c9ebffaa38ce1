/**
 * A set with a capacity that forgets its oldest member first (seen payload ids, correlation rings).
 *
 * Adding a member that is already present changes nothing (its age stays), so the set's order is
 * first-insertion order. The oldest member is found through a ring of slots instead of
 * `set.values().next()`: a V8 `Set` keeps deleted slots until it rehashes, and walking past them on
 * every eviction made the eviction cost grow with the capacity (measured in bench/).
 */

export class FifoSet<T> {
  private readonly members = new Set<T>();
  /** Members in insertion order, starting at `head` once the ring is full. */
  private ring: T[] = [];
  private head = 0;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.members.size;
  }

  has(v: T): boolean {
    return this.members.has(v);
  }

  /** Add `v` unless present; at capacity the oldest member is forgotten to make room. */
  add(v: T): void {
    if (this.members.has(v) || this.capacity <= 0) return;
    if (this.ring.length < this.capacity) {
      this.ring.push(v);
    } else {
      this.members.delete(this.ring[this.head]!);
      this.ring[this.head] = v;
      this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
    }
    this.members.add(v);
  }

  clear(): void {
    this.members.clear();
    this.ring = [];
    this.head = 0;
  }

  /** Members, oldest first. */
  values(): T[] {
    return [...this.ring.slice(this.head), ...this.ring.slice(0, this.head)];
  }
}
