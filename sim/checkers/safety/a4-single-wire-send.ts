import type { SimEvent } from "../../kernel/events.ts";
import { defineChecker } from "../checker.ts";
import { describe } from "../util.ts";

/** A4 Single wire send (PROTOCOL §7.3). */
export const A4 = defineChecker({
  id: "A4",
  kind: "safety",
  kinds: ["start", "out"],
  statement:
    "Per reply key, once a SEND_MESSAGE has been written to an open socket, no further SEND_MESSAGE is written for that key.",
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
            message: `reply key ${key} was written to the wire twice.`,
            involved: [describe(prev), describe(ev)],
          };
        }
        written.set(key, ev);
        return undefined;
      },
    };
  },
});
