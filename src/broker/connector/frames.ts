/**
 * Connector protocol v4 frames (PROTOCOL.md §2.2), both directions. Field names are the wire
 * contract. Validation of inbound frames lives in `guards.ts`.
 */

export const CONNECTOR_PROTOCOL_VERSION = 4;
export const CLIENT_KIND = "runtime-broker";
export const CLIENT_VERSION = "0.2.36";
export const REPLACED_BY_NEW_RUNTIME = "Replaced by new Runtime";

/** Raw text of a frame as it came off the socket. */
export type InboundFrameText = string;

// ---- broker → connector ----

export interface RegisterFrame {
  event: "REGISTER";
  token: string;
  protocolVersion: number;
  clientVersion: string;
  clientKind: string;
  runtimeSessionId?: string;
  lastKnownSeq?: number;
}

export interface SendMessageFrame {
  event: "SEND_MESSAGE";
  messageId: string;
  to: string;
  content: string;
  contentType: string;
  metadata?: Record<string, unknown>;
}

export interface DeliveryAckFrame {
  event: "DELIVERY_ACK";
  runtimeSessionId?: string;
  upToSeq: number;
}

export interface RequestGapFillFrame {
  event: "REQUEST_GAP_FILL";
  runtimeSessionId?: string;
  sinceSeq: number;
}

export interface TypingFrame {
  event: "TYPING";
  to: string;
  isTyping: boolean;
}

export type OutboundFrame =
  | RegisterFrame
  | SendMessageFrame
  | DeliveryAckFrame
  | RequestGapFillFrame
  | TypingFrame;

// ---- connector → broker ----

export interface RegisterAckFrame {
  event: "REGISTER_ACK";
  status: "ok" | "error";
  reason?: string;
  protocolVersion?: number;
  agent?: unknown;
  owner?: unknown;
  deliverySeq?: number;
  deliveryRuntimeSessionId?: string;
}

export interface SendAckFrame {
  event: "SEND_ACK";
  messageId: string;
  status: "delivered" | "stored";
}

export interface MessageReceivedFrame {
  event: "MESSAGE_RECEIVED";
  messageId?: string;
  runtimeSessionId?: string;
  from: string;
  content: string;
  contentType: string;
  metadata: Record<string, unknown>;
  sentAt?: string;
  seq?: number;
}

export interface DeliveryPendingFrame {
  event: "DELIVERY_PENDING";
  count: number;
  upTo: string;
}

export interface DeliveryStatusFrame {
  event: "DELIVERY_STATUS";
  messageId: string;
  status: string;
  deliveredAt?: string;
}

export interface DeliveryCursorFrame {
  event: "DELIVERY_CURSOR";
  runtimeSessionId?: string;
  deliverySeq: number;
  deliveredSeq?: number;
}

export interface DeliverySkipFrame {
  event: "DELIVERY_SKIP";
  runtimeSessionId?: string;
  seq: number;
  reason: "runtime_mailbox_dismissed";
  messageId?: string;
  deliveredAt?: string;
}

export interface ErrorFrame {
  event: "ERROR";
  code: string;
  message: string;
  messageId?: string;
  to?: string;
}

export type InboundFrame =
  | RegisterAckFrame
  | SendAckFrame
  | MessageReceivedFrame
  | DeliveryPendingFrame
  | DeliveryStatusFrame
  | DeliveryCursorFrame
  | DeliverySkipFrame
  | ErrorFrame;

/** Why an inbound frame was rejected. The core logs and counts it; it never throws. */
export type FrameRejection =
  | { reason: "not_json"; detail: string }
  | { reason: "not_object" }
  | { reason: "unknown_type"; type: unknown }
  | { reason: "invalid_field"; type: string; field: string; detail: string };
