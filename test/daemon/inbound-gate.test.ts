import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Input } from "../../src/broker/types.ts";
import { InboundGate } from "../../src/daemon/inbound-gate.ts";

/** A fake core: every frame starts a task; `finish(n)` ends the n oldest tasks. */
function setup(max: number, pauseAt = 4, resumeAt = 2) {
  const fed: Input[] = [];
  const running: string[] = [];
  const socket = { paused: false, pauses: 0 };
  const gate = new InboundGate(
    {
      inflight: () => running.length,
      feed: (i) => {
        fed.push(i);
        if (i.kind === "connector_frame") running.push(i.text);
      },
      pause: () => {
        socket.paused = true;
        socket.pauses++;
      },
      resume: () => {
        socket.paused = false;
      },
    },
    { maxInboundTasksInFlight: max, pauseAtFrames: pauseAt, resumeAtFrames: resumeAt },
  );
  const frame = (text: string): Input => ({ kind: "connector_frame", text });
  const finish = (n: number) => {
    running.splice(0, n);
    gate.pump();
  };
  const texts = () => fed.map((i) => (i.kind === "connector_frame" ? i.text : i.kind));
  return { gate, fed, running, socket, frame, finish, texts };
}

describe("inbound gate", () => {
  it("hands frames over at once while the core has room", () => {
    const g = setup(2);
    g.gate.input(g.frame("a"));
    g.gate.input(g.frame("b"));
    expect(g.texts()).toEqual(["a", "b"]);
    expect(g.gate.size).toBe(0);
  });

  it("holds frames beyond the cap and hands them over in arrival order as tasks finish", () => {
    const g = setup(2, 100, 50);
    for (const t of ["a", "b", "c", "d", "e"]) g.gate.input(g.frame(t));
    expect(g.texts()).toEqual(["a", "b"]);
    expect(g.gate.size).toBe(3);
    g.finish(1);
    expect(g.texts()).toEqual(["a", "b", "c"]);
    g.finish(2);
    expect(g.texts()).toEqual(["a", "b", "c", "d", "e"]);
    expect(g.gate.stats.waited).toBe(3);
  });

  it("keeps every later input behind waiting frames except the socket's close, which drops them", () => {
    const g = setup(1, 100, 50);
    g.gate.input(g.frame("a"));
    g.gate.input(g.frame("b"));
    g.gate.input({ kind: "connector_closed", code: 1006, reason: "" });
    expect(g.texts()).toEqual(["a", "connector_closed"]);
    expect(g.gate.size).toBe(0);
    expect(g.gate.stats.dropped).toBe(1);
    g.finish(1);
    expect(g.texts()).toEqual(["a", "connector_closed"]);
  });

  it("pauses the socket when many frames wait and resumes it once few do", () => {
    const g = setup(1, 4, 2);
    for (const t of ["a", "b", "c", "d", "e"]) g.gate.input(g.frame(t));
    expect(g.socket.paused).toBe(true);
    g.finish(1);
    expect(g.socket.paused).toBe(true);
    g.finish(1);
    expect(g.socket.paused).toBe(false);
    expect(g.socket.pauses).toBe(1);
  });

  it("never exceeds the cap and hands over every frame exactly once, in order", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.oneof(fc.constant("frame" as const), fc.integer({ min: 1, max: 3 })), { maxLength: 80 }),
        (max, steps) => {
          const g = setup(max, 3, 1);
          let n = 0;
          for (const s of steps) {
            if (s === "frame") g.gate.input(g.frame(String(n++)));
            else g.finish(s);
            expect(g.running.length).toBeLessThanOrEqual(max);
          }
          while (g.gate.size > 0) g.finish(max);
          expect(g.texts()).toEqual(Array.from({ length: n }, (_, i) => String(i)));
          expect(g.socket.paused).toBe(false);
        },
      ),
    );
  });

  it("refuses a cap that is not a positive integer", () => {
    expect(() => setup(0)).toThrow(/maxInboundTasksInFlight must be a positive integer/);
  });
});
