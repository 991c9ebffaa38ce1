/**
 * Virtual time. The simulated world starts at a fixed epoch (so ISO timestamps in traces look like
 * real dates and are identical on every machine) and only moves forward when the kernel pops an
 * event or reaches a broker deadline.
 */

/** 2025-01-01T00:00:00.000Z: the virtual epoch every run starts at. */
export const SIM_EPOCH_MS = 1_735_689_600_000;

export class VirtualClock {
  private now: number;

  constructor(readonly startMs: number = SIM_EPOCH_MS) {
    this.now = startMs;
  }

  get nowMs(): number {
    return this.now;
  }

  /** Milliseconds since the run started. */
  get elapsedMs(): number {
    return this.now - this.startMs;
  }

  /** Move to `t`; time never goes backwards (an earlier `t` leaves the clock where it is). */
  advanceTo(t: number): void {
    if (t > this.now) this.now = t;
  }
}
