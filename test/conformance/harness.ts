/**
 * What the conformance tests import: the world (world.ts) plus `conforms`, the per-target choice
 * between a plain test and a pinned expected failure.
 */

import { it } from "vitest";
import { TARGET, type Target } from "./world.ts";

export * from "./world.ts";

/**
 * `it`, or `it.fails` where the target is known not to conform (docs/conformance.md lists each
 * case). A known failure that starts passing fails the run, so a change on either side is noticed.
 * `CONFORMANCE_SHOW_FAILURES=1` runs every test plainly, to see what a known failure does.
 */
export function conforms(
  name: string,
  known: { failsOn?: Target[] },
  fn: () => Promise<void>,
  timeoutMs = 20_000,
): void {
  if (known.failsOn?.includes(TARGET) && process.env.CONFORMANCE_SHOW_FAILURES !== "1") {
    it.fails(name, fn, timeoutMs);
  } else it(name, fn, timeoutMs);
}
