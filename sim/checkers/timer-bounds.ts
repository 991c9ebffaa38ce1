/**
 * Tolerances of the timer upper bounds. A deadline that fires early and one that fires late are
 * both violations; "late" is judged against the configured value plus the tolerance here.
 *
 * Derivation (PROTOCOL §6): every timer is given in whole milliseconds and the shortest one a
 * checker bounds is the push receipt timeout (2 000 ms). The simulator's kernel runs a due deadline
 * at its due instant, before any other event of that instant, so the reference needs no tolerance
 * beyond timestamps' millisecond resolution; a foreign target runs its timers on a fake clock that
 * the world advances to each due time. The tolerance allows one such advance to round up, and stays
 * at half the shortest §6 timer so a timer that waits a whole extra period is always caught.
 *
 * Bounds are judged when a deadline run ends (the step that follows an `advance`): after a forward
 * clock jump, events queued before the jump are handled before the overdue deadlines run, so an
 * ordinary step at a late time proves nothing about the timers.
 */
export const DEADLINE_TOLERANCE_MS = 1_000;
