import { defineChecker } from "../checker.ts";
import { describe } from "../util.ts";

/** The published daemon's shutdown watchdog (PROTOCOL §6): it force-exits after this long. */
export const SHUTDOWN_WATCHDOG_MS = 5_000;

/**
 * L8 Shutdown completes (PROTOCOL §7.4), judged at the watchdog's deadline: a `shutdown` input must
 * be followed by the `stopped` output before `SHUTDOWN_WATCHDOG_MS` has passed. The first event at
 * or after the deadline without `stopped` is the finding; a run that ends earlier is not judged.
 * A process that crashes meanwhile is not judged either (nothing healthy is left to finish).
 */
export const L8 = defineChecker({
  id: "L8",
  kind: "liveness",
  kinds: ["start", "crash", "in", "out", "step_end", "advance", "truth", "quiescent"],
  statement: "A shutdown completes (the broker reports stopped) before the shutdown watchdog fires.",
  create() {
    let began: { t: number; event: string } | undefined;
    return {
      onEvent(ev) {
        if (ev.k === "start" || ev.k === "crash") {
          began = undefined;
          return undefined;
        }
        if (ev.k === "out" && ev.output.kind === "stopped") {
          const late = began !== undefined && ev.t - began.t >= SHUTDOWN_WATCHDOG_MS;
          const b = began;
          began = undefined;
          if (!late || b === undefined) return undefined;
          return {
            message: `shutdown took ${ev.t - b.t} ms; the watchdog fires after ${SHUTDOWN_WATCHDOG_MS} ms.`,
            involved: [b.event, describe(ev)],
          };
        }
        if (began === undefined) {
          if (ev.k === "in" && ev.input.kind === "shutdown") began = { t: ev.t, event: describe(ev) };
          return undefined;
        }
        if (ev.t - began.t < SHUTDOWN_WATCHDOG_MS) return undefined;
        const b = began;
        began = undefined;
        return {
          message: `shutdown began at t=${b.t} and had not completed ${ev.t - b.t} ms later (watchdog: ${SHUTDOWN_WATCHDOG_MS} ms).`,
          involved: [b.event, describe(ev)],
        };
      },
    };
  },
});
