/**
 * Guided exploration (`--explore guided`): a sweep that spends part of its run budget on forks of
 * runs that reached rare coverage events, and part on new seeds that reuse the fault mix of such
 * runs, instead of only on fresh seeds.
 *
 * Theory of operation:
 * 1. The budget is the uniform sweep's: as many runs per scenario as the seed range has seeds.
 *    Runs go in rounds, seed-major like the uniform sweep (slot 1 of every scenario, then slot 2,
 *    …). A round's tasks depend only on the results of earlier rounds, recorded in task order, so a
 *    pooled guided sweep is the same for any number of workers.
 * 2. The first round is plain seeds from the start of the range. In later rounds, per scenario,
 *    half of the slots fork a run at a rare event (sim/explore/fork.ts), a quarter (swarm mode only)
 *    run the next fresh seed with the fault plan of a run that reached a rare event (`swarmFrom`),
 *    and the rest run the next fresh seed. Without a rare event to work on, a slot runs a fresh seed.
 * 3. Rarity is per scenario: an event (or a pair of events reached in one run) is rare when at most
 *    `max(1, runs / 10)` of the scenario's runs so far reached it. A fork point is the event count
 *    at which the parent first reached the event (for a pair, the later of the two).
 * 4. Candidates are ranked by how many runs reached their event or pair, plus how many forks they
 *    already got, so repeated forks of one point lose priority to points not yet explored; ties
 *    go to the lower seed and the earlier fork point. Forks are parents of nothing: only runs
 *    from a seed (with or without `swarmFrom`) are forked.
 */

import type { ForkPoint } from "./fork.ts";

/** One run a guided sweep asks for. */
export interface ExploreTask {
  scenario: string;
  seed: number;
  fork?: ForkPoint;
  swarmFrom?: number;
}

/** What the explorer needs from a finished run. */
export interface ExploreResult {
  coverage: Record<string, number>;
  coverageFirstAt?: Record<string, number>;
}

/** Tasks per round, across scenarios (a scenario gets at least one slot per round). */
export const GUIDED_ROUND_TASKS = 4;
/** Share of a later round's slots that fork a run at a rare event. */
export const GUIDED_FORK_SHARE = 0.5;
/** Share of a later round's slots (swarm mode) that reuse a rare run's fault mix on a fresh seed. */
export const GUIDED_BIAS_SHARE = 0.25;

interface Parent {
  seed: number;
  swarmFrom?: number;
  firstAt: Record<string, number>;
}

interface ScenarioState {
  name: string;
  budget: number;
  used: number;
  nextSeed: number;
  runs: number;
  hits: Map<string, number>;
  parents: Parent[];
  /** Forks made per `seed@atEvent`, for the stream number and the candidate ranking. */
  forks: Map<string, number>;
}

interface Candidate {
  parent: Parent;
  atEvent: number;
  hits: number;
}

const PAIR = "\u0000";

export class GuidedExplorer {
  private readonly states: ScenarioState[];
  private round = 0;

  constructor(
    scenarios: readonly string[],
    private readonly seeds: readonly number[],
    private readonly swarm: boolean,
  ) {
    this.states = scenarios.map((name) => ({
      name,
      budget: seeds.length,
      used: 0,
      nextSeed: 0,
      runs: 0,
      hits: new Map(),
      parents: [],
      forks: new Map(),
    }));
  }

  /** The next round's tasks, in run order; empty once the budget is spent. */
  nextRound(): ExploreTask[] {
    const perScenario = Math.max(1, Math.ceil(GUIDED_ROUND_TASKS / this.states.length));
    const first = this.round === 0;
    this.round++;
    const plans = this.states.map((st) => this.plan(st, perScenario, first));
    const out: ExploreTask[] = [];
    for (let slot = 0; slot < perScenario; slot++) {
      for (const p of plans) {
        const t = p[slot];
        if (t !== undefined) out.push(t);
      }
    }
    return out;
  }

  /** Record a finished run of `task` (call in task order). */
  record(task: ExploreTask, result: ExploreResult): void {
    const st = this.states.find((s) => s.name === task.scenario);
    if (!st) throw new Error(`guided exploration: no scenario "${task.scenario}"`);
    st.runs++;
    const events = Object.keys(result.coverage).sort();
    for (const e of events) st.hits.set(e, (st.hits.get(e) ?? 0) + 1);
    for (let i = 0; i < events.length; i++) {
      for (let j = i + 1; j < events.length; j++) {
        const k = events[i]! + PAIR + events[j]!;
        st.hits.set(k, (st.hits.get(k) ?? 0) + 1);
      }
    }
    if (task.fork === undefined && result.coverageFirstAt !== undefined) {
      const parent: Parent = { seed: task.seed, firstAt: result.coverageFirstAt };
      if (task.swarmFrom !== undefined) parent.swarmFrom = task.swarmFrom;
      st.parents.push(parent);
    }
  }

