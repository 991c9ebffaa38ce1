import { describe, expect, it } from "vitest";
import { S1 } from "../../sim/checkers/safety/s1-ack-soundness.ts";
import { S2 } from "../../sim/checkers/safety/s2-monotonicity.ts";
import { S3 } from "../../sim/checkers/safety/s3-persist-after-ack.ts";
import { S4 } from "../../sim/checkers/safety/s4-no-phantom-ack.ts";
import { S5 } from "../../sim/checkers/safety/s5-duplicate-suppression.ts";
import { S6 } from "../../sim/checkers/safety/s6-scope-isolation.ts";
import { S7 } from "../../sim/checkers/safety/s7-release-before-redelivery.ts";
import { S8 } from "../../sim/checkers/safety/s8-gap-fill-argument.ts";
import { check, History } from "./support/history.ts";

describe("S1 ack soundness", () => {
  it("fires when an ack covers a seq that was never accepted", () => {
    const h = new History().open().message(1, "m1").end().ack(1);
    expect(check(S1, h)?.message).toMatch(/seq 1/);
  });

  it("passes when every acked seq was accepted or skipped", () => {
    const h = new History().open().message(1, "m1").end().inboxed("m1");
    h.frame({ event: "DELIVERY_SKIP", seq: 2, reason: "runtime_mailbox_dismissed" }).end().ack(2);
    expect(check(S1, h)).toBeUndefined();
  });

  it("counts a pushed message as accepted only once its routed post succeeded", () => {
    const h = new History().channel(1, 10).open().message(1, "m1").end();
    h.push(1, { sourceMessageId: "m1" }, "p1").end().pushAck(1, "p1").ack(1);
    expect(check(S1, h)).toBeDefined();
  });
});

describe("S2 monotonicity", () => {
  it("fires when the acked cursor goes back", () => {
    const h = new History().open().ack(3).ack(2);
    expect(check(S2, h)?.message).toMatch(/DELIVERY_ACK\(2\) after DELIVERY_ACK\(3\)/);
  });

  it("fires when the persisted cursor goes back across a restart", () => {
    const h = new History();
    h.events.push({ k: "truth", t: 0, fact: { f: "cursor_persisted", value: 5 } });
    h.start({}, 5, 2);
    h.events.push({ k: "truth", t: 0, fact: { f: "cursor_persisted", value: 4 } });
    expect(check(S2, h)).toBeDefined();
  });

  it("passes on increasing acks", () => {
    expect(check(S2, new History().open().ack(1).ack(1).ack(4))).toBeUndefined();
  });
});

describe("S3 persist-after-ack", () => {
  it("fires when the cursor is written before its ack", () => {
    const h = new History()
      .open()
      .out({ kind: "storage", id: 1, op: { op: "write_cursor", lastKnownSeq: 3 } });
    expect(check(S3, h)?.message).toMatch(/wrote cursor 3/);
  });

  it("fires when the first REGISTER after a restart forgets the persisted cursor", () => {
    const h = new History({}, 7).send({ event: "REGISTER", lastKnownSeq: 0 });
    expect(check(S3, h)?.message).toMatch(/persisted cursor is 7/);
  });

  it("passes when the write follows the ack on an open socket", () => {
    const h = new History({}, 7).send({ event: "REGISTER", lastKnownSeq: 7 }).open().ack(9);
    h.out({ kind: "storage", id: 1, op: { op: "write_cursor", lastKnownSeq: 9 } });
    expect(check(S3, h)).toBeUndefined();
  });
});

describe("S4 no phantom ack", () => {
  it("fires on an ack written while the socket is closed", () => {
    const h = new History().open().in({ kind: "connector_closed", code: 1006, reason: "" }).ack(1);
    expect(check(S4, h)?.message).toMatch(/not open/);
  });

  it("fires when REGISTER claims more than was acked", () => {
    const h = new History().open().ack(2).in({ kind: "connector_closed", code: 1006, reason: "" }).end();
    h.send({ event: "REGISTER", lastKnownSeq: 5 });
    expect(check(S4, h)).toBeDefined();
  });

  it("passes on acks while open", () => {
    expect(
      check(S4, new History().open().ack(1).send({ event: "REGISTER", lastKnownSeq: 1 })),
    ).toBeUndefined();
  });
});

