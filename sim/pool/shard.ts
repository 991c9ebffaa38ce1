/**
 * `--shard i/n`: one of n deterministic, disjoint parts of a seed range. Shard i (1-based) takes
 * the seeds at positions i-1, i-1+n, i-1+2n, … of the range (position mod n), so shards 1/n … n/n
 * together are exactly the range, every shard gets a spread of the range (slow seeds are not
 * bunched into one shard), and a seed's shard depends only on its position and n.
 */

export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
}

/** Largest shard count accepted (more runners than that is a typo). */
export const SHARDS_MAX = 10_000;

/** Parse `i/n`; throws an Error with a plain message on bad input. */
export function parseShard(s: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(s);
  if (!m) throw new Error(`--shard needs i/n with 1 <= i <= n (like 2/4), got "${s}"`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > SHARDS_MAX) throw new Error(`--shard ${s}: n must be between 1 and ${SHARDS_MAX}`);
  if (index < 1 || index > count) throw new Error(`--shard ${s}: i must be between 1 and n`);
  return { index, count };
}

/** The seeds of `seeds` that belong to `shard`, in their original order. */
export function shardSeeds(seeds: readonly number[], shard: Shard): number[] {
  return seeds.filter((_, k) => k % shard.count === shard.index - 1);
}
