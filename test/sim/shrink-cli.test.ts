import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { main } from "../../sim/runner.ts";
import { promoteCommand, shrinkCommand } from "../../sim/shrink/cli.ts";
import { readReproFile } from "../../sim/shrink/repro-file.ts";
import { captureIo } from "../support/capture-io.ts";

const codes = { pass: 0, safety: 1, usage: 2, liveness: 3 };

describe("the runner's shrink, replay and promote modes", () => {
  const dir = mkdtempSync(join(tmpdir(), "shrink-cli-"));
  const c = captureIo();
  let shrinkExit = -1;
  let file = "";
  beforeAll(() => {
    shrinkExit = shrinkCommand(
      { scenario: "happy-path", seed: 3, swarm: false, planted: ["ackBeforeHandoff"], outDir: dir },
      c.io,
      codes,
    );
    file = /repro: (\S+)/.exec(c.out.join("\n"))?.[1] ?? "";
  });

  it("--shrink reports sizes before and after and writes the repro file, named by invariant and trace hash", () => {
    expect(shrinkExit).toBe(1);
    const hash = readReproFile(file).expect.traceHash?.slice(0, 8);
    expect(file).toBe(join(dir, `happy-path-ackBeforeHandoff-seed3-S1-${hash}.json`));
    expect(c.out.join("\n")).toMatch(/before: \d+ events .* trace lines/);
    expect(c.out.join("\n")).toMatch(/after: {2}\d+ events/);
    expect(c.out.join("\n")).toContain(`rerun: npx tsx sim/runner.ts --replay ${file}`);
    expect(existsSync(file)).toBe(true);
  });

  it("--replay FILE fails with the recorded invariant and the safety exit code", () => {
    const r = captureIo();
    expect(main(["--replay", file], r.io)).toBe(1);
    expect(r.out[0]).toMatch(/^FAIL happy-path seed 3 \(replay\): S1 \(safety\)/);
    expect(r.out.join("\n")).toContain("reproduced: breaks S1, as recorded");
  });

  it("--replay of a missing file is a usage error", () => {
    const r = captureIo();
    expect(main(["--replay", join(dir, "nope.json")], r.io)).toBe(2);
    expect(r.err[0]).toMatch(/cannot read/);
  });

  it("promote copies a reproducing file into the regressions directory with its rerun line updated", () => {
    const dest = join(dir, "regressions");
    const p = captureIo();
    expect(promoteCommand(file, p.io, codes, dest)).toBe(0);
    const promoted = readReproFile(join(dest, basename(file)));
    expect(promoted.rerun).toBe(`npx tsx sim/runner.ts --replay ${join(dest, basename(file))}`);
    expect(promoted.decisions).toEqual(readReproFile(file).decisions);
  });

  it("promote refuses a file that does not reproduce its recorded outcome", () => {
    const f = JSON.parse(readFileSync(file, "utf8"));
    f.expect.invariant = "S9";
    const bad = join(dir, "wrong.json");
    writeFileSync(bad, JSON.stringify(f));
    const p = captureIo();
    expect(promoteCommand(bad, p.io, codes, join(dir, "never"))).toBe(2);
    expect(p.err[0]).toMatch(/NOT reproduced: the file records a break of S9/);
    expect(existsSync(join(dir, "never"))).toBe(false);
  });
});

describe("--shrink-for", () => {
  it("shrinks for the one invariant, and the replay file checks it alone", () => {
    const dir = mkdtempSync(join(tmpdir(), "shrink-for-"));
    const c = captureIo();
    const exit = shrinkCommand(
      {
        scenario: "happy-path",
        seed: 3,
        swarm: false,
        planted: ["ackBeforeHandoff"],
        outDir: dir,
        invariant: "S1",
      },
      c.io,
      codes,
    );
    expect(exit).toBe(1);
    const file = /repro: (\S+)/.exec(c.out.join("\n"))?.[1] ?? "";
    const repro = readReproFile(file);
    expect(repro.checkers).toEqual(["S1"]);
    expect(repro.title).toContain("checked alone: S1");
    const r = captureIo();
    expect(main(["--replay", file, "--json"], r.io)).toBe(1);
    expect(JSON.parse(r.out[0]!).checkers).toBe(1);
  });

  it("refuses an unknown invariant with a usage error", () => {
    const r = captureIo();
    expect(main(["--scenario", "happy-path", "--seed", "1", "--shrink-for", "Z9"], r.io)).toBe(2);
    expect(r.err.join("\n")).toContain('unknown invariant "Z9"');
  });
});
