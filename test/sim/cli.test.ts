import { describe, expect, it } from "vitest";
import { CLI_USAGE, cli } from "../../sim/cli.ts";
import { EXIT_PASS, EXIT_USAGE } from "../../sim/runner.ts";

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

describe("the broker-sim command", () => {
  it("prints its usage for help and exits 0", async () => {
    for (const word of ["help", "--help", "-h"]) {
      const t = io();
      expect(await cli([word], t.io)).toBe(EXIT_PASS);
      expect(t.out).toEqual([CLI_USAGE]);
    }
  });

  it("names every command in its usage", () => {
    for (const c of ["sim", "shrink", "replay", "export", "platform"]) expect(CLI_USAGE).toContain(`  ${c} `);
  });

  it("rejects a missing or unknown command with the usage and exit code 2", async () => {
    const none = io();
    expect(await cli([], none.io)).toBe(EXIT_USAGE);
    expect(none.err[0]).toBe("error: no command given");
    const unknown = io();
    expect(await cli(["sweep"], unknown.io)).toBe(EXIT_USAGE);
    expect(unknown.err[0]).toBe('error: unknown command "sweep"');
    expect(unknown.err[1]).toBe(CLI_USAGE);
  });

  it("asks for the repro file when replay has none", async () => {
    for (const args of [["replay"], ["replay", "--json"]]) {
      const t = io();
      expect(await cli(args, t.io)).toBe(EXIT_USAGE);
      expect(t.err).toEqual(["error: replay needs the repro file: broker-sim replay FILE"]);
    }
  });

  it("hands sim its flags: a bad flag is the runner's usage error", async () => {
    expect(await cli(["sim", "--no-such-flag"])).toBe(EXIT_USAGE);
  });
});
