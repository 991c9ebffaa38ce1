/**
 * Every checker, in the order they run on each event: one per invariant of PROTOCOL §7 (docs/protocol.md)
 * plus checks of our own: X1 (the core never throws), X2 (bad input is refused cleanly), A4X (A4
 * across crashes), T1 (the SEND_ACK wait, both sides), T2 (every deadline armed for its configured
 * delay, never fired early, never left overdue), T3 (timer causes name a deadline that fired), A12 (adapter reports taken as reported), A13
 * (a restore takes only its endpoint's unaccepted assignments), A14 (a local dispatch does what it
 * names), A15 (a final adapter state ends the assignment), A16 (a record the reattach drain
 * delivered leaves the buffer), A17 (a push without receipt is the hand-off), A18 (a reattach's
 * answer tells what its drain delivered), A20 (platform answers reach the plugin), A21 (heartbeats
 * follow the register answer), A22 (replies go out only through active endpoints), M1 (outbound
 * trace and require_live metadata), M2 (a connector ERROR settles only the send it names), X3
 * (every IPC error answer is the §3.1 envelope) and L12 (projections reach the platform).
 *
 * Not checked here: I1 (authentication). It happens in the IPC server before a request becomes a
 * core input, and the simulator drives the core without that server; test/daemon/security.test.ts
 * covers it over real sockets, and test/conformance/ for the published daemon.
 */

import type { CheckerDef } from "./checker.ts";
import { LIVENESS_CHECKERS } from "./liveness/index.ts";
import { A1 } from "./safety/a1-sequence-monotonicity.ts";
import { A10 } from "./safety/a10-no-silent-inbox-loss.ts";
import { A11 } from "./safety/a11-exclusivity.ts";
import { A12 } from "./safety/a12-adapter-reports-as-reported.ts";
import { A13 } from "./safety/a13-restore-scope.ts";

import { A14 } from "./safety/a14-local-dispatch.ts";
import { A15 } from "./safety/a15-final-state-ends-assignment.ts";
import { A16 } from "./safety/a16-drained-records-leave-buffer.ts";
import { A17 } from "./safety/a17-receiptless-push-hands-off.ts";
import { A18 } from "./safety/a18-reattach-answer.ts";
import { A2 } from "./safety/a2-broker-ownership.ts";
import { A20 } from "./safety/a20-platform-answers-passed-on.ts";
import { A21 } from "./safety/a21-heartbeat-schedule.ts";
import { A22 } from "./safety/a22-replies-need-active-endpoint.ts";
import { A3 } from "./safety/a3-reply-ordering.ts";
import { A4_ACROSS_CRASHES } from "./safety/a4-across-crashes.ts";
import { A4 } from "./safety/a4-single-wire-send.ts";
import { A5 } from "./safety/a5-stable-identity.ts";
import { A6 } from "./safety/a6-accepted-before-reply.ts";
import { A7 } from "./safety/a7-idempotency-conflict.ts";
import { A8 } from "./safety/a8-token-discipline.ts";
import { A9 } from "./safety/a9-dispatch-idempotency.ts";
import { E1 } from "./safety/e1-state-machine.ts";
import { E2 } from "./safety/e2-grace-timer.ts";
import { E3 } from "./safety/e3-after-removal.ts";
import { E4 } from "./safety/e4-transition-order.ts";
import { I2 } from "./safety/i2-ownership.ts";
import { I3 } from "./safety/i3-push-receipts.ts";
import { M1 } from "./safety/m1-outbound-metadata.ts";
import { M2 } from "./safety/m2-connector-error-frames.ts";
import { R1 } from "./safety/r1-destination-exclusivity.ts";
import { R2 } from "./safety/r2-claim-before-push.ts";
import { R3 } from "./safety/r3-state-appropriate-delivery.ts";
import { R4 } from "./safety/r4-continuation-routing.ts";
import { R5 } from "./safety/r5-per-endpoint-order.ts";
import { S1 } from "./safety/s1-ack-soundness.ts";
import { S2 } from "./safety/s2-monotonicity.ts";
import { S3 } from "./safety/s3-persist-after-ack.ts";
import { S4 } from "./safety/s4-no-phantom-ack.ts";
import { S5 } from "./safety/s5-duplicate-suppression.ts";
import { S6 } from "./safety/s6-scope-isolation.ts";
import { S7 } from "./safety/s7-release-before-redelivery.ts";
import { S8 } from "./safety/s8-gap-fill-argument.ts";
import { T1 } from "./safety/t1-send-ack-wait.ts";
import { T2 } from "./safety/t2-deadline-bounds.ts";
import { T3 } from "./safety/t3-timer-causes.ts";
import { X1 } from "./safety/x1-core-never-throws.ts";
import { X2 } from "./safety/x2-bad-input.ts";
import { X3 } from "./safety/x3-error-envelope.ts";

export const SAFETY_CHECKERS: CheckerDef[] = [
  X1,
  S1,
  S2,
  S3,
  S4,
  S5,
  S6,
  S7,
  S8,
  R1,
  R2,
  R3,
  R4,
  R5,
  E1,
  E2,
  E3,
  E4,
  I2,
  I3,
  A1,
  A2,
  A3,
  A4,
  A4_ACROSS_CRASHES,
  A5,
  A6,
  A7,
  A8,
  A9,
  A10,
  A11,
  A12,
  A13,

  A14,
  A15,
  A16,
  A17,
  A18,
  A20,
  A21,
  A22,
  M1,
  M2,
  T1,
  T2,
  T3,
  X2,
  X3,
];

export const ALL_CHECKERS: CheckerDef[] = [...SAFETY_CHECKERS, ...LIVENESS_CHECKERS];

export function checkerById(id: string): CheckerDef | undefined {
  return ALL_CHECKERS.find((c) => c.id === id);
}
