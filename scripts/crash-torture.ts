/**
 * `npm run torture -- --seed N --kills 200`: SIGKILL the real daemon at seeded moments while the
 * stub connector streams messages to a published-SDK plugin (test/conformance/crash-torture.ts).
 * Prints the seed first (the same seed replays the same kill schedule) and the figures last;
 * exits 1 if any acked message was lost, a cursor regressed or a message was never pushed.
 */

import { parseArgs } from "node:util";
import { runCrashTorture } from "../test/conformance/crash-torture.ts";

const { values } = parseArgs({
  options: {
    seed: { type: "string" },
    kills: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
  strict: true,
});
if (values.help) {
  process.stdout.write("usage: npm run torture -- [--seed N] [--kills N]   (defaults: random seed, 200 kills)\n");
  process.exit(0);
}
const int = (name: string, v: string | undefined, dflt: number): number => {
  if (v === undefined) return dflt;
  if (!/^[0-9]+$/.test(v)) {
    process.stderr.write(`--${name} must be a non-negative integer, got ${v}\n`);
    process.exit(2);
  }
  return Number(v);
};
const seed = int("seed", values.seed, Math.floor(Math.random() * 2 ** 31));
const kills = int("kills", values.kills, 200);
process.stdout.write(`crash torture: seed ${seed}, ${kills} kills (replay: npm run torture -- --seed ${seed} --kills ${kills})\n`);
const r = await runCrashTorture({ seed, kills, log: (l) => process.stdout.write(`${l}\n`) });
process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
const bad = r.lost > 0 || r.cursorRegressions.length > 0 || r.neverPushed.length > 0;
process.stdout.write(
  `${bad ? "FAILED" : "ok"}: kills ${r.kills}, messages ${r.messages}, pushes ${r.pushes} ` +
    `(${r.duplicatePushes} duplicates), lost ${r.lost}, cursor regressions ${r.cursorRegressions.length}, ` +
    `never pushed ${r.neverPushed.length}, ${(r.wallMs / 1000).toFixed(1)} s\n`,
);
process.exit(bad ? 1 : 0);
