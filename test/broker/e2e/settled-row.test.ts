import { describe, expect, it } from "vitest";
import { UNDISPATCHED_ROW_SETTLED } from "../../../src/broker/api.ts";
import { BrokerPair, TERMINAL } from "../../support/broker-pair.ts";

const SETTLED = { ok: false, terminal: true, status: 422, code: UNDISPATCHED_ROW_SETTLED, detail: "settled" };

function unaddressed(capacity = 4) {
  const pair = new BrokerPair({ options: { inboxCapacity: capacity } });
  pair.connect();
  pair.message({ seq: 1, messageId: "m1" });
  expect(pair.core.inbox.has("m1")).toBe(true);
  return pair;
}

describe("an inbox add the platform answers undispatched_row_settled (L1)", () => {
  it("counts the message as handled and takes its row out of the inbox", () => {
    const pair = unaddressed();
    pair.answerOne("undispatched_changed", SETTLED);
    expect(pair.core.inbox.has("m1")).toBe(false);
    expect(pair.ackedUpTo()).toBe(1);
    expect(pair.core.pipeline.blocked.size).toBe(0);
    expect(pair.logCount("undispatched_row_settled_skip")).toBe(1);
  });

  it("leaves room for the next message when the inbox holds a single row", () => {
    const pair = unaddressed(1);
    pair.answerOne("undispatched_changed", SETTLED);
    pair.message({ seq: 2, messageId: "m2" });
    expect(pair.calls("undispatched_changed")).toHaveLength(1);
    expect(pair.core.inbox.has("m2")).toBe(true);
  });

  it("treats any other terminal failure as not accepted, as the reference does", () => {
    const pair = unaddressed();
    pair.answerOne("undispatched_changed", TERMINAL);
    expect(pair.ackedUpTo()).toBe(0);
    expect(pair.core.pipeline.blocked.has(1)).toBe(true);
  });
});
