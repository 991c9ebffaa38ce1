/** The default target: our sans-IO reference core, `BrokerCore`, driven directly. */

import { BrokerCore } from "../../src/broker/broker.ts";
import type { DeadlineChange } from "../../src/broker/deadline-kinds.ts";
import type { BrokerSnapshot } from "../../src/broker/snapshot.ts";
import type { Input, Output } from "../../src/broker/types.ts";
import { ALL_CAPABILITIES, type Target, type TargetKind, type TargetStart } from "./target.ts";

class ReferenceTarget implements Target {
  readonly core: BrokerCore;
  readonly initialCursor: number;

  constructor(s: TargetStart) {
    this.initialCursor = s.initialCursor;
    this.core = new BrokerCore({
      options: s.options,
      random: s.random,
      initialCursor: s.initialCursor,
      initialBuffers: s.initialBuffers,
      initialInbox: s.initialInbox,
      log: s.log,
      faults: s.plantedFaults,
    });
    this.core.env.deadlineLog = [];
  }
  handle(input: Input, nowMs: number): void {
    this.core.handle(input, nowMs);
  }
  advance(nowMs: number): void {
    this.core.advance(nowMs);
  }
  nextDeadline(): number | undefined {
    return this.core.nextDeadline();
  }
  takeOutputs(): Output[] {
    return this.core.takeOutputs();
  }
  takeDeadlineChanges(): DeadlineChange[] {
    const env = this.core.env;
    const changes = env.deadlineLog ?? [];
    env.deadlineLog = [];
    return changes;
  }
  get stopped(): boolean {
    return this.core.stopped;
  }
  get internalErrors(): number {
    return this.core.internalErrors;
  }
  get logCounts(): ReadonlyMap<string, number> {
    return this.core.env.logCounts;
  }
  snapshot(): BrokerSnapshot {
    return this.core.snapshot();
  }
  dispose(): void {}
}

export const REFERENCE_TARGET: TargetKind = {
  name: "reference",
  description: "the reference core (src/broker), driven directly",
  capabilities: ALL_CAPABILITIES,
  open: () => ({ start: (s) => new ReferenceTarget(s), close: () => {} }),
};
