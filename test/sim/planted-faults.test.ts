/**
 * Planted faults (src/broker/options.ts `PlantedFaults`): a sweep of the right scenario with one
 * test-only broker bug planted fails with the invariant that bug breaks, and the printed `rerun:`
 * line, run as given, reproduces the same invariant.
 */

import { describe, expect, it } from "vitest";
import type { PlantedFaults } from "../../src/broker/options.ts";
import { EXIT_SAFETY, EXIT_USAGE, main, PLANTED_FAULT_NAMES, parseCli } from "../../sim/runner.ts";

function runMain(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = main(argv, { out: (l) => out.push(l), err: (l) => err.push(l), progress: false });
  return { code, out, err };
}

interface Case {
  fault: keyof PlantedFaults;
  scenario: string;
  /** Invariants the bug may break first. */
  invariants: string[];
}

const CASES: Case[] = [
  { fault: "ackBeforeHandoff", scenario: "happy-path", invariants: ["S1"] },
  { fault: "persistBeforeAck", scenario: "happy-path", invariants: ["S3"] },
  { fault: "forgetReplyRecords", scenario: "conflicting-replies", invariants: ["A3", "A4", "A5", "A7"] },
  { fault: "noDuplicateSuppression", scenario: "duplicate-deliveries", invariants: ["S5"] },
  { fault: "silentInboxLoss", scenario: "capacity-reinsertion", invariants: ["A10"] },
  // Needs a platform that records stale sequences instead of answering 409 (the scenario's
  // `sequenceCheck: "accept"`) and adapters that report them; otherwise A1 cannot break.
  { fault: "noSequenceGuard", scenario: "stale-sequences", invariants: ["A1"] },
];

describe("planted faults", () => {
  it.each(CASES)(
    "a sweep of $scenario catches $fault and its rerun line reproduces it",
    ({ fault, scenario, invariants }) => {
      const sweep = runMain(["--scenario", scenario, "--seeds", "1..3", "--plant", fault]);
      expect(sweep.code).toBe(EXIT_SAFETY);
      const fail = sweep.out.find((l) => l.startsWith("FAIL "));
      expect(fail).toBeDefined();
      const invariant = / seed \d+: (\w+) \(/.exec(fail!)![1]!;
      expect(invariants).toContain(invariant);
      const rerun = sweep.out.find((l) => l.trim().startsWith("rerun: "))!.trim();
      expect(rerun).toContain(`--plant ${fault}`);

      const args = rerun.replace(/^rerun: npx tsx sim\/runner\.ts /, "").split(" ");
      const again = runMain(args);
      expect(again.code).toBe(EXIT_SAFETY);
      const failAgain = again.out.find((l) => l.startsWith("FAIL "))!;
      expect(/ seed \d+: (\w+) \(/.exec(failAgain)![1]).toBe(invariant);
      expect(failAgain).toBe(fail);
    },
    120_000,
  );

  it("passes the same sweeps with nothing planted", () => {
    for (const { scenario } of CASES) {
      expect(runMain(["--scenario", scenario, "--seeds", "1..3", "--no-coverage"]).code).toBe(0);
    }
  }, 120_000);
});

describe("--plant", () => {
  it("takes comma-separated names and the repeatable --planted-fault, sorted and deduplicated", () => {
    const o = parseCli([
      "--plant",
      "persistBeforeAck,ackBeforeHandoff",
      "--planted-fault",
      "persistBeforeAck",
    ]);
    expect(o.planted).toEqual(["ackBeforeHandoff", "persistBeforeAck"]);
  });

  it("rejects an unknown planted fault with exit 2 and the list of known ones", () => {
    const r = runMain(["--plant", "ackBeforeHandof"]);
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.err.join("\n")).toMatch(/unknown planted fault "ackBeforeHandof"; known: ackBeforeHandoff,/);
    expect(PLANTED_FAULT_NAMES).toHaveLength(7);
  });
});
