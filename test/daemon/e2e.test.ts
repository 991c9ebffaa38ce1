import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { DaemonWorld, type PluginClient, until } from "../support/daemon-world.ts";

/** Open a stream, initialise and register one endpoint; returns what later calls need. */
async function registerEndpoint(p: PluginClient, extra: Record<string, unknown> = {}) {
  await p.openStream();
  const init = await p.request("POST", "/v1/initialize", {
    client_protocol_version: "1.1",
    client_kind: "e2e-plugin",
  });
  expect(init.status).toBe(200);
  const reg = await p.request("POST", "/v1/endpoint/register", {
    plugin_pid: p.pid,
    kind: "e2e-plugin",
    ...extra,
  });
  expect(reg.status).toBe(200);
  return {
    endpoint_id: reg.body.endpoint_id as string,
    endpoint_owner_token: reg.body.endpoint_owner_token as string,
    plugin_pid: p.pid,
  };
}

function isNonDecreasing(xs: number[]): boolean {
  return xs.every((x, i) => i === 0 || x >= xs[i - 1]!);
}

describe("the daemon end to end over real sockets", () => {
  let world: DaemonWorld;
  afterEach(async () => world?.close());

  it("pushes addressed messages to the registered plugin in seq order and acks them cumulatively", async () => {
    world = await new DaemonWorld().listen();
    const broker = await world.startBroker();
    await until(() => world.connector.model.registeredSocket !== undefined, "the broker to register");
    expect(world.connector.registers[0]).toBe(0);
    const p = world.plugin(broker);
    const owner = await registerEndpoint(p);

    for (let i = 1; i <= 5; i++) {
      world.connector.append({ content: `m${i}`, metadata: { target_endpoint_id: owner.endpoint_id } });
    }
    await until(() => p.messages().length === 5, "five pushes");
    await until(() => world.connector.ackedSeq === 5, "the ack to reach seq 5");
    expect(p.messages().map((m) => m.content)).toEqual(["m1", "m2", "m3", "m4", "m5"]);
    expect(isNonDecreasing(world.connector.acks)).toBe(true);
    expect(Math.max(...world.connector.acks)).toBe(5);
    await until(() => readCursor(world) === 5, "the cursor file to hold 5");
    expect(broker.core.internalErrors).toBe(0);
  });

  it("takes a burst at most maxInboundTasksInFlight tasks at a time and still delivers and acks all of it in order", async () => {
    world = await new DaemonWorld().listen();
    const broker = await world.startBroker({ maxInboundTasksInFlight: 2 });
    await until(() => world.connector.model.registeredSocket !== undefined, "the broker to register");
    const p = world.plugin(broker);
    const owner = await registerEndpoint(p);
    let most = 0;
    const sample = setInterval(() => {
      most = Math.max(most, broker.core.inflightTasks.size);
    }, 0);
    try {
      for (let i = 1; i <= 40; i++)
        world.connector.append({ content: `b${i}`, metadata: { target_endpoint_id: owner.endpoint_id } });
      await until(() => world.connector.ackedSeq === 40, "the ack to reach seq 40");
    } finally {
      clearInterval(sample);
    }
    expect(p.messages().map((m) => m.content)).toEqual(Array.from({ length: 40 }, (_, i) => `b${i + 1}`));
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(2);
    expect(broker.core.internalErrors).toBe(0);
  });

  it("delivers an unaddressed message as an assignment the plugin accepts and answers exactly once", async () => {
    world = await new DaemonWorld().listen();
    const broker = await world.startBroker();
    await until(() => world.connector.model.registeredSocket !== undefined, "the broker to register");
    await until(() => world.api.subscriberCount === 1, "the control-event subscription");
    const p = world.plugin(broker);
    const owner = await registerEndpoint(p, {
      capabilities: ["background_exchange_v1"],
      background_exchange_mode: "resident_endpoint",
    });

    world.connector.append({ content: "please help", from: "alice@example" });
    await until(() => p.messages().some((m) => m.runtimeAssignment !== undefined), "the assignment push");
    const push = p.messages().find((m) => m.runtimeAssignment !== undefined)!;
    const ra = push.runtimeAssignment as { assignmentId: string; sourceMessageId: string };
    await until(() => world.connector.ackedSeq === 1, "the inbound message to be acked");

    const accepted = await p.request("POST", "/v1/runtime/processing-state", {
      ...owner,
      assignment_id: ra.assignmentId,
      source_message_id: ra.sourceMessageId,
      state: "adapter_accepted",
    });
    expect(accepted.status).toBe(200);

    const replyBody = {
      ...owner,
      assignment_id: ra.assignmentId,
      source_message_id: ra.sourceMessageId,
      reply_request_id: "reply-1",
      content: "here you go",
    };
    const first = await p.request("POST", "/v1/runtime/assignment-reply", replyBody);
    expect(first.status).toBe(200);
    const again = await p.request("POST", "/v1/runtime/assignment-reply", replyBody);
    expect(again).toEqual(first);
    const outbound = world.connector.model.outbound.filter((m) => m.content === "here you go");
    expect(outbound).toHaveLength(1);
    expect(outbound[0]!.to).toBe("alice@example");

    const conflicting = await p.request("POST", "/v1/runtime/assignment-reply", {
      ...replyBody,
      content: "other",
    });
    expect(conflicting.status).toBe(409);
    await until(
      () =>
        world.api.controlAcks.some((a) => a.idempotency_key === ra.assignmentId && a.status === "applied"),
      "the dispatch control event to be acked applied",
    );
    expect(broker.core.internalErrors).toBe(0);
  });

  it("reconnects after a connector outage, re-registers with its cursor and keeps delivering", async () => {
    world = await new DaemonWorld().listen();
    const broker = await world.startBroker();
    await until(() => world.connector.model.registeredSocket !== undefined, "the broker to register");
    const p = world.plugin(broker);
    const owner = await registerEndpoint(p);
    world.connector.append({ content: "before", metadata: { target_endpoint_id: owner.endpoint_id } });
    await until(() => world.connector.ackedSeq === 1, "the first ack");
    world.connector.dropAll();
    world.connector.append({ content: "during", metadata: { target_endpoint_id: owner.endpoint_id } });
    await until(() => world.connector.registers.length === 2, "the REGISTER after the outage");
    expect(world.connector.registers[1]).toBe(1);
    await until(() => world.connector.ackedSeq === 2, "the message sent during the outage to be acked");
    expect(p.messages().map((m) => m.content)).toEqual(["before", "during"]);
    expect(broker.core.internalErrors).toBe(0);
  });

  it("refuses a wrong pid or owner token with 403 and changes nothing", async () => {
    world = await new DaemonWorld().listen();
    const broker = await world.startBroker();
    await until(() => world.connector.model.registeredSocket !== undefined, "the broker to register");
    const p = world.plugin(broker);
    const owner = await registerEndpoint(p);
    const body = { assignment_id: "a", source_message_id: "s", state: "processing_started" };
    const wrongPid = await p.request("POST", "/v1/runtime/processing-state", {
      ...owner,
      ...body,
      plugin_pid: owner.plugin_pid + 1,
    });
    expect(wrongPid.status).toBe(403);
    expect(wrongPid.body.error).toBe("endpoint_pid_mismatch");
    const wrongToken = await p.request("POST", "/v1/runtime/processing-state", {
      ...owner,
      ...body,
      endpoint_owner_token: "x",
    });
    expect(wrongToken.status).toBe(403);
    expect(wrongToken.body.error).toBe("endpoint_owner_token_mismatch");
    // The endpoint still works: a message addressed to it is pushed.
    world.connector.append({ content: "still here", metadata: { target_endpoint_id: owner.endpoint_id } });
    await until(() => p.messages().length === 1, "a push after the refused calls");
  });

  it("after a crash and restart re-registers with the persisted cursor and loses nothing acked", async () => {
    world = await new DaemonWorld().listen();
    const first = await world.startBroker();
    await until(() => world.connector.model.registeredSocket !== undefined, "the first broker to register");
    const p1 = world.plugin(first);
    const owner = await registerEndpoint(p1);
    for (let i = 1; i <= 3; i++) {
      world.connector.append({ content: `m${i}`, metadata: { target_endpoint_id: owner.endpoint_id } });
    }
    await until(() => readCursor(world) === 3, "the cursor file to hold 3");
    const ackedBeforeCrash = world.connector.ackedSeq;
    const delivered = new Set(p1.messages().map((m) => m.content));
    for (let s = 1; s <= ackedBeforeCrash; s++) expect(delivered.has(`m${s}`)).toBe(true);

    first.abort();
    p1.close();
    await until(
      () => world.connector.model.registeredSocket === undefined,
      "the connector to notice the crash",
    );
    world.connector.append({ content: "while down" });

    const second = await world.startBroker();
    await until(() => world.connector.registers.length === 2, "the second REGISTER");
    expect(world.connector.registers[1]).toBe(3);
    await until(() => world.connector.ackedSeq === 4, "the message sent while down to be acked");
    await until(() => readCursor(world) === 4, "the cursor file to hold 4");
    expect(isNonDecreasing(world.connector.acks)).toBe(true);
    expect(second.core.internalErrors).toBe(0);
  });
});

function readCursor(world: DaemonWorld): number | undefined {
  try {
    return JSON.parse(readFileSync(`${world.dataDir}/delivery-cursor.json`, "utf8")).lastKnownSeq;
  } catch {
    return undefined;
  }
}
