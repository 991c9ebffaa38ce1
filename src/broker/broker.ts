/**
 * BrokerCore: the reference runtime broker as a sans-IO state machine.
 *
 * Theory of operation:
 * 1. The driver calls `handle(input, nowMs)` for each event of the world and `advance(nowMs)` when
 *    time passes; `nextDeadline()` tells it when the core next needs `advance`.
 * 2. The core never blocks and never reads the world: every effect is an `Output` the driver takes
 *    with `takeOutputs()`, every answer comes back as an `Input`.
 * 3. The core never throws out of `handle`/`advance`. An internal error is logged as
 *    `core_internal_error` and counted in `internalErrors` (the simulator treats it as a failure).
 * 4. Components (connector, registry, pipeline, assignments, …) live in their own modules and talk
 *    through `Env` and the interfaces in `model.ts`; this file only composes and dispatches.
 */

import { Env } from "./env.ts";
import { NO_PLANTED_FAULTS, type BrokerOptions, type PlantedFaults, resolveOptions } from "./options.ts";
import type { BrokerSnapshot } from "./snapshot.ts";
import type { Input, LogSink, Output, Random } from "./types.ts";

export interface BrokerCoreConfig {
  /** Overrides of the PROTOCOL §6 defaults. */
  options?: Partial<BrokerOptions>;
  /** Source of ids, tokens and jitter. */
  random: Random;
  /** The persisted delivery cursor (`lastKnownSeq` of the cursor file), 0 when absent. */
  initialCursor?: number;
  /** Receives every log event. */
  log?: LogSink;
  /** Test-only planted bugs (see `PlantedFaults`). */
  faults?: Partial<PlantedFaults>;
}

export class BrokerCore {
  readonly env: Env;
  internalErrors = 0;

  constructor(config: BrokerCoreConfig) {
    this.env = new Env(
      resolveOptions(config.options),
      config.random,
      { ...NO_PLANTED_FAULTS, ...config.faults },
      config.log,
    );
  }

  handle(input: Input, nowMs: number): void {
    this.setNow(nowMs);
    try {
      this.dispatch(input);
    } catch (err) {
      this.internalError(err, input.kind);
    }
  }

  advance(nowMs: number): void {
    this.setNow(nowMs);
    try {
      this.env.deadlines.expire(nowMs);
    } catch (err) {
      this.internalError(err, "advance");
    }
  }

  nextDeadline(): number | undefined {
    return this.env.deadlines.next();
  }

  takeOutputs(): Output[] {
    const out = this.env.outputs;
    this.env.outputs = [];
    return out;
  }

  snapshot(): BrokerSnapshot {
    throw new Error("not implemented yet");
  }

  private dispatch(_input: Input): void {
    // Filled in by the component wiring.
  }

  private setNow(nowMs: number): void {
    if (nowMs > this.env.nowMs) this.env.nowMs = nowMs;
  }

  private internalError(err: unknown, where: string): void {
    this.internalErrors++;
    const e = err instanceof Error ? err : new Error(String(err));
    this.env.log("error", "core_internal_error", { where, message: e.message, stack: e.stack });
  }
}
