/**
 * One repro: which scenario, seed, planted faults and setup edits, and where the draws come from
 * (the seeded generators, recorded on the way, or a decision log). `runRepro` runs it through
 * `runScenario` — the runner's own code path — and measures how big the run was.
 *
 * Size, as reports and the shrinker count it (all up to the failure, since the run stops there):
 * - `traceLines`: every line of the trace (core inputs and outputs, network sends, facts, faults);
 * - `coreSteps`: what the broker core was asked to do — inputs handled plus deadline advances;
 * - `storageCompletions`: the core steps that only report that a storage write succeeded at once
 *   (a `storage_result` with ok, in the same virtual millisecond as its `storage` output): the
 *   write is the step a reader follows, its immediate success is not a step of its own. A failed
 *   write's result, or one the disk delayed, stays a step (what happens in between is the story);
 * - `workloadItems`: messages the platform put on the broker's stream (`server_sent` facts);
 * - `deliveries`: messages the simulated network carried (`net` lines);
 * - `faultFirings`: injected fault firings (`fault` lines, heals excluded);
 * - `draws`: raw random draws the run consumed (the decision log's length).
 * The repro's headline "events" are `coreSteps - storageCompletions + faultFirings`: the steps a
 * reader follows in the timeline. `traceLines` is the honest upper bound and is reported alongside.
 */

import { type BrokerOptions, resolveOptions } from "../../src/broker/options.ts";
import type { CheckerDef } from "../checkers/checker.ts";
import { ALL_CHECKERS } from "../checkers/index.ts";
import type { RunOptions, RunReport } from "../run.ts";
import { runScenario } from "../run.ts";
import { scenarioByName } from "../scenarios/index.ts";
import { targetOrThrow } from "../targets/index.ts";
import type { Scenario } from "../scenarios/scenario.ts";
import { type DecisionLog, Decisions, type DrawKind, drawCost, logLength } from "./decision-log.ts";
import { type BuiltSetup, editedScenario, type PlantedFaultName, type SetupEdits } from "./setup.ts";

export interface ReproSpec {
  scenario: string;
  seed: number;
  swarm: boolean;
  planted: PlantedFaultName[];
  edits: SetupEdits;
  /** The target's name (`--target`); absent = the reference core. */
  target?: string;
  /** Replay these draws; absent = draw from the seeded generators (and record them). */
  decisions?: DecisionLog;
  /**
   * Run only these checkers (invariant ids); absent = every checker. A repro shrunk for one
   * invariant (`--shrink-for`) records it, so other invariants' violations cannot stop its replay.
   */
  checkers?: string[];
}

export interface ReproSize {
  events: number;
  traceLines: number;
  coreSteps: number;
  storageCompletions: number;
  workloadItems: number;
  deliveries: number;
  faultFirings: number;
  draws: number;
}

export interface ReproRun {
  report: RunReport;
  /** Every draw the run consumed: a complete log that replays this run exactly. */
  log: DecisionLog;
  kinds: Record<string, DrawKind[]>;
  /** The workload item each draw of `log` served (0 for none). */
  causes: Record<string, number[]>;
  /** Per stream, the index of the first draw of every `chance` that came out "yes". */
  yes: Record<string, number[]>;
  /** Draws served past the end of the replayed log. */
  fallbacks: number;
  size: ReproSize;
  /** Sum of every draw's distance from its simplest value (tie-breaker when sizes are equal). */
  cost: number;
  /** The scenario's plugins before the edits. */
  plugins: BuiltSetup["plugins"];
  /** The broker options the run used (scenario's, edits', defaults). */
  options: BrokerOptions;
  /** The run's JSONL trace lines (for the timeline export of a repro). */
  lines: string[];
}

/**
 * Run options a repro passes on to `runScenario` (a caller's own checkers, broker log, ...); the
 * repro itself decides swarm mode, tracing, draws and planted faults.
 */
export type ReproRunOptions = Omit<
  RunOptions,
  "swarm" | "recordTrace" | "decisions" | "plantedFaults" | "onDrawn"
>;

export class UnknownScenarioError extends Error {}
export class UnknownInvariantError extends Error {}

export function findScenario(name: string): Scenario {
  const s = scenarioByName(name);
  if (!s) throw new UnknownScenarioError(`unknown scenario "${name}"`);
  return s;
}

/** The invariant id a run stopped by `eventsMax` reports (never a real finding). */
export const EVENTS_CAP_ID = "shrink-events-cap";

/**
 * Run a repro. `eventsMax` (the shrinker's) stops a candidate once it has shown the checkers more
 * events than that: it can no longer be smaller than the best repro so far.
 */
