import type { SimEvent } from "../../kernel/events.ts";
import { type CheckerDef, defineChecker } from "../checker.ts";
import { describe } from "../util.ts";

/**
 * A checker that reports a reply key whose SEND_MESSAGE is written to an open socket a second
 * time. `acrossRestarts` keeps the record of written keys over broker restarts (A4X); otherwise
 * each process starts afresh (A4).
 */
export function singleWireSend(opts: {
  id: string;
  statement: string;
  acrossRestarts: boolean;
  again: string;
}): CheckerDef {
  return defineChecker({
    id: opts.id,
    kind: "safety",
    kinds: opts.acrossRestarts ? ["out:connector_send"] : ["start", "out:connector_send"],
    statement: opts.statement,
    create() {
      let written = new Map<string, SimEvent>();
      return {
        onEvent(ev, v) {
          if (ev.k === "start") {
            written = new Map();
            return undefined;
          }
          if (
            ev.k !== "out" ||
            ev.output.kind !== "connector_send" ||
            ev.output.frame.event !== "SEND_MESSAGE"
          ) {
            return undefined;
          }
          const key = v.replyKeyOfFrame.get(ev.output.frame.messageId);
          if (key === undefined || !v.socketOpen) return undefined;
          const prev = written.get(key);
          if (prev !== undefined) {
            return {
              message: `reply key ${key} was written to the wire ${opts.again}.`,
              involved: [describe(prev), describe(ev)],
            };
          }
          written.set(key, ev);
          return undefined;
        },
      };
    },
  });
}

/** A4 Single wire send (PROTOCOL §7.3). */
export const A4 = singleWireSend({
  id: "A4",
  statement:
    "Per reply key, once a SEND_MESSAGE has been written to an open socket, no further SEND_MESSAGE is written for that key.",
  acrossRestarts: false,
  again: "twice",
});
