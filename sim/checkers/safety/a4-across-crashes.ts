import { singleWireSend } from "./a4-single-wire-send.ts";

/**
 * A4 across crashes (docs/durability.md): A4's single wire send, kept over broker restarts. A
 * reply key whose SEND_MESSAGE was written by one process must not be written again by a later
 * one, whatever the plugin repeats: the reply idempotency record has to outlive the process.
 */
export const A4_ACROSS_CRASHES = singleWireSend({
  id: "A4X",
  statement:
    "Per reply key, once any broker process has written a SEND_MESSAGE to an open socket, no process writes another SEND_MESSAGE for that key.",
  acrossRestarts: true,
  again: "again after a broker restart",
});
