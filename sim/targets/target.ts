/**
 * The system under test, as the simulated world sees it: anything that takes the broker's `Input`
 * records and produces its `Output` records (src/broker/types.ts) under the driver rules stated
 * there. The reference core (`BrokerCore`) is the default target; an adapter puts another broker
 * implementation behind the same boundary (docs/targets.md).
 *
 * Rules:
 * 1. Scenarios, faults and checkers never change with the target. What a target cannot show is
 *    declared in `capabilities`, and every checker that needs a missing fact is reported as not
 *    applicable for that target (`applicableCheckers`), never fed a made-up fact.
 * 2. `handle`, `advance`, `nextDeadline` and `takeOutputs` are synchronous: the world is a
 *    single-threaded event loop and a step ends when the target has nothing more to say.
 * 3. A target is one broker process: the world creates a new one for every (re)start and simply
 *    drops the old one on a crash (`dispose` releases whatever it holds). State that outlives a
 *    process (the disk of an adapter that keeps its own) belongs to the run (`TargetRun`).
 */

import type { DeadlineChange } from "../../src/broker/deadline-kinds.ts";
import type { InboxRow } from "../../src/broker/model.ts";
import type { BrokerOptions, PlantedFaults } from "../../src/broker/options.ts";
import type { BrokerSnapshot } from "../../src/broker/snapshot.ts";
import type { BufferRecord, Input, LogSink, Output, Random } from "../../src/broker/types.ts";

/**
 * Facts a target may be unable to expose. A target that lacks one leaves the checkers needing it
 * out of its runs (see `CHECKER_NEEDS`).
 */
export type Capability =
  /** Its storage writes are `storage` outputs answered by `storage_result` (the simulated disk). */
  | "storage"
  /** It can build a full `BrokerSnapshot` at the end of a run (inbox, assignments, endpoints). */
  | "snapshot"
  /** It can count its own internal errors (X1: the core never throws). */
  | "internal_errors"
  /** It accepts the test-only planted faults of `PlantedFaults`. */
  | "planted_faults"
  /**
   * Its outputs carry their `cause` (src/broker/types.ts): which pipeline task, retry queue, timer
   * or request produced each one; and it reports what each step did to its deadlines
   * (`takeDeadlineChanges`), so a timer cause can be matched to the deadline it names.
   */
  | "causes";

export const ALL_CAPABILITIES: readonly Capability[] = [
  "storage",
  "snapshot",
  "internal_errors",
  "planted_faults",
  "causes",
];

/** What the world hands a target when a broker process starts. */
export interface TargetStart {
  /** Run identity: the target may derive its own seeded streams from it. */
  scenario: string;
  seed: number;
  /** 1 for the first process of the run, bumped by every restart. */
  incarnation: number;
  /** Virtual wall-clock time at start, ms since the Unix epoch. */
  nowMs: number;
  options: BrokerOptions;
  /** The world's seeded randomness for this process (targets that cannot take it ignore it). */
  random: Random;
  /** The simulated disk's cursor, buffer files and inbox journal (targets with the `storage` capability). */
  initialCursor: number;
  initialBuffers: ReadonlyArray<{ endpointId: string; records: readonly BufferRecord[] }>;
  initialInbox: { rows: readonly InboxRow[]; departed: readonly string[] };
  log: LogSink | undefined;
  plantedFaults: Partial<PlantedFaults> | undefined;
}

/** One broker process behind the Input/Output boundary. */
export interface Target {
  /** Handle one input at virtual time `nowMs` (never decreasing). */
  handle(input: Input, nowMs: number): void;
  /** Virtual time reached `nowMs`: run whatever was due. */
  advance(nowMs: number): void;
  /** When the target next needs `advance`, or undefined when nothing is scheduled. */
  nextDeadline(): number | undefined;
  /** The outputs produced since the last call, in order. */
  takeOutputs(): Output[];
  /**
   * The deadlines armed, cleared and fired since the last call, in order (targets with the
   * `causes` capability; others leave it out).
   */
  takeDeadlineChanges?(): DeadlineChange[];
  /** The process has shut down (its last output was `stopped`). */
  readonly stopped: boolean;
  /** Internal errors so far (0 for targets without the `internal_errors` capability). */
  readonly internalErrors: number;
  /** The delivery cursor this process loaded at start. */
  readonly initialCursor: number;
  /** Log event counts (for the coverage matrix); empty when the target does not log. */
  readonly logCounts: ReadonlyMap<string, number>;
  /** End-of-run state; only called on targets with the `snapshot` capability. */
  snapshot(): BrokerSnapshot;
  /** Release the process's resources (threads, temp dirs). Called on crash and at run end. */
  dispose(): void;
}

/**
 * One simulation run's use of a target kind: what outlives a broker process (an adapter's worker
 * thread, its disk) lives here, from the world's construction to `close()`.
 */
export interface TargetRun {
  /** Start one broker process (the run's first, or a restart after a crash or shutdown). */
  start(s: TargetStart): Target;
  /** The run is over: release everything. */
  close(): void;
}

/** A kind of target: its name (as `--target` spells it) and how to run it. */
export interface TargetKind {
  name: string;
  /** One line for `--help` and reports. */
  description: string;
  capabilities: readonly Capability[];
  /**
   * Options the target cannot be configured with, at the values it always uses. A run on this
   * target takes these values whatever its scenario asked for, so the world and its checkers judge
   * the target by the limits it really has, never by an option it ignores.
   */
  fixedOptions?: Partial<BrokerOptions>;
  open(): TargetRun;
}
