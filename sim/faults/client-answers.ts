/**
 * Client answers: plugins take, after each answer to an assignment reply, any step a real adapter
 * built on the published SDK may take (docs/world-model.md has the table): repeat the request,
 * retry it after a backoff whether or not the answer said retryable, abandon it, reconnect or
 * re-register and then retry, or retry under a fresh `reply_request_id` when the answer says
 * nothing was sent; after a success, repeat it, reconnect or re-register. Not a fault of the
 * world so much as the breadth of its clients; it is a module so that swarm mode draws it per seed
 * and the plain runs keep the plain client. Heal puts every plugin back on the plain policy, so
 * the liveness phase runs with clients that finish what they start.
 */

import type { AnswerChoices } from "../actors/plugin.ts";
import type { Stream } from "../kernel/prng.ts";
import type { FaultModule } from "./fault.ts";
import { round3 } from "./fault.ts";
import { Switch } from "./util.ts";

export type ClientAnswersOptions = {
  repeatWeight: number;
  retryWeight: number;
  abandonWeight: number;
  reconnectWeight: number;
  reregisterWeight: number;
  freshKeyWeight: number;
  afterSuccessProbability: number;
};

export const clientAnswers: FaultModule<ClientAnswersOptions> & { name: "client-answers" } = {
  name: "client-answers",
  description: "Plugins repeat, retry, abandon, reconnect or re-register after any reply answer.",
  defaults: {
    repeatWeight: 1,
    retryWeight: 3,
    abandonWeight: 1,
    reconnectWeight: 1,
    reregisterWeight: 1,
    freshKeyWeight: 1,
    afterSuccessProbability: 0.1,
  },
  swarm(s: Stream): ClientAnswersOptions {
    return {
      repeatWeight: s.range(0, 3),
      retryWeight: s.range(1, 4),
      abandonWeight: s.range(0, 2),
      reconnectWeight: s.range(0, 2),
      reregisterWeight: s.range(0, 2),
      freshKeyWeight: s.range(0, 2),
      afterSuccessProbability: round3(s.float() * 0.3),
    };
  },
  install(world, o) {
    const sw = new Switch();
    const choices: AnswerChoices = { ...o };
    for (const p of world.plugins.values()) p.answerChoices = choices;
    world.faultHub.record("client-answers", "on");
    sw.onHeal(() => {
      for (const p of world.plugins.values()) p.answerChoices = undefined;
    });
    return sw;
  },
};
