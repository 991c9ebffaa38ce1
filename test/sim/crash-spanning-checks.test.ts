/**
 * Crash-spanning checks (docs/durability.md): A4X keeps A4's single wire send over broker restarts.
 * A repeated reply that a restarted broker writes to the wire again is reported; A4 alone, which
 * starts afresh with each process, does not see it.
 */

import { describe, expect, it } from "vitest";
import { A4_ACROSS_CRASHES } from "../../sim/checkers/safety/a4-across-crashes.ts";
import { A4 } from "../../sim/checkers/safety/a4-single-wire-send.ts";
import { check, History } from "./support/history.ts";

const replyBody = {
  endpoint_id: "ep-1",
  plugin_pid: 10,
  assignment_id: "asg-1",
  source_message_id: "m1",
  reply_request_id: "rr-1",
  content: "hi",
  contentType: "text",
};

const send = (h: History, id: string) =>
  h.send({ event: "SEND_MESSAGE", messageId: id, to: "x", content: "hi", contentType: "text" }).end();

/** The reply goes to the wire, the broker crashes, the plugin repeats the same reply. */
function repeatedAfterRestart(secondSend: boolean): History {
  const h = new History().open();
  h.request(50, "POST", "/v1/runtime/assignment-reply", replyBody);
  send(h, "w1");
  h.at(10);
  h.events.push({ k: "crash", t: 10, incarnation: 1 });
  h.start({}, 0, 2).open();
  h.request(51, "POST", "/v1/runtime/assignment-reply", replyBody);
  if (secondSend) send(h, "w2");
  else h.respond(51, 200, { messageId: "w1", status: "delivered" }).end();
  return h;
}

describe("A4X single wire send across crashes", () => {
  it("fires when a restarted broker writes a repeated reply to the wire again", () => {
    const h = repeatedAfterRestart(true);
    expect(check(A4_ACROSS_CRASHES, h)?.message).toMatch(/again after a broker restart/);
    expect(check(A4, h)).toBeUndefined();
  });

  it("passes when the repeat is answered without a second send", () => {
    expect(check(A4_ACROSS_CRASHES, repeatedAfterRestart(false))).toBeUndefined();
  });
});
