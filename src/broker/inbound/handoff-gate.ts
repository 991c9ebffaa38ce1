/**
 * Per-endpoint hand-off gate (invariant R5; a deviation from the reference, which runs inbound
 * tasks concurrently and lets hand-offs race).
 *
 * Theory of operation:
 * 1. A sequenced task that may hand off to endpoint E joins E's gate when it is routed, before any
 *    platform call, so its place is fixed by its seq, not by how fast its route claim answers.
 * 2. A task that is ready to hand off waits until every lower-seq task still in E's gate has handed
 *    off or left. Its `go` runs synchronously when it reaches the front.
 * 3. A hand-off is "released" when its push or append is written (the `go` callback returns): the
 *    channel and storage keep write order, so write order is delivery order.
 * 4. A task that ends without handing off (claim failed, `skip`, error) leaves the gate, which lets
 *    the next one through.
 */

import { invariant } from "../invariant.ts";

export interface GateTicket {
  endpointId: string;
  seq: number;
  go: (() => void) | undefined;
  left: boolean;
}

export class HandoffGate {
  private readonly lines = new Map<string, GateTicket[]>();

  join(endpointId: string, seq: number): GateTicket {
    const ticket: GateTicket = { endpointId, seq, go: undefined, left: false };
    let line = this.lines.get(endpointId);
    if (!line) {
      line = [];
      this.lines.set(endpointId, line);
    }
    let i = line.length;
    while (i > 0 && line[i - 1]!.seq > seq) i--;
    line.splice(i, 0, ticket);
    return ticket;
  }

  /** Run `go` when the ticket reaches the front (at once if it is there). */
  whenTurn(ticket: GateTicket, go: () => void): void {
    if (ticket.left) return;
    ticket.go = go;
    this.pump(ticket.endpointId);
  }

  leave(ticket: GateTicket): void {
    if (ticket.left) return;
    ticket.left = true;
    // A ticket that has not left is in its endpoint's line: `pump` marks the tickets it lets through.
    const line = this.lines.get(ticket.endpointId);
    const i = line?.indexOf(ticket) ?? -1;
    invariant(
      line !== undefined && i >= 0,
      `hand-off ticket for seq ${ticket.seq} is not in ${ticket.endpointId}'s line`,
    );
    line.splice(i, 1);
    if (line.length === 0) this.lines.delete(ticket.endpointId);
    else if (i === 0) this.pump(ticket.endpointId);
  }

  /** Tickets waiting for `endpointId`, front first (checkers, tests). */
  waiting(endpointId: string): number[] {
    return (this.lines.get(endpointId) ?? []).map((t) => t.seq);
  }

  private pump(endpointId: string): void {
    for (;;) {
      const line = this.lines.get(endpointId);
      const head = line?.[0];
      if (!line || !head?.go) return;
      line.shift();
      if (line.length === 0) this.lines.delete(endpointId);
      head.left = true;
      const go = head.go;
      head.go = undefined;
      go();
    }
  }
}
