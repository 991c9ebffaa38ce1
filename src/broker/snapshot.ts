/**
 * A read-only picture of the core's state, for checkers, tests and the daemon's `/health`.
 * Building it allocates; checkers that run on every event read the core's live getters instead.
 */
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
  pendingApiCalls: number;
  pendingStorageOps: number;
  inflightInboundTasks: number;
  queues: { undispatched: number; routed: number; presence: number; transitions: number };
  stopped: boolean;
}