  private plan(st: ScenarioState, slots: number, first: boolean): ExploreTask[] {
    const out: ExploreTask[] = [];
    const n = Math.min(slots, st.budget - st.used);
    const forkSlots = first ? 0 : Math.round(n * GUIDED_FORK_SHARE);
    const biasSlots = first || !this.swarm ? 0 : Math.round(n * GUIDED_BIAS_SHARE);
    const ranked = forkSlots + biasSlots > 0 ? this.candidates(st) : [];
    let c = 0;
    for (let i = 0; i < n; i++) {
      st.used++;
      // Interleave: fork, fresh-with-bias, fork, fresh, …
      const wantFork = i % 2 === 0 ? i / 2 < forkSlots : false;
      const wantBias = i % 2 === 1 && (i - 1) / 2 < biasSlots;
      if (wantFork && ranked.length > 0) {
        const cand = this.bestFork(st, ranked);
        const key = `${cand.parent.seed}:${cand.parent.swarmFrom ?? ""}@${cand.atEvent}`;
        const stream = (st.forks.get(key) ?? 0) + 1;
        st.forks.set(key, stream);
        const t: ExploreTask = {
          scenario: st.name,
          seed: cand.parent.seed,
          fork: { atEvent: cand.atEvent, stream },
        };
        if (cand.parent.swarmFrom !== undefined) t.swarmFrom = cand.parent.swarmFrom;
        out.push(t);
        continue;
      }
      const seed = this.freshSeed(st);
      if (wantBias && ranked.length > 0) {
        const donor = ranked[c++ % ranked.length]!.parent;
        const from = donor.swarmFrom ?? donor.seed;
        if (from !== seed) {
          out.push({ scenario: st.name, seed, swarmFrom: from });
          continue;
        }
      }
      out.push({ scenario: st.name, seed });
    }
    return out;
  }

  /** The next fresh seed of the range; past its end, seeds continue upwards. */
  private freshSeed(st: ScenarioState): number {
    const i = st.nextSeed++;
    if (i < this.seeds.length) return this.seeds[i]!;
    return this.seeds[this.seeds.length - 1]! + (i - this.seeds.length + 1);
  }

  /** Rare events and pairs of the scenario's parents, rarest first. */
  private candidates(st: ScenarioState): Candidate[] {
    const rareMax = Math.max(1, Math.floor(st.runs / 10));
    const out: Candidate[] = [];
    for (const parent of st.parents) {
      const evs = Object.keys(parent.firstAt).sort();
      for (let i = 0; i < evs.length; i++) {
        const a = evs[i]!;
        const h = st.hits.get(a) ?? 0;
        if (h <= rareMax) out.push({ parent, atEvent: Math.max(1, parent.firstAt[a]!), hits: h });
        for (let j = i + 1; j < evs.length; j++) {
          const b = evs[j]!;
          const hp = st.hits.get(a + PAIR + b) ?? 0;
          if (hp > rareMax || h <= rareMax || (st.hits.get(b) ?? 0) <= rareMax) continue;
          const at = Math.max(1, parent.firstAt[a]!, parent.firstAt[b]!);
          out.push({ parent, atEvent: at, hits: hp });
        }
      }
    }
    out.sort((x, y) => x.hits - y.hits || x.parent.seed - y.parent.seed || x.atEvent - y.atEvent);
    // One candidate per fork point (its rarest reason).
    const seen = new Set<string>();
    return out.filter((c) => {
      const k = `${c.parent.seed}:${c.parent.swarmFrom ?? ""}@${c.atEvent}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  }

  /** The candidate with the fewest (runs reaching it + forks already spent on it). */
  private bestFork(st: ScenarioState, ranked: Candidate[]): Candidate {
    let best = ranked[0]!;
    let bestScore = Number.POSITIVE_INFINITY;
    for (const c of ranked) {
      const spent = st.forks.get(`${c.parent.seed}:${c.parent.swarmFrom ?? ""}@${c.atEvent}`) ?? 0;
      const score = c.hits + spent;
      if (score < bestScore) {
        best = c;
        bestScore = score;
      }
    }
    return best;
  }
}
