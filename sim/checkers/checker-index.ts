/**
 * Which checkers see which event: the world's dispatch table. Each checker is called only for the
 * events its `kinds` names (an event kind, or an input kind, output kind or fact), in the order the
 * checkers were given; a checker without `kinds` sees every event. The lists for the narrower kinds
 * are built the first time an event of that kind happens, so a target's new input or output kinds
 * need no registration here.
 */

import type { SimEvent } from "../kernel/events.ts";
import { type CheckerDef, type CheckerInstance, validateKinds, wantsKind } from "./checker.ts";

export interface CheckerEntry {
  readonly def: CheckerDef;
  readonly inst: CheckerInstance;
}

export class CheckerIndex {
  private readonly plain = new Map<SimEvent["k"], CheckerEntry[]>();
  private readonly inputs = new Map<string, CheckerEntry[]>();
  private readonly outputs = new Map<string, CheckerEntry[]>();
  private readonly facts = new Map<string, CheckerEntry[]>();

  constructor(private readonly entries: readonly CheckerEntry[]) {
    for (const e of entries) validateKinds(e.def);
  }

  /** The checkers that want `ev`, in registration order. */
  for(ev: SimEvent): readonly CheckerEntry[] {
    switch (ev.k) {
      case "in":
        return this.narrowed(this.inputs, "in", ev.input.kind);
      case "out":
        return this.narrowed(this.outputs, "out", ev.output.kind);
      case "truth":
        return this.narrowed(this.facts, "truth", ev.fact.f);
      default: {
        let list = this.plain.get(ev.k);
        if (list === undefined) {
          list = this.entries.filter((e) => wantsKind(e.def, ev.k, undefined));
          this.plain.set(ev.k, list);
        }
        return list;
      }
    }
  }

  private narrowed(
    byKind: Map<string, CheckerEntry[]>,
    k: "in" | "out" | "truth",
    sub: string,
  ): readonly CheckerEntry[] {
    let list = byKind.get(sub);
    if (list === undefined) {
      list = this.entries.filter((e) => wantsKind(e.def, k, sub));
      byKind.set(sub, list);
    }
    return list;
  }
}
