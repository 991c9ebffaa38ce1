/**
 * Connector ERROR frames naming `to` (PROTOCOL §2.2): the connector server answers a SEND_MESSAGE
 * with an ERROR that names the recipient — either refusing the send (the ERROR carries its
 * `messageId`; the message is not taken, no SEND_ACK follows) or as a notice about the recipient
 * without a `messageId`, which settles no send (the SEND_ACK follows as usual). The published
 * SDK's connector client rejects the pending send with `ConnectorError(message, code, to)` in the
 * first case and re-emits the second as an error, which the daemon drops. The broker answers a
 * refused send 502 `connector_send_rejected` and never writes that reply key again (docs/deviations.md,
 * A4); a notice must change nothing (M2).
 */

import type { Stream } from "../kernel/prng.ts";
import type { FaultModule } from "./fault.ts";
import { round3 } from "./fault.ts";
import { Switch } from "./util.ts";

export type ConnectorErrorsOptions = {
  /** A SEND_MESSAGE is refused with an ERROR naming its `messageId` and `to`. */
  refuseProbability: number;
  /** A SEND_MESSAGE is preceded by an ERROR naming `to` but no `messageId`. */
  noticeProbability: number;
};

/** Codes a connector gives about a recipient. */
const CODES: ReadonlyArray<[string, string]> = [
  ["recipient_not_found", "no such recipient"],
  ["recipient_blocked", "the recipient does not accept messages from this sender"],
  ["rate_limited", "too many messages to this recipient"],
];

export const connectorErrors: FaultModule<ConnectorErrorsOptions> & { name: "connector-errors" } = {
  name: "connector-errors",
  description: "The connector answers some sends with an ERROR naming the recipient (refusal or notice).",
  defaults: { refuseProbability: 0.05, noticeProbability: 0.05 },
  swarm(s: Stream): ConnectorErrorsOptions {
    return { refuseProbability: round3(s.float() * 0.15), noticeProbability: round3(s.float() * 0.15) };
  },
  install(world, o, stream) {
    const sw = new Switch();
    world.faultHub.addSendError((messageId, to) => {
      if (sw.healed) return undefined;
      const r = stream.float();
      if (r >= o.refuseProbability + o.noticeProbability) return undefined;
      const kind = r < o.refuseProbability ? "refuse" : "notice";
      const [code, message] = stream.pick(CODES);
      world.faultHub.record("connector-errors", kind, `${messageId} to ${to}: ${code}`);
      return { kind, code, message };
    });
    return sw;
  },
};
