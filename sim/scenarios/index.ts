/** The scenario registry: every scenario the runner knows, by name (happy-path first). */

import { ackTimeouts } from "./ack-timeouts.ts";
import { capacityReinsertion } from "./capacity-reinsertion.ts";
import { conflictingReplies } from "./conflicting-replies.ts";
import { crashAfterAck } from "./crash-after-ack.ts";
import { crashRestart } from "./crash-restart.ts";
import { dispatchRaces } from "./dispatch-races.ts";
import { duplicateDeliveries } from "./duplicate-deliveries.ts";
import { grace } from "./grace.ts";
import { happyPath } from "./happy-path.ts";
import { outOfOrder } from "./out-of-order.ts";
import { poison } from "./poison.ts";
import { replyOutage } from "./reply-outage.ts";
import type { Scenario } from "./scenario.ts";
import { soak } from "./soak.ts";
import { staleSequences } from "./stale-sequences.ts";

export const SCENARIOS: Scenario[] = [
  happyPath,
  ackTimeouts,
  duplicateDeliveries,
  capacityReinsertion,
  outOfOrder,
  crashAfterAck,
  crashRestart,
  grace,
  conflictingReplies,
  replyOutage,
  dispatchRaces,
  staleSequences,
  poison,
  soak,
];

export function scenarioByName(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
