/**
 * Liveness checkers (PROTOCOL §7.4, L1–L9, plus L10, L11 and L12). They judge the liveness phase that follows the safety
 * phase once faults are healed (sim/run.ts): L2 online on every REQUEST_GAP_FILL, the others at the
 * end of the convergence budget. A finding makes the runner exit 3.
 */

import type { CheckerDef } from "../checker.ts";
import { L1 } from "./l1-ack-progress.ts";
import { L10 } from "./l10-bounded-control-traffic.ts";
import { L11 } from "./l11-control-events-answered.ts";
import { L12 } from "./l12-projections-reach-platform.ts";
import { L2 } from "./l2-bounded-gap-requests.ts";
import { L3 } from "./l3-assignment-resolution.ts";
import { L4 } from "./l4-grace-closure.ts";
import { L5 } from "./l5-no-stranded-buffer.ts";
import { L6 } from "./l6-reply-emitted.ts";
import { L7 } from "./l7-presence-convergence.ts";
import { L8 } from "./l8-shutdown-completes.ts";
import { L9 } from "./l9-end-to-end-delivery.ts";

export const LIVENESS_CHECKERS: CheckerDef[] = [L1, L2, L3, L4, L5, L6, L7, L8, L9, L10, L11, L12];
