import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BrokerPair, OK, TERMINAL, TRANSIENT } from "../../support/broker-pair.ts";

/**
 * Random interleavings of route claims, receipts and routed posts for one endpoint, replayed in
 * rounds like a server replaying unacked seqs. Checked: hand-offs inside a round follow seq order
 * (R5), a message whose push was received is never pushed again (delivered-route cache), no
 * internal error, and once the platform is healthy every seq is acked (L1 for this path).
 */
describe("the delivery path under random interleavings", () => {
  it("keeps R5 and single delivery, and acks everything once the world is healthy", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.infiniteStream(fc.nat({ max: 999 })),
        fc.integer({ min: 1, max: 3 }),
        (n, draws, faultyRounds) => {
          const it = draws[Symbol.iterator]();
          const draw = (k: number) => it.next().value % k;
          const pair = new BrokerPair();
          pair.connect();
          const ep = pair.register(100, 1).endpointId;
          const receivedAt = new Map<string, number>();
          const acked = new Set<string>();

          for (let round = 0; round <= faultyRounds + 1; round++) {
            const healthy = round >= faultyRounds;
            const pushMark = pair.messagePushes(1).length;
            const todo = [];
            for (let s = pair.ackedUpTo() + 1; s <= n; s++) todo.push(s);
            while (todo.length > 0) {
              const s = todo.splice(draw(todo.length), 1)[0]!;
              pair.message({ seq: s, messageId: `m${s}`, metadata: { target_endpoint_id: ep } });
            }
            for (let steps = 0; steps < 200; steps++) {
              const claims = pair.calls("inbound_route_claim");
              const routed = pair.calls("inbound_routed");
              const unacked = pair.messagePushes(1).filter((p) => p.push_id && !acked.has(p.push_id));
              const choices = claims.length + routed.length + unacked.length;
              if (choices === 0) break;
              const pick = draw(choices + (healthy ? 0 : 1));
              if (pick === choices) {
                pair.advance(2_000);
              } else if (pick < claims.length) {
                const r = healthy ? 0 : draw(4);
                pair.answer(
                  claims[pick]!,
                  r === 3
                    ? TRANSIENT
                    : r === 2
                      ? { ok: true, action: "skip" }
                      : { ok: true, action: "route" },
                );
              } else if (pick < claims.length + routed.length) {
                const r = healthy ? 0 : draw(3);
                pair.answer(routed[pick - claims.length]!, r === 0 ? OK : r === 1 ? TRANSIENT : TERMINAL);
              } else {
                const p = unacked[pick - claims.length - routed.length]!;
                acked.add(p.push_id!);
                const late = pair.logCount("ipc_push_ack_unknown");
                pair.pushAck(p.push_id!, 1);
                // Counted receipt (not a late one): from now on this message must never be pushed again.
                if (pair.logCount("ipc_push_ack_unknown") === late && !receivedAt.has(p.sourceMessageId!)) {
                  receivedAt.set(p.sourceMessageId!, pair.messagePushes(1).length);
                }
              }
            }
            // Let queued routed posts retry until they succeed or drop, and receipts time out.
            for (let k = 0; k < 10; k++) {
              pair.advance(30_000);
              for (const c of pair.calls("inbound_routed")) pair.answer(c, OK);
            }
            const roundSeqs = pair
              .messagePushes(1)
              .slice(pushMark)
              .map((p) => Number(p.sourceMessageId!.slice(1)));
            expect(roundSeqs).toEqual([...roundSeqs].sort((a, b) => a - b));
          }
          expect(pair.core.internalErrors).toBe(0);
          expect(pair.ackedUpTo()).toBe(n);
          expect(pair.core.inflightTasks.size).toBe(0);
          const pushes = pair.messagePushes(1);
          for (const [id, at] of receivedAt) {
            expect(
              pushes.slice(at).filter((p) => p.sourceMessageId === id),
              id,
            ).toEqual([]);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