describe("S5 duplicate suppression", () => {
  it("fires when a duplicate of an accepted message starts pipeline work", () => {
    const h = new History().open().message(2, "m2").end().inboxed("m2");
    h.message(2, "m2").call("inbound_route_claim", {
      source_message_id: "m2",
      routed_to_endpoint_id: "ep-1",
    });
    expect(check(S5, h)?.message).toMatch(/duplicate MESSAGE_RECEIVED for m2/);
  });

  it("fires when a frame at or below the cursor starts pipeline work", () => {
    const h = new History({}, 5)
      .open()
      .message(3, "m3")
      .call("undispatched_changed", { action: "add", undispatched_id: "m3" });
    expect(check(S5, h)).toBeDefined();
  });

  it("passes when the duplicate is dropped", () => {
    const h = new History().open().message(2, "m2").end().inboxed("m2").message(2, "m2").end();
    expect(check(S5, h)).toBeUndefined();
  });
});

describe("S6 scope isolation", () => {
  it("fires when a foreign-scope frame produces output", () => {
    const h = new History({ runtimeSessionId: "rs" }).open().message(1, "m1", {}, "other");
    h.call("undispatched_changed", { action: "add", undispatched_id: "m1" });
    expect(check(S6, h)?.message).toMatch(/foreign runtime session/);
  });

  it("fires when an ack lacks the configured scope", () => {
    expect(check(S6, new History({ runtimeSessionId: "rs" }).open().ack(1))).toBeDefined();
  });

  it("passes when foreign frames are ignored and acks are scoped", () => {
    const h = new History({ runtimeSessionId: "rs" }).open().message(1, "m1", {}, "other").end();
    h.send({ event: "DELIVERY_ACK", upToSeq: 1, runtimeSessionId: "rs" });
    expect(check(S6, h)).toBeUndefined();
  });
});

describe("S7 release before redelivery", () => {
  const failedOnce = () => {
    const h = new History().open().message(1, "m1");
    h.call("inbound_route_claim", { source_message_id: "m1", routed_to_endpoint_id: "ep-1" });
    const id = h.lastId;
    return h.end().result(id, { ok: false, terminal: false }).end();
  };

  it("fires when a replay after a failed task is ignored", () => {
    const h = failedOnce().message(1, "m1").end();
    expect(check(S7, h)?.message).toMatch(/replay of seq 1/);
  });

  it("passes when the replay is processed again", () => {
    const h = failedOnce().message(1, "m1");
    h.call("inbound_route_claim", { source_message_id: "m1", routed_to_endpoint_id: "ep-1" }).end();
    expect(check(S7, h)).toBeUndefined();
  });

  it("passes when the replay arrives while the first task is still running", () => {
    const h = new History().open().message(1, "m1");
    h.call("inbound_route_claim", { source_message_id: "m1", routed_to_endpoint_id: "ep-1" }).end();
    h.message(1, "m1").end();
    expect(check(S7, h)).toBeUndefined();
  });
});

describe("S8 gap-fill argument", () => {
  it("fires when sinceSeq is not the committed cursor", () => {
    expect(
      check(S8, new History().open().ack(2).send({ event: "REQUEST_GAP_FILL", sinceSeq: 1 })),
    ).toBeDefined();
  });

  it("passes when sinceSeq equals the cursor, including a server jump", () => {
    const h = new History()
      .open()
      .ack(2)
      .frame({ event: "DELIVERY_CURSOR", deliverySeq: 9, deliveredSeq: 5 });
    h.send({ event: "REQUEST_GAP_FILL", sinceSeq: 5 });
    expect(check(S8, h)).toBeUndefined();
  });
});
