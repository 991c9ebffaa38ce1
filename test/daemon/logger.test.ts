import { describe, expect, it } from "vitest";
import { Logger, MemoryLogWriter } from "../../src/daemon/logger.ts";

describe("the JSON-lines logger", () => {
  it("writes one JSON object per line with ts, level, event and fields", () => {
    const out = new MemoryLogWriter();
    new Logger({ stream: out, now: () => 0 }).info("endpoint_registered", { endpoint_id: "ep-1" });
    expect(out.lines).toEqual([
      '{"ts":"1970-01-01T00:00:00.000Z","level":"info","event":"endpoint_registered","endpoint_id":"ep-1"}\n',
    ]);
  });

  it("drops lines below the configured level", () => {
    const out = new MemoryLogWriter();
    const log = new Logger({ stream: out, level: "warn" });
    log.debug("a");
    log.info("b");
    log.warn("c");
    log.error("d");
    expect(out.events().map((e) => e.event)).toEqual(["c", "d"]);
  });

  it("serialises errors and survives fields that JSON cannot hold", () => {
    const out = new MemoryLogWriter();
    const log = new Logger({ stream: out });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    log.error("boom", { error: new Error("bad"), big: 10n });
    log.error("cycle", { cyclic });
    const [a, b] = out.events();
    expect(a).toMatchObject({ event: "boom", error: { message: "bad" }, big: "10" });
    expect(b).toMatchObject({ event: "cycle" });
    expect(typeof b!.log_error).toBe("string");
  });

  it("never throws when the stream does", () => {
    const log = new Logger({
      stream: {
        write: () => {
          throw new Error("closed");
        },
      },
    });
    expect(() => log.error("x")).not.toThrow();
  });
});
