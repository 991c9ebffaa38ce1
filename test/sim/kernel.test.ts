import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../sim/kernel/clock.ts";
import { EventQueue } from "../../sim/kernel/event-queue.ts";
import { deriveSeed, SeededRandom, Stream, Streams } from "../../sim/kernel/prng.ts";
import { eventLine, netLine, Trace } from "../../sim/kernel/trace.ts";
import { Network } from "../../sim/network/network.ts";

describe("event queue", () => {
  it("pops events by time, then by insertion order", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 200 }), (times) => {
        const q = new EventQueue();
        const popped: Array<[number, number]> = [];
        times.forEach((t, i) => {
          q.schedule(t, () => popped.push([t, i]));
        });
        for (let e = q.pop(); e; e = q.pop()) e.fn!();
        const expected = times
          .map((t, i) => [t, i] as [number, number])
          .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        expect(popped).toEqual(expected);
      }),
    );
  });

  it("skips cancelled events and counts only live ones", () => {
    const q = new EventQueue();
    const a = q.schedule(1, () => {});
    q.schedule(2, () => {});
    q.cancel(a);
    expect(q.size).toBe(1);
    expect(q.peekTime()).toBe(2);
    expect(q.pop()?.at).toBe(2);
    expect(q.pop()).toBeUndefined();
  });
});

describe("virtual clock", () => {
  it("never moves backwards", () => {
    const c = new VirtualClock(100);
    c.advanceTo(150);
    c.advanceTo(120);
    expect(c.nowMs).toBe(150);
    expect(c.elapsedMs).toBe(50);
  });
});

describe("prng streams", () => {
  it("gives a stream the same draws however much another stream draws", () => {
    const a = new Streams(42);
    const b = new Streams(42);
    for (let i = 0; i < 1000; i++) a.get("network").next();
    const fromA = Array.from({ length: 20 }, () => a.get("workload").next());
    const fromB = Array.from({ length: 20 }, () => b.get("workload").next());
    expect(fromA).toEqual(fromB);
  });

  it("derives different generators for different labels and seeds", () => {
    const seeds = new Set([
      deriveSeed(1, "network"),
      deriveSeed(1, "workload"),
      deriveSeed(2, "network"),
      deriveSeed(2, "workload"),
    ]);
    expect(seeds.size).toBe(4);
    const x = new Streams(1).get("network");
    const y = new Streams(2).get("network");
    expect(Array.from({ length: 5 }, () => x.next())).not.toEqual(Array.from({ length: 5 }, () => y.next()));
  });

  it("draws integers uniformly within bounds", () => {
    const s = new Stream("t", 7);
    const counts = [0, 0, 0, 0, 0, 0];
    for (let i = 0; i < 60_000; i++) counts[s.int(6)]!++;
    for (const c of counts) expect(c).toBeGreaterThan(9_000);
    for (let i = 0; i < 1000; i++) {
      const r = s.range(3, 5);
      expect(r).toBeGreaterThanOrEqual(3);
      expect(r).toBeLessThanOrEqual(5);
      const f = s.float();
      expect(f).toBeGreaterThanOrEqual(0);
      expect(f).toBeLessThan(1);
    }
  });

  it("gives the broker version-4 shaped UUIDs and hex of the asked length", () => {
    const r = new SeededRandom(new Stream("broker.random", 3));
    for (let i = 0; i < 100; i++) {
      expect(r.uuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
    expect(r.hex(5)).toMatch(/^[0-9a-f]{10}$/);
  });
});

describe("trace hash", () => {
  it("depends on every line and on their order", () => {
    const h = (lines: string[]) => {
      const t = new Trace(false);
      for (const l of lines) t.add(l);
      return t.hash;
    };
    expect(h(["a", "b"])).toBe(h(["a", "b"]));
    expect(h(["a", "b"])).not.toBe(h(["b", "a"]));
    expect(h(["ab"])).not.toBe(h(["a", "b"]));
    expect(h(["a"])).toMatch(/^[0-9a-f]{16}$/);
  });

  it("keeps the recent lines for reports and all lines only when recording", () => {
    const t = new Trace(false);
    for (let i = 0; i < 100; i++) t.add(String(i));
    expect(t.last(3)).toEqual(["97", "98", "99"]);
    expect(t.lines).toBeUndefined();
    const r = new Trace(true);
    r.add("x");
    expect(r.lines).toEqual(["x"]);
  });

  it("hashes an event's value exactly as the JSON line it would write, without building it", () => {
    const value = fc.oneof(
      fc.jsonValue(),
      fc.object({
        values: [fc.string({ unit: "binary" }), fc.constant(undefined), fc.double(), fc.integer()],
      }),
      fc.array(fc.oneof(fc.constant(undefined), fc.string({ unit: "binary" }), fc.double())),
      fc.constant(undefined),
    );
    const int = fc.integer({ min: -1e6, max: Number.MAX_SAFE_INTEGER });
    const step = fc.oneof(
      fc.tuple(fc.constant("event" as const), int, fc.constantFrom("in", "out", "truth"), value),
      fc.tuple(
        fc.constant("net" as const),
        int,
        fc.string(),
        fc.string(),
        fc.string(),
        fc.oneof(int, fc.double()),
      ),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
        const fast = new Trace(false);
        const lines = new Trace(true);
        const reference = new Trace(false);
        for (const s of steps) {
          if (s[0] === "event") {
            fast.event(s[1], s[2], s[3]);
            lines.event(s[1], s[2], s[3]);
            reference.add(eventLine(s[1], s[2], s[3]));
          } else {
            fast.net(s[1], s[2], s[3], s[4], s[5]);
            lines.net(s[1], s[2], s[3], s[4], s[5]);
            reference.add(netLine(s[1], s[2], s[3], s[4], s[5]));
          }
        }
        expect(fast.hash).toBe(reference.hash);
        expect(lines.hash).toBe(reference.hash);
        expect(fast.count).toBe(steps.length);
        expect(fast.last()).toEqual(reference.last());
        expect(lines.lines).toEqual(reference.last(steps.length));
      }),
      { numRuns: 300 },
    );
  });
});

