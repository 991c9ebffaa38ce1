/**
 * The coverage matrix of a sweep: for every catalogued event, in how many runs it happened, broken
 * down by the fault kinds that fired in those runs, with the first seed (in sweep order) of each
 * cell; and per scenario, which of its declared `exercises` never happened.
 */

import { COVERAGE_EVENTS, coverageEvent } from "./events.ts";

/** Column of runs in which no fault fired. */
export const NO_FAULT = "(none)";

export interface RunCoverage {
  scenario: string;
  seed: number;
  /** Fault kinds that fired at least once in the run. */
  faults: readonly string[];
  /** Catalogued events that happened, with their counts. */
  events: ReadonlyMap<string, number>;
}

export interface Cell {
  runs: number;
  scenario: string;
  seed: number;
}

export interface CoverageGap {
  scenario: string;
  event: string;
  /** The name is not in the catalogue (a typo in `exercises`). */
  unknown: boolean;
  seeds: number;
}

export class CoverageMatrix {
  /** event → fault kind → cell. */
  readonly cells = new Map<string, Map<string, Cell>>();
  /** event → runs in which it happened. */
  readonly runsWith = new Map<string, number>();
  /** Fault kinds in first-seen order. */
  readonly faultKinds: string[] = [];
  /** scenario → event → runs in which it happened. */
  private readonly byScenario = new Map<string, Map<string, number>>();
  private readonly seedsPerScenario = new Map<string, number>();
  runs = 0;

  add(run: RunCoverage): void {
    this.runs++;
    this.seedsPerScenario.set(run.scenario, (this.seedsPerScenario.get(run.scenario) ?? 0) + 1);
    let sc = this.byScenario.get(run.scenario);
    if (!sc) {
      sc = new Map();
      this.byScenario.set(run.scenario, sc);
    }
    const columns = run.faults.length > 0 ? run.faults : [NO_FAULT];
    for (const f of columns) if (!this.faultKinds.includes(f)) this.faultKinds.push(f);
    for (const [event, n] of run.events) {
      if (n <= 0) continue;
      sc.set(event, (sc.get(event) ?? 0) + 1);
      this.runsWith.set(event, (this.runsWith.get(event) ?? 0) + 1);
      let row = this.cells.get(event);
      if (!row) {
        row = new Map();
        this.cells.set(event, row);
      }
      for (const f of columns) {
        const c = row.get(f);
        if (c) c.runs++;
        else row.set(f, { runs: 1, scenario: run.scenario, seed: run.seed });
      }
    }
  }

  /** Declared events that never happened in any run of their scenario. */
  gaps(declared: ReadonlyArray<{ name: string; exercises: readonly string[] }>): CoverageGap[] {
    const out: CoverageGap[] = [];
    for (const s of declared) {
      const seeds = this.seedsPerScenario.get(s.name);
      if (seeds === undefined) continue;
      const hits = this.byScenario.get(s.name);
      for (const event of s.exercises) {
        const unknown = coverageEvent(event) === undefined;
        if (unknown || (hits?.get(event) ?? 0) === 0) out.push({ scenario: s.name, event, unknown, seeds });
      }
    }
    return out;
  }

  /** Events of the catalogue that happened in this sweep, in catalogue order. */
  eventsSeen(): string[] {
    return COVERAGE_EVENTS.map((e) => e.name).filter((n) => (this.runsWith.get(n) ?? 0) > 0);
  }

  /** The matrix as text: one row per event that happened, one column per fault kind. */
  render(): string[] {
    const kinds = [...this.faultKinds].sort((a, b) => (a === NO_FAULT ? -1 : b === NO_FAULT ? 1 : 0));
    const nameW = Math.max(5, ...COVERAGE_EVENTS.map((e) => e.name.length));
    const colW = 7;
    const lines: string[] = [];
    lines.push(
      `coverage: ${this.eventsSeen().length}/${COVERAGE_EVENTS.length} events seen in ${this.runs} runs; a cell is the first seed where the event happened while that fault fired`,
    );
    lines.push(`  columns: ${kinds.map((k, i) => `${i + 1}=${k}`).join(" ")}`);
    lines.push(
      `  ${"event".padEnd(nameW)} ${"runs".padStart(5)} ${kinds.map((_, i) => String(i + 1).padStart(colW)).join("")}  first seen`,
    );
    for (const ev of COVERAGE_EVENTS) {
      const runs = this.runsWith.get(ev.name) ?? 0;
      const row = this.cells.get(ev.name);
      const cells = kinds.map((k) => {
        const c = row?.get(k);
        return (c ? `s${c.seed}` : "·").padStart(colW);
      });
      let first = "";
      if (row) {
        let best: Cell | undefined;
        for (const c of row.values()) if (!best) best = c;
        if (best) first = `${best.scenario} seed ${best.seed}`;
      }
      lines.push(
        `  ${ev.name.padEnd(nameW)} ${String(runs).padStart(5)} ${cells.join("")}  ${first || "never"}`,
      );
    }
    return lines;
  }

  toJSON(): Record<string, unknown> {
    const cells: Record<string, Record<string, Cell>> = {};
    for (const [event, row] of this.cells) cells[event] = Object.fromEntries(row);
    return {
      runs: this.runs,
      faultKinds: this.faultKinds,
      runsWith: Object.fromEntries(this.runsWith),
      cells,
    };
  }
}
