/**
 * The command a printed `rerun:` line starts with. Inside this repository the harness runs from its
 * TypeScript sources (`npx tsx sim/runner.ts …`); from an installed package it runs compiled
 * JavaScript, and the line must work pasted into the user's own repository, so it names the
 * package's CLI (`npx broker-sim sim …`). Every rerun line the harness prints is built here.
 */

/** True when this module is compiled JavaScript (the installed package), false under tsx. */
export const RUNNING_COMPILED = import.meta.url.endsWith(".js");

/** Runs scenarios: followed by the runner's flags (`--scenario X --seed 7 …`). */
export const RUNNER_COMMAND = RUNNING_COMPILED ? "npx broker-sim sim" : "npx tsx sim/runner.ts";

/** Replays a repro file: followed by its path. */
export const REPLAY_COMMAND = RUNNING_COMPILED ? "npx broker-sim replay" : "npx tsx sim/runner.ts --replay";