describe("network", () => {
  const setup = () => {
    const q = new EventQueue();
    const clock = new VirtualClock(0);
    const net = new Network(q, clock, new Stream("network", 1), undefined);
    const run = () => {
      for (let e = q.pop(); e; e = q.pop()) {
        clock.advanceTo(e.at);
        e.fn!();
      }
    };
    return { q, net, run };
  };

  it("keeps send order on an ordered link whatever the latency draws", () => {
    const { net, run } = setup();
    const link = net.link("ws", { ordered: true, minMs: 0, maxMs: 50 });
    const got: number[] = [];
    for (let i = 0; i < 100; i++) link.send("m", () => got.push(i));
    run();
    expect(got).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it("loses everything in flight on disconnect and parks sends while held", () => {
    const { net, run } = setup();
    const link = net.link("ws", { ordered: true, minMs: 1, maxMs: 5 });
    const got: string[] = [];
    link.send("lost", () => got.push("lost"));
    link.disconnect();
    link.hold();
    link.send("held", () => got.push("held"));
    run();
    expect(got).toEqual([]);
    link.release();
    run();
    expect(got).toEqual(["held"]);
  });

  it("applies fault decisions: drop, duplicate", () => {
    const { net, run } = setup();
    let n = 0;
    net.faults = { onSend: () => (n++ === 0 ? { drop: true } : { duplicateAfterMs: 3 }) };
    const link = net.link("api", { ordered: false, minMs: 1, maxMs: 1 });
    const got: string[] = [];
    link.send("a", () => got.push("a"));
    link.send("b", () => got.push("b"));
    run();
    expect(got).toEqual(["b", "b"]);
    expect(link.dropped).toBe(1);
  });
});
