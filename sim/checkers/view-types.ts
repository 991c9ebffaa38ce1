/** Record types of the checkers' `View`, and two small helpers checkers share. */

import type { ApiArgs, ApiOp } from "../../src/broker/api.ts";
import type { Cause, PushEnvelope, RuntimeAssignmentRef } from "../../src/broker/types.ts";

export interface ApiCallRecord {
  id: number;
  op: ApiOp;
  args: ApiArgs[ApiOp];
  /** Why the target made the call (absent for a target that exposes no causes). */
  cause: Cause | undefined;
  /** The message of the pipeline task that made the call; undefined for work of no task. */
  task: string | undefined;
  t: number;
}

export interface IpcRequestRecord {
  id: number;
  method: string;
  path: string;
  body: Record<string, unknown>;
  t: number;
}

export interface ChannelInfo {
  pid: number;
  receipts: boolean;
  open: boolean;
  displaced: boolean;
}

export interface PushRecord {
  channel: number;
  envelope: PushEnvelope;
  t: number;
  /** The message of the pipeline task that pushed; undefined for a reattach drain's push. */
  task: string | undefined;
}

export interface EndpointModel {
  id: string;
  pid: number;
  channel: number | undefined;
  state: "active" | "reconnecting" | "closed";
  sinceT: number;
  capabilities: string[];
  mode: string | undefined;
  headless: boolean;
  /** Correlation ring (outbound correlation ids), FIFO. */
  ring: string[];
  ringSet: Set<string>;
}

export interface MessageInfo {
  seq: number | undefined;
  metadata: Record<string, unknown>;
}

/** The idempotency key of an assignment reply (PROTOCOL §5.7, minus the source message id). */
export function replyKey(assignmentId: unknown, replyRequestId: unknown): string {
  return `${String(assignmentId)}|${String(replyRequestId)}`;
}

/** Does this push carry an assignment (dispatch) rather than a routed inbound message? */
export function isAssignmentPush(
  env: PushEnvelope,
): env is PushEnvelope & { runtimeAssignment: RuntimeAssignmentRef } {
  return env.runtimeAssignment !== undefined;
}
