/**
 * A read-only picture of the core's state, for checkers, tests and the daemon's `/health`.
 * Building it allocates; checkers that run on every event read the core's live getters instead.
 */

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
  deadlines: string[];
  /** The armed deadlines as data: kind, the id they concern, due time (ms), in arming order. */
  timers: Array<{ timer: string; ids: string[]; atMs: number }>;
  /** Platform calls and storage ops still unanswered, with the cause that made each. */
  pendingRequests: PendingRequest[];
  pendingApiCalls: number;
  pendingStorageOps: number;
  inflightInboundTasks: number;
  queues: { undispatched: number; routed: number; presence: number; transitions: number };
  stopped: boolean;
}
