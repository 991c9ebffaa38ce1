import FakeTimers from "@sinonjs/fake-timers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BrokerCore } from "../../src/broker/broker.ts";
import type { Input, Output } from "../../src/broker/types.ts";
import { Driver, type DriverPorts } from "../../src/daemon/driver.ts";
import { CountingRandom } from "../support/random.ts";
import { armTestDeadline, clearTestDeadline } from "../support/test-deadlines.ts";

const T0 = 1_700_000_000_000;
/** An input the core only logs (a storage result for an id it never issued): it just re-arms the timer. */
const HARMLESS: Input = { kind: "storage_result", id: 999_999, ok: true };
/** Deadlines judged as soon as their timer fires (the I/O grace has its own tests below). */
const NO_GRACE = { ioGrace: (judge: () => void) => judge() };

/** Ports that record what the driver performed, in order. */
function recordingPorts(): { ports: DriverPorts; done: Array<Output["kind"]> } {
  const done: Array<Output["kind"]> = [];
  const ports: DriverPorts = {
    connectorConnect: () => done.push("connector_connect"),
    connectorSend: () => done.push("connector_send"),
    connectorClose: () => done.push("connector_close"),
    api: () => done.push("api_call"),
    storage: () => done.push("storage"),
    ipcRespond: () => done.push("ipc_response"),
    ipcPush: () => done.push("ipc_push"),
    ipcCloseChannel: () => done.push("ipc_close_channel"),
    controlAck: () => done.push("control_ack"),
    stopped: () => done.push("stopped"),
  };
  return { ports, done };
}

