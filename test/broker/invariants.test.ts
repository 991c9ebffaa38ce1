/**
 * Asserts in the core: an impossible internal state throws `BrokerInvariantError`, the guard that
 * catches it answers or ends the work cleanly and counts an internal error, and the simulator
 * reports that as X1 with a rerun line. Bad external input never reaches an assert.
 */

import { afterEach, describe, expect, it, vi } from "vitest";
import { DeliveryCursor } from "../../src/broker/connector/cursor.ts";
import { Env } from "../../src/broker/env.ts";
import { HandoffGate } from "../../src/broker/inbound/handoff-gate.ts";
import { BrokerInvariantError, invariant } from "../../src/broker/invariant.ts";
import { guardReply } from "../../src/broker/ipc/dispatch.ts";
import { BrokerHttpError, Reply } from "../../src/broker/ipc/http.ts";
import { type PipelineDeps, Tasks } from "../../src/broker/inbound/task.ts";
import { NO_PLANTED_FAULTS, resolveOptions } from "../../src/broker/options.ts";
import { main } from "../../sim/runner.ts";

function env(): { env: Env; errors: string[] } {
  const random = { uuid: () => "u", int: () => 0, float: () => 0, hex: () => "00" };
  const e = new Env(resolveOptions({}), random, NO_PLANTED_FAULTS, undefined);
  const errors: string[] = [];
  e.internalError = (err, where) =>
    errors.push(`${where}: ${err instanceof Error ? err.message : String(err)}`);
  return { env: e, errors };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("invariant", () => {
  it("throws a BrokerInvariantError naming the broken state", () => {
    expect(() => invariant(false, "two owners")).toThrow(BrokerInvariantError);
    expect(() => invariant(false, "two owners")).toThrow("two owners");
    expect(() => invariant(1, "fine")).not.toThrow();
  });

  it("fires when a hand-off ticket that has not left is missing from its line", () => {
    const gate = new HandoffGate();
    gate.join("ep-1", 1);
    expect(() => gate.leave({ endpointId: "ep-1", seq: 2, go: undefined, left: false })).toThrow(
      /seq 2 is not in ep-1's line/,
    );
    const t = gate.join("ep-1", 3);
    expect(() => gate.leave(t)).not.toThrow();
    expect(gate.waiting("ep-1")).toEqual([1]);
  });
});

describe("route guards", () => {
  it("answer a bug in a route 500 and count it as an internal error", () => {
    const { env: e, errors } = env();
    const reply = new Reply(e, 7);
    guardReply(e, reply, () => invariant(false, "record without owner"));
    expect(e.outputs).toEqual([expect.objectContaining({ kind: "ipc_response", id: 7, status: 500 })]);
    expect(errors).toEqual(["ipc_route: record without owner"]);
  });

  it("answer bad input with its HTTP error and count nothing", () => {
    const { env: e, errors } = env();
    const reply = new Reply(e, 8);
    guardReply(e, reply, () => {
      throw new BrokerHttpError(400, "bad_request", "endpoint_id is required");
    });
    expect(e.outputs).toEqual([expect.objectContaining({ kind: "ipc_response", id: 8, status: 400 })]);
    expect(errors).toEqual([]);
  });

  it("answer a platform failure a route reports by throwing 500 without counting it", () => {
    const { env: e, errors } = env();
    guardReply(e, new Reply(e, 9), () => {
      throw new Error("register failed: 503");
    });
    expect(e.outputs).toEqual([expect.objectContaining({ kind: "ipc_response", id: 9, status: 500 })]);
    expect(errors).toEqual([]);
  });
});

describe("inbound task guard", () => {
  it("ends a task that hit a bug not accepted, releases its seq and counts an internal error", () => {
    const { env: e, errors } = env();
    const released: number[] = [];
    const deps = {
      env: e,
      inbox: { release: () => {} },
      cursor: { accept: () => {}, release: (s: number) => released.push(s) },
    } as unknown as PipelineDeps;
    const tasks = new Tasks(deps);
    const task = tasks.open(4, "m4");
    tasks.guard(task, () => invariant(false, "task without a destination"));
    expect(task.done).toBe(true);
    expect(released).toEqual([4]);
    expect(tasks.blocked.has(4)).toBe(true);
    expect(errors).toEqual(["inbound_task: task without a destination"]);
  });
});

describe("an assert in a simulated run", () => {
  it("is reported as X1 with a rerun line", () => {
    // A cursor that refuses to commit its own flush candidate is an impossible state.
    vi.spyOn(DeliveryCursor.prototype, "commit").mockReturnValue(false);
    const out: string[] = [];
    const code = main(["--scenario", "happy-path", "--seed", "1"], {
      out: (l) => out.push(l),
      err: (l) => out.push(l),
      progress: false,
    });
    const text = out.join("\n");
    expect(code).not.toBe(0);
    expect(text).toMatch(/FAIL happy-path seed 1: X1 \(safety\)/);
    expect(text).toMatch(/rerun: .*--scenario happy-path --seed 1/);
  });
});
