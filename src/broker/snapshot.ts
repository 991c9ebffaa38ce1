/**
 * A read-only picture of the core's state, for checkers, tests and the daemon's `/health`.
 * Building it allocates; checkers that run on every event read the core's live getters instead.
 */

import type { ArmedDeadline } from "./deadline-kinds.ts";
import type { PendingRequest } from "./env.ts";

export interface BrokerSnapshot {
  connector: {
    socketOpen: boolean;
    registered: boolean;
    committedSeq: number;
    acceptedGaps: number[];
    pendingPayloadIds: number;
    seenPayloadIds: number;
  };
  presence: "offline" | "online" | "reconnecting";
  endpoints: Array<{
    endpointId: string;
    state: "active" | "reconnecting";
    pid: number;
    channel: number;
    bufferCount: number;
  }>;
  inbox: { size: number; capacity: number; ids: string[] };
  assignments: Array<{
    key: string;
    assignmentId: string;
    undispatchedId: string;
    targetEndpointId: string;
    accepted: boolean;
    lastStateSequence: number;
  }>;
  /** The armed deadlines as data (kind and ids, deadline-kinds.ts) with due times, in arming order. */
  deadlines: ArmedDeadline[];
  /** Platform calls and storage ops still unanswered, with the cause that made each. */
  pendingRequests: PendingRequest[];
  pendingApiCalls: number;
  pendingStorageOps: number;
  inflightInboundTasks: number;
  queues: { undispatched: number; routed: number; presence: number; transitions: number };
  stopped: boolean;
}