describe("the driver loop", () => {
  let clock: ReturnType<typeof FakeTimers.install>;
  beforeEach(() => {
    clock = FakeTimers.install({ now: T0, toFake: ["setTimeout", "clearTimeout", "Date"] });
  });
  afterEach(() => clock.uninstall());

  it("calls the core at its next deadline with the wall-clock time", () => {
    const core = new BrokerCore({ random: new CountingRandom() });
    const { ports, done } = recordingPorts();
    const driver = new Driver(core, ports, NO_GRACE);
    const fired: number[] = [];
    armTestDeadline(core.env, "test:a", T0 + 1_000, () => {
      fired.push(core.env.nowMs);
      core.env.emit({ kind: "connector_connect" });
    });
    driver.feed(HARMLESS); // any input re-arms the timer
    expect(driver.armedAt).toBe(T0 + 1_000);
    clock.tick(999);
    expect(fired).toEqual([]);
    clock.tick(1);
    expect(fired).toEqual([T0 + 1_000]);
    expect(done).toContain("connector_connect");
    expect(driver.armedAt).toBeUndefined();
    driver.dispose();
  });

  it("re-arms for deadlines armed by an expiring deadline and runs them in order", () => {
    const core = new BrokerCore({ random: new CountingRandom() });
    const driver = new Driver(core, recordingPorts().ports, NO_GRACE);
    const order: string[] = [];
    armTestDeadline(core.env, "first", T0 + 500, () => {
      order.push("first");
      armTestDeadline(core.env, "second", core.env.nowMs + 2_000, () => order.push("second"));
    });
    armTestDeadline(core.env, "third", T0 + 10_000, () => order.push("third"));
    driver.feed(HARMLESS);
    clock.tick(500);
    expect(driver.armedAt).toBe(T0 + 2_500);
    clock.tick(10_000);
    expect(order).toEqual(["first", "second", "third"]);
    driver.dispose();
  });

  it("keeps one timer: a nearer deadline replaces the armed one", () => {
    const core = new BrokerCore({ random: new CountingRandom() });
    const driver = new Driver(core, recordingPorts().ports, NO_GRACE);
    armTestDeadline(core.env, "far", T0 + 60_000, () => {});
    driver.feed(HARMLESS);
    expect(driver.armedAt).toBe(T0 + 60_000);
    armTestDeadline(core.env, "near", T0 + 100, () => {});
    driver.feed(HARMLESS);
    expect(driver.armedAt).toBe(T0 + 100);
    expect(clock.countTimers()).toBe(1);
    driver.dispose();
    expect(clock.countTimers()).toBe(0);
  });

  it("never hands the core a time earlier than one it already saw", () => {
    const core = new BrokerCore({ random: new CountingRandom() });
    const driver = new Driver(core, recordingPorts().ports, NO_GRACE);
    driver.feed(HARMLESS);
    clock.setSystemTime(T0 - 60_000);
    expect(driver.now()).toBe(T0);
    driver.dispose();
  });

  it("queues inputs fed while outputs are being performed instead of re-entering the core", () => {
    const core = new BrokerCore({ random: new CountingRandom() });
    const seen: string[] = [];
    let driver!: Driver;
    const { ports } = recordingPorts();
    ports.storage = (id) => {
      seen.push(`storage ${id}`);
      driver.feed({ kind: "storage_result", id, ok: true });
      seen.push(`after feed ${id}`);
    };
    driver = new Driver(core, ports, NO_GRACE);
    armTestDeadline(core.env, "write", T0 + 10, () =>
      core.env.storage({ op: "write_cursor", lastKnownSeq: 1 }, () => seen.push("cb")),
    );
    driver.feed(HARMLESS);
    clock.tick(10);
    expect(seen).toEqual(["storage 1", "after feed 1", "cb"]);
    driver.dispose();
  });

  it("survives a port that throws and still performs the following outputs", () => {
    const core = new BrokerCore({ random: new CountingRandom() });
    const { ports, done } = recordingPorts();
    ports.connectorConnect = () => {
      throw new Error("boom");
    };
    const driver = new Driver(core, ports, NO_GRACE);
    armTestDeadline(core.env, "x", T0 + 1, () => {
      core.env.emit({ kind: "connector_connect" });
      core.env.emit({ kind: "stopped" });
    });
    driver.feed(HARMLESS);
    clock.tick(1);
    expect(done).toEqual(["stopped"]);
    expect(driver.stats.performErrors).toBe(1);
    driver.dispose();
  });

  it("ignores inputs after dispose and leaves no timer behind", () => {
    const core = new BrokerCore({ random: new CountingRandom() });
    const driver = new Driver(core, recordingPorts().ports, NO_GRACE);
    armTestDeadline(core.env, "x", T0 + 1_000, () => {});
    driver.dispose();
    driver.feed({ kind: "start" });
    expect(driver.stats.inputs).toBe(0);
    expect(clock.countTimers()).toBe(0);
  });

  it("drives the real core's REGISTER_ACK timeout off the wall clock", () => {
    const core = new BrokerCore({ random: new CountingRandom(), options: { connectorToken: "t" } });
    const performed: Output[] = [];
    const { ports } = recordingPorts();
    ports.connectorSend = (frame) => performed.push({ kind: "connector_send", frame });
    ports.connectorClose = (code, reason) => performed.push({ kind: "connector_close", code, reason });
    const driver = new Driver(core, ports, NO_GRACE);
    driver.feed({ kind: "start" });
    driver.feed({ kind: "connector_open" });
    expect(performed.map((o) => o.kind)).toEqual(["connector_send"]);
    clock.tick(14_999);
    expect(performed).toHaveLength(1);
    clock.tick(1);
    expect(performed[1]).toEqual({ kind: "connector_close", code: 4000, reason: "Register timeout" });
    driver.dispose();
  });

  it("judges a due deadline only after the input that arrived while it was due", () => {
    const core = new BrokerCore({ random: new CountingRandom() });
    const graces: Array<() => void> = [];
    const driver = new Driver(core, recordingPorts().ports, { ioGrace: (judge) => graces.push(judge) });
    const fired: string[] = [];
    armTestDeadline(core.env, "receipt:p1", T0 + 2_000, () => fired.push("receipt timeout"));
    driver.feed(HARMLESS);
    clock.tick(2_000);
    expect(graces).toHaveLength(1);
    expect(fired).toEqual([]);
    // The answer was already in the socket: it settles the deadline before the verdict.
    clearTestDeadline(core.env, "receipt:p1");
    driver.feed(HARMLESS);
    expect(clock.countTimers()).toBe(0);
    graces.shift()!();
    expect(fired).toEqual([]);
    expect(driver.stats.advances).toBe(0);
    driver.dispose();
  });

  it("fires a deadline nothing settled once its grace is over, and arms no second timer meanwhile", () => {
    const core = new BrokerCore({ random: new CountingRandom() });
    const graces: Array<() => void> = [];
    const driver = new Driver(core, recordingPorts().ports, { ioGrace: (judge) => graces.push(judge) });
    const fired: number[] = [];
    armTestDeadline(core.env, "receipt:p1", T0 + 2_000, () => fired.push(core.env.nowMs));
    armTestDeadline(core.env, "later", T0 + 5_000, () => fired.push(-1));
    driver.feed(HARMLESS);
    clock.tick(2_000);
    driver.feed(HARMLESS);
    expect(driver.armedAt).toBeUndefined();
    clock.tick(50);
    graces.shift()!();
    expect(fired).toEqual([T0 + 2_050]);
    expect(driver.armedAt).toBe(T0 + 5_000);
    driver.dispose();
  });
});

describe("the default I/O grace of a deadline", () => {
  it("reads a socket answer that arrived while the process could not run before calling the deadline missed", async () => {
    const { createServer, connect } = await import("node:net");
    const { ioTimeoutSignal } = await import("../../src/daemon/io-deadline.ts");
    const server = createServer((s) => s.on("data", () => s.write("answer")));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as { port: number }).port;
    const sock = connect(port, "127.0.0.1");
    await new Promise<void>((r) => sock.once("connect", () => r()));
    let answered = false;
    sock.on("data", () => {
      answered = true;
      timeout.done();
    });
    const timeout = ioTimeoutSignal(20);
    sock.write("question");
    // Starve this process past the timeout: the answer arrives meanwhile, unread.
    const until = Date.now() + 200;
    while (Date.now() < until) {}
    await new Promise((r) => setTimeout(r, 100));
    expect(answered).toBe(true);
    expect(timeout.signal.aborted).toBe(false);
    sock.destroy();
    server.close();
  });
});