export function runRepro(
  spec: ReproSpec,
  scenario: Scenario = findScenario(spec.scenario),
  eventsMax?: number,
  runOptions: ReproRunOptions = {},
): ReproRun {
  const decisions = new Decisions(spec.decisions);
  const built: BuiltSetup = { plugins: [], brokerOptions: {} };
  const sc = editedScenario(scenario, spec.planted, spec.edits, built);
  const base = onlyCheckers(runOptions.checkers ?? ALL_CHECKERS, spec.checkers);
  const checkers = eventsMax === undefined ? base : [...base, eventsCap(eventsMax)];
  const report = runScenario(sc, spec.seed, {
    ...runOptions,
    swarm: spec.swarm,
    recordTrace: true,
    decisions,
    checkers,
    // A repro replays against the target it names; the caller's own target (a user's, not
    // registered here) serves when the repro names it or names none.
    target:
      runOptions.target !== undefined && (spec.target === undefined || spec.target === runOptions.target.name)
        ? runOptions.target
        : targetOrThrow(spec.target),
  });
  const lines = report.trace ?? [];
  delete report.trace;
  const log = decisions.log();
  const kinds = decisions.kinds();
  return {
    report,
    log,
    kinds,
    causes: decisions.causes(),
    yes: decisions.yes(),
    fallbacks: decisions.fallbacks,
    size: measure(lines, logLength(log)),
    cost: logCost(log, kinds),
    plugins: built.plugins,
    options: resolveOptions({ ...built.brokerOptions, ...spec.edits.brokerOptions }),
    lines,
  };
}

/** The checkers named by `ids` (all of `base` when absent); an unknown id is an error. */
export function onlyCheckers(base: readonly CheckerDef[], ids: readonly string[] | undefined): CheckerDef[] {
  if (ids === undefined) return [...base];
  for (const id of ids) {
    if (!base.some((c) => c.id === id))
      throw new UnknownInvariantError(
        `unknown invariant "${id}"; known invariants: ${base.map((c) => c.id).join(", ")}`,
      );
  }
  return base.filter((c) => ids.includes(c.id));
}

function eventsCap(max: number): CheckerDef {
  return {
    id: EVENTS_CAP_ID,
    statement: "A shrink candidate stays within the size of the best repro so far.",
    kind: "safety",
    create() {
      let n = 0;
      return {
        onEvent: () => (++n > max ? { message: `more than ${max} events` } : undefined),
      };
    },
  };
}

const STORAGE_ID = /"kind":"storage(?:_result)?","id":(\d+)/;

/** A trace line's virtual time, as written (`{"t":N,...`). */
function timeOf(line: string): string {
  return line.slice(5, line.indexOf(","));
}

/** Count a trace (see the header for what each number means). */
export function measure(lines: readonly string[], draws: number): ReproSize {
  let coreSteps = 0;
  let storageCompletions = 0;
  // A storage id's latest output time (ids restart with each broker process; the latest wins).
  const storageOutAt = new Map<string, string>();
  let workloadItems = 0;
  let deliveries = 0;
  let faultFirings = 0;
  for (const l of lines) {
    // Every line starts with {"t":N,"k":"KIND" — look at the kind without parsing the JSON.
    const i = l.indexOf('"k":"');
    const k = l.slice(i + 5, l.indexOf('"', i + 5));
    if (k === "in" || k === "advance") {
      coreSteps++;
      if (l.includes('"v":{"kind":"storage_result"') && l.includes('"ok":true')) {
        const id = STORAGE_ID.exec(l)?.[1];
        if (id !== undefined && storageOutAt.get(id) === timeOf(l)) storageCompletions++;
      }
    } else if (k === "out" && l.includes('"v":{"kind":"storage"')) {
      const id = STORAGE_ID.exec(l)?.[1];
      if (id !== undefined) storageOutAt.set(id, timeOf(l));
    } else if (k === "net") deliveries++;
    else if (k === "fault" && !l.includes('"w":"heal"')) faultFirings++;
    else if (k === "truth" && l.includes('"f":"server_sent"')) workloadItems++;
  }
  return {
    events: coreSteps - storageCompletions + faultFirings,
    traceLines: lines.length,
    coreSteps,
    storageCompletions,
    workloadItems,
    deliveries,
    faultFirings,
    draws,
  };
}

function logCost(log: DecisionLog, kinds: Record<string, DrawKind[]>): number {
  let c = 0;
  for (const key of Object.keys(log)) {
    const vs = log[key]!;
    const ks = kinds[key]!;
    for (let i = 0; i < vs.length; i++) c += drawCost(ks[i]!, vs[i]!) / 0x1_0000_0000;
  }
  return c;
}

/** Order of repros by size: fewer trace lines, then fewer draws, then simpler draws. */
export function smaller(a: ReproRun, b: ReproRun): boolean {
  if (a.size.traceLines !== b.size.traceLines) return a.size.traceLines < b.size.traceLines;
  if (a.size.draws !== b.size.draws) return a.size.draws < b.size.draws;
  return a.cost < b.cost - 1e-12;
}
