import type { SimEvent } from "../../kernel/events.ts";
import { defineChecker } from "../checker.ts";
import { describe } from "../util.ts";

/**
 * A4 across crashes (docs/durability.md): A4's single wire send, kept over broker restarts. A
 * reply key whose SEND_MESSAGE was written by one process must not be written again by a later
 * one, whatever the plugin repeats: the reply idempotency record has to outlive the process.
 */
export const A4_ACROSS_CRASHES = defineChecker({
  id: "A4X",
  kind: "safety",
  kinds: ["out"],
  statement:
    "Per reply key, once any broker process has written a SEND_MESSAGE to an open socket, no process writes another SEND_MESSAGE for that key.",
  create() {
    const written = new Map<string, SimEvent>();
    return {
      onEvent(ev, v) {
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
            message: `reply key ${key} was written to the wire again after a broker restart.`,
            involved: [describe(prev), describe(ev)],
          };
        }
        written.set(key, ev);
        return undefined;
      },
    };
  },
});
