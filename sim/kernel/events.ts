/**
 * What checkers and the trace see: every core input and output, the boundaries of each core step,
 * broker starts and crashes, facts the simulated actors record as ground truth, and the final
 * quiescence point where end-of-run invariants are checked.
 */

import type { DeadlineChange } from "../../src/broker/deadline-kinds.ts";
import type { BrokerOptions } from "../../src/broker/options.ts";
import type { BrokerSnapshot } from "../../src/broker/snapshot.ts";
import type { Input, Output } from "../../src/broker/types.ts";

/** Ground truth recorded by the actors (the platform, storage, plugins). */
export type Fact =
  /** The connector server wrote MESSAGE_RECEIVED (or DELIVERY_SKIP) for `seq` on the broker's socket. */
  | { f: "server_sent"; seq: number; messageId: string; skip: boolean }
  /** The connector server received DELIVERY_ACK(upToSeq). */
  | { f: "server_acked"; upToSeq: number }
  /** The connector server received REQUEST_GAP_FILL(sinceSeq). */
  | { f: "server_gap_fill"; sinceSeq: number }
  /** Storage made `value` the durable cursor. */
  | { f: "cursor_persisted"; value: number }
  /** A plugin acked a push on its socket (the frame is on the wire back to the broker). */
  | { f: "plugin_push_acked"; pid: number; pushId: string }
  /** A plugin gave up on a reply (e.g. outcome unknown): liveness checkers must not wait for it. */
  | { f: "plugin_reply_abandoned"; assignmentId: string; reason: string }
  /** A plugin drew its next step after an answer to its reply (docs/world-model.md). */
  | {
      f: "plugin_answer_choice";
      pid: number;
      assignmentId: string;
      status: number;
      code: string;
      action: string;
    }
  /** The liveness phase begins: faults are healed and the world must converge within `budgetMs`. */
  | { f: "liveness_begin"; budgetMs: number }
  /**
   * The liveness phase ended (then `quiescent` follows); `head` is the highest seq the platform has
   * for the broker's stream, the ground truth L1 judges the cursor against.
   */
  | { f: "liveness_end"; head: number };

export type SimEvent =
  /** A core input, recorded just before `handle`. */
  | { k: "in"; t: number; input: Input }
  /** A core output, in the order the core produced it. */
  | { k: "out"; t: number; output: Output }
  /** The kernel called `advance` because a broker deadline was due; its outputs follow. */
  | { k: "advance"; t: number }
  /**
   * All outputs of the preceding input or advance have been seen. `deadlines`: what the step did
   * to the target's deadlines, in order (targets with the `causes` capability; absent otherwise).
   */
  | { k: "step_end"; t: number; internalErrors: number; deadlines?: DeadlineChange[] }
  /** A new broker process started (incarnation 1 is the first). */
  | { k: "start"; t: number; incarnation: number; initialCursor: number; options: BrokerOptions }
  /** The broker process died (no more outputs from this incarnation). */
  | { k: "crash"; t: number; incarnation: number }
  | { k: "truth"; t: number; fact: Fact }
  /** End of the run: the world stopped; `snapshot` is the core's state if it can produce one. */
  | { k: "quiescent"; t: number; snapshot: BrokerSnapshot | undefined };
