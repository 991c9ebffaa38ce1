import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { SERVER_VERSION } from "../../src/broker/ipc/context.ts";
import {
  apiOrigin,
  DropInConfigError,
  defaultUserDataDir,
  readDropInConfig,
  resolveAgentId,
} from "../../src/daemon/drop-in.ts";

const dir = mkdtempSync(join(tmpdir(), "drop-in-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function creds(content: unknown): string {
  const p = join(dir, `c-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(p, typeof content === "string" ? content : JSON.stringify(content));
  return p;
}

describe("drop-in start-up configuration", () => {
  it("reads the published daemon's credentials file and derives its data directory and log file", () => {
    const file = creds({
      accounts: { "acct/1": { connectorUrl: "ws://c", token: "tok", apiHost: "api.example" } },
    });
    const cfg = readDropInConfig(
      {
        MASONS_BROKER_CREDENTIALS_FILE: file,
        MASONS_BROKER_ACCOUNT_ID: "acct/1",
        MASONS_BROKER_USER_DATA: "/ud",
      },
      77,
    );
    expect(cfg).toMatchObject({
      accountId: "acct/1",
      connectorUrl: "ws://c",
      token: "tok",
      apiBaseUrl: "https://api.example",
      // sha256("tok")[0:16]
      dataDir: "/ud/runtime-broker/acct_1/1a7674eb4ee78df7",
      logFile: "/ud/runtime-broker/log/broker-77.log",
    });
  });

  it("lets MASONS_BROKER_API_HOST win over the account's apiHost and keeps an explicit scheme", () => {
    const file = creds({
      accounts: { default: { connectorUrl: "ws://c", token: "t", apiHost: "a.example" } },
    });
    const cfg = readDropInConfig(
      { MASONS_BROKER_CREDENTIALS_FILE: file, MASONS_BROKER_API_HOST: "http://127.0.0.1:9/" },
      1,
    );
    expect(cfg.accountId).toBe("default");
    expect(cfg.apiBaseUrl).toBe("http://127.0.0.1:9");
    expect(apiOrigin("preview-api.masons.ai")).toBe("https://preview-api.masons.ai");
  });

  it("names the file and the field for every configuration error", () => {
    const cases: Array<[unknown, RegExp]> = [
      ["{nope", /not valid JSON/],
      [{}, /missing or invalid "accounts"/],
      [{ accounts: { other: {} } }, /account "default" not found \(available: other\)/],
      [{ accounts: { default: { token: "t" } } }, /field "connectorUrl"/],
      [{ accounts: { default: { connectorUrl: "ws://c", token: 5 } } }, /field "token"/],
      [{ accounts: { default: { connectorUrl: "ws://c", token: "t", apiHost: 3 } } }, /field "apiHost"/],
    ];
    for (const [content, msg] of cases) {
      const file = creds(content);
      expect(() => readDropInConfig({ MASONS_BROKER_CREDENTIALS_FILE: file }, 1)).toThrow(msg);
    }
    expect(() => readDropInConfig({ MASONS_BROKER_CREDENTIALS_FILE: join(dir, "absent.json") }, 1)).toThrow(
      DropInConfigError,
    );
  });

  it("resolves the user data directory as env-paths does for the published daemon", () => {
    expect(defaultUserDataDir({ HOME: "/h" }, "linux")).toBe("/h/.local/share/masons-runtime-broker");
    expect(defaultUserDataDir({ HOME: "/h", XDG_DATA_HOME: "/x" }, "linux")).toBe("/x/masons-runtime-broker");
    expect(defaultUserDataDir({ HOME: "/h" }, "darwin")).toBe(
      "/h/Library/Application Support/masons-runtime-broker",
    );
  });

  it("puts discovery exactly where the published package's own path resolution does", async () => {
    const main = createRequire(import.meta.url).resolve("@masons/runtime-broker");
    const pathsJs = main.replace(/broker-client[/\\]broker-client\.js$/, "broker/paths.js");
    const { resolveBrokerPaths } = (await import(pathToFileURL(pathsJs).href)) as {
      resolveBrokerPaths: (p: string, t: string, o: { userDataDir?: string }) => { discoveryDir: string };
    };
    const file = creds({ accounts: { "a b": { connectorUrl: "ws://c", token: "secret" } } });
    const withDir = readDropInConfig(
      {
        MASONS_BROKER_CREDENTIALS_FILE: file,
        MASONS_BROKER_ACCOUNT_ID: "a b",
        MASONS_BROKER_USER_DATA: "/ud",
      },
      1,
    );
    expect(withDir.dataDir).toBe(resolveBrokerPaths("a b", "secret", { userDataDir: "/ud" }).discoveryDir);
    const byDefault = readDropInConfig(
      {
        ...process.env,
        MASONS_BROKER_CREDENTIALS_FILE: file,
        MASONS_BROKER_ACCOUNT_ID: "a b",
        MASONS_BROKER_USER_DATA: "",
      },
      1,
    );
    expect(byDefault.dataDir).toBe(resolveBrokerPaths("a b", "secret", {}).discoveryDir);
  });

  it("asks whoami for the agent id, retrying 5xx and refusing non-agent credentials", async () => {
    const answers = [
      new Response("", { status: 503 }),
      new Response(JSON.stringify({ subjectType: "agent-runtime", subjectId: "agent-7" }), { status: 200 }),
    ];
    const retries: number[] = [];
    const id = await resolveAgentId("http://api", "t", {
      initialDelayMs: 1,
      fetchImpl: async () => answers.shift()!,
      onRetry: (a) => retries.push(a),
    });
    expect(id).toBe("agent-7");
    expect(retries).toEqual([1]);
    await expect(
      resolveAgentId("http://api", "t", {
        fetchImpl: async () => new Response(JSON.stringify({ subjectType: "user", subjectId: "u" })),
      }),
    ).rejects.toThrow(/agent-runtime/);
    let calls = 0;
    await expect(
      resolveAgentId("http://api", "t", {
        fetchImpl: async () => {
          calls++;
          return new Response("", { status: 401 });
        },
      }),
    ).rejects.toThrow(/whoami failed: 401/);
    expect(calls).toBe(1);
  });

  it("reports our own version, prefixed so the SDK's discovery never mistakes it for an older published one", () => {
    const require = createRequire(import.meta.url);
    const pkg = require("../../package.json") as { version: string };
    expect(SERVER_VERSION).toBe(`broker-sim/${pkg.version}`);
    expect(/^(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$/.test(SERVER_VERSION)).toBe(false);
  });
});
