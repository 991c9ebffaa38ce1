/**
 * What a sweep adds up to: per-scenario totals for the summary table (seeds, events, faults
 * injected, invariants checked, violations, coverage) and the coverage matrix across all runs.
 */

import type { RunReport } from "../run.ts";
import { faultKindsFired } from "../run.ts";
import type { Scenario } from "../scenarios/scenario.ts";
import { COVERAGE_EVENTS } from "./events.ts";
import { type CoverageGap, CoverageMatrix } from "./matrix.ts";

interface Row {
  scenario: string;
  seeds: number;
  events: number;
  faults: number;
  checkers: number;
  safety: number;
  liveness: number;
  declared: number;
}

export class SweepSummary {
  readonly matrix = new CoverageMatrix();
  private readonly rows = new Map<string, Row>();

  add(report: RunReport): void {
    let row = this.rows.get(report.scenario);
    if (!row) {
      row = {
        scenario: report.scenario,
        seeds: 0,
        events: 0,
        faults: 0,
        checkers: report.checkers,
        safety: 0,
        liveness: 0,
        declared: 0,
      };
      this.rows.set(report.scenario, row);
    }
    row.seeds++;
    row.events += report.events;
    row.faults += report.stats.faultsInjected ?? 0;
    if (report.violation?.kind === "liveness") row.liveness++;
    else if (report.violation) row.safety++;
    this.matrix.add({
      scenario: report.scenario,
      seed: report.seed,
      faults: faultKindsFired(report),
      events: new Map(Object.entries(report.coverage)),
    });
  }

  gaps(scenarios: readonly Scenario[]): CoverageGap[] {
    return this.matrix.gaps(scenarios);
  }

  /** The summary table, one row per scenario plus a total. */
  table(scenarios: readonly Scenario[]): string[] {
    const gaps = this.gaps(scenarios);
    const head = ["scenario", "seeds", "events", "faults injected", "invariants", "violations", "coverage"];
    const body: string[][] = [];
    const total = { seeds: 0, events: 0, faults: 0, safety: 0, liveness: 0, hit: 0, declared: 0 };
    let checkers = 0;
    for (const row of this.rows.values()) {
      const declared = scenarios.find((s) => s.name === row.scenario)?.exercises.length ?? 0;
      const missed = gaps.filter((g) => g.scenario === row.scenario).length;
      total.seeds += row.seeds;
      total.events += row.events;
      total.faults += row.faults;
      total.safety += row.safety;
      total.liveness += row.liveness;
      total.hit += declared - missed;
      total.declared += declared;
      checkers = Math.max(checkers, row.checkers);
      body.push([
        row.scenario,
        String(row.seeds),
        String(row.events),
        String(row.faults),
        String(row.checkers),
        violations(row.safety, row.liveness),
        `${declared - missed}/${declared}`,
      ]);
    }
    body.push([
      "total",
      String(total.seeds),
      String(total.events),
      String(total.faults),
      String(checkers),
      violations(total.safety, total.liveness),
      `${total.hit}/${total.declared} declared; ${this.matrix.eventsSeen().length}/${COVERAGE_EVENTS.length} events seen`,
    ]);
    return renderTable(head, body);
  }

  toJSON(scenarios: readonly Scenario[]): Record<string, unknown> {
    return {
      scenarios: [...this.rows.values()],
      coverage: this.matrix.toJSON(),
      gaps: this.gaps(scenarios),
    };
  }
}

function violations(safety: number, liveness: number): string {
  if (safety + liveness === 0) return "0";
  return `${safety + liveness} (${safety} safety, ${liveness} liveness)`;
}

function renderTable(head: string[], body: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join("  ")
      .trimEnd();
  const out = [line(head), line(widths.map((w) => "-".repeat(w)))];
  for (let i = 0; i < body.length; i++) {
    if (i === body.length - 1) out.push(line(widths.map((w) => "-".repeat(w))));
    out.push(line(body[i]!));
  }
  return out;
}
