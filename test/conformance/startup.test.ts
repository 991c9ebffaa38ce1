/**
 * Start-up as a plugin host does it (PROTOCOL §1.1, §1.14, §9.3): nothing but the published
 * daemon's standard environment, discovery at the standard path, written only once the connector
 * registered; refusals of bad credentials.
 */

import { statSync, writeFileSync } from "node:fs";
import { afterEach, describe, expect } from "vitest";
import {
  ACCOUNT,
  ConformanceWorld,
  conforms,
  entryFor,
  importPublished,
  TARGET,
  TOKEN,
  until,
} from "./harness.ts";

let w: ConformanceWorld;
afterEach(async () => w?.close());

describe(`start-up of the ${TARGET} daemon as a plugin host starts it`, () => {
  conforms(
    "§1.14 with only the standard environment it writes discovery at the SDK's path (0600 in a 0700 dir) and the SDK finds it",
    {},
    async () => {
      w = await new ConformanceWorld().listen();
      const d = await w.startDaemon();
      const { resolveBrokerPaths } = await importPublished<{
        resolveBrokerPaths: (p: string, t: string, o: { userDataDir?: string }) => { discoveryFile: string };
      }>("broker/paths.js");
      expect(w.discoveryFile).toBe(
        resolveBrokerPaths(ACCOUNT, TOKEN, { userDataDir: w.userData }).discoveryFile,
      );
      const rec = w.discovery()!;
      expect(rec).toMatchObject({ version: 1, pid: d.pid });
      expect(rec.ipcUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(rec.bearerToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Number.isNaN(Date.parse(rec.startedAt))).toBe(false);
      expect(statSync(w.discoveryFile).mode & 0o777).toBe(0o600);
      expect(statSync(w.dataDir).mode & 0o777).toBe(0o700);
      const c = await w.client();
      expect(c.spawnedNew).toBe(false);
      expect(c.ipcUrl).toBe(rec.ipcUrl);
      // It asked whoami with the runtime token (the agent id is not in its environment).
      expect(w.calls("GET", /^\/v1\/whoami$/).map((r) => r.authorization)).toContain(`Bearer ${TOKEN}`);
      await until(() => w.calls("GET", /^\/v1\/runtime\/control-events$/).length > 0, "the SSE subscription");
      expect(w.calls("GET", /^\/v1\/runtime\/control-events$/)[0]!.query).toContain(
        "agent_id=agent-conformance",
      );
    },
  );

  conforms(
    "§1.1 a plugin host's lazy spawn (discover with this daemon as brokerEntry) starts it and connects",
    {},
    async () => {
      w = await new ConformanceWorld().listen();
      const c = await w.client(entryFor(TARGET));
      expect(c.spawnedNew).toBe(true);
      const rec = w.discovery()!;
      expect(rec.pid).not.toBe(process.pid);
      const ep = await c.registerEndpoint({ agentId: "a", kind: "claude" });
      const m = w.connector.append({ content: "hello", metadata: { target_endpoint_id: ep.endpoint_id } });
      await until(() => w.connector.ackedSeq === m.seq, "the first delivery");
    },
  );

  conforms("§1.1 step 9 the discovery record is written only after REGISTER_ACK ok", {}, async () => {
    w = await new ConformanceWorld().listen();
    const seenAtAck: boolean[] = [];
    w.withhold = (f) => {
      if (f.event === "REGISTER_ACK") seenAtAck.push(w.discovery() !== undefined);
      return false;
    };
    await w.startDaemon();
    expect(seenAtAck).toEqual([false]);
  });

  conforms(
    "§2.3 a connector that refuses the token at REGISTER: the daemon exits non-zero and writes no discovery",
    {},
    async () => {
      w = await new ConformanceWorld().listen();
      // The API accepts the token (whoami answers), the connector refuses every REGISTER.
      w.connector.model.faults = { onRegister: () => ({ reply: "error", reason: "Invalid token" }) };
      const d = w.startDaemon().catch((e: Error) => e);
      const err = await d;
      expect(err).toBeInstanceOf(Error);
      expect(String(err)).toMatch(/daemon exited [1-9]/);
      expect(w.discovery()).toBeUndefined();
    },
  );

  conforms(
    "§9.3 an API that refuses the token at whoami: the daemon exits non-zero and writes no discovery",
    {},
    async () => {
      w = await new ConformanceWorld().listen();
      writeFileSync(
        w.credentialsFile,
        JSON.stringify({
          accounts: { [ACCOUNT]: { connectorUrl: w.connector.url, token: "not-the-token" } },
        }),
      );
      const err = await w.startDaemon().catch((e: Error) => e);
      expect(String(err)).toMatch(/daemon exited [1-9]/);
      expect(w.connector.registers).toEqual([]);
    },
  );
});
