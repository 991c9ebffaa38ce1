/**
 * Liveness checkers (PROTOCOL §7.4, L1–L6) run in the liveness phase that follows the safety phase
 * once faults are healed (issue 5). Each will be a `CheckerDef` with `kind: "liveness"`; a finding
 * makes the runner exit 3.
 */

import type { CheckerDef } from "../checker.ts";

export const LIVENESS_CHECKERS: CheckerDef[] = [];
