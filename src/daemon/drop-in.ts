/**
 * Drop-in start-up: what the published daemon's entry reads from its environment, read the same
 * way, so a plugin host that spawns the published daemon can spawn ours instead (PROTOCOL §1.14,
 * §9.3).
 *
 * Rules:
 * 1. `MASONS_BROKER_CREDENTIALS_FILE` names a JSON file `{accounts:{<id>:{connectorUrl, token,
 *    apiHost?}}}`; `MASONS_BROKER_ACCOUNT_ID` picks the account (default `default`). A missing file,
 *    bad JSON, a missing account or field is a DropInConfigError naming the file and the field.
 * 2. The API host is `MASONS_BROKER_API_HOST`, else the account's `apiHost`, else
 *    `preview-api.masons.ai`; without a scheme it means `https://`.
 * 3. The data directory is `<userData>/runtime-broker/<account, sanitised>/<sha256(token)[0:16]>/`
 *    (discovery, cursor, buffers), logs go to `<userData>/runtime-broker/log/broker-<pid>.log`.
 *    `userData` is `MASONS_BROKER_USER_DATA`, else the per-user data directory env-paths gives the
 *    published daemon (`masons-runtime-broker`).
 * 4. The agent id comes from `GET /v1/whoami` (`subjectType` must be `agent-runtime`), retried on
 *    network errors, 408, 429 and 5xx (5 attempts, 500 ms doubling to 5 s).
 */

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export const DEFAULT_ACCOUNT_ID = "default";
export const DEFAULT_API_HOST = "preview-api.masons.ai";
export const WHOAMI_ATTEMPTS = 5;
export const WHOAMI_INITIAL_DELAY_MS = 500;
export const WHOAMI_MAX_DELAY_MS = 5_000;

export class DropInConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DropInConfigError";
  }
}

export interface DropInConfig {
  accountId: string;
  connectorUrl: string;
  token: string;
  /** API origin with scheme, without `/v1`. */
  apiBaseUrl: string;
  userDataDir: string;
  dataDir: string;
  logFile: string;
}

type Env = Record<string, string | undefined>;

/** Is the published daemon's environment present (the credentials file is its one required part)? */
export function hasDropInEnv(env: Env): boolean {
  return typeof env.MASONS_BROKER_CREDENTIALS_FILE === "string" && env.MASONS_BROKER_CREDENTIALS_FILE !== "";
}

export function readDropInConfig(env: Env, pid: number): DropInConfig {
  const file = env.MASONS_BROKER_CREDENTIALS_FILE;
  if (!file) throw new DropInConfigError("MASONS_BROKER_CREDENTIALS_FILE is not set");
  const accountId = env.MASONS_BROKER_ACCOUNT_ID || DEFAULT_ACCOUNT_ID;
  const where = `MASONS_BROKER_CREDENTIALS_FILE at ${file}`;
  let raw: string;
  try {
    raw = readFileSync(file, "utf8");
  } catch (err) {
    throw new DropInConfigError(`cannot read ${where}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new DropInConfigError(`${where} is not valid JSON: ${(err as Error).message}`);
  }
  const accounts = isObject(parsed) ? parsed.accounts : undefined;
  if (!isObject(accounts)) throw new DropInConfigError(`${where}: missing or invalid "accounts" object`);
  const acct = accounts[accountId];
  if (!isObject(acct)) {
    const available = Object.keys(accounts).join(", ") || "<none>";
    throw new DropInConfigError(`${where}: account "${accountId}" not found (available: ${available})`);
  }
  const str = (k: string, required: boolean): string | undefined => {
    const v = acct[k];
    if (v === undefined && !required) return undefined;
    if (typeof v !== "string" || v.length === 0) {
      throw new DropInConfigError(`${where}: account "${accountId}" field "${k}" must be a non-empty string`);
    }
    return v;
  };
  const connectorUrl = str("connectorUrl", true)!;
  const token = str("token", true)!;
  const apiHost = env.MASONS_BROKER_API_HOST || str("apiHost", false) || DEFAULT_API_HOST;
  const userDataDir = env.MASONS_BROKER_USER_DATA || defaultUserDataDir(env);
  const identity = createHash("sha256").update(token, "utf8").digest("hex").slice(0, 16);
  return {
    accountId,
    connectorUrl,
    token,
    apiBaseUrl: apiOrigin(apiHost),
    userDataDir,
    dataDir: join(userDataDir, "runtime-broker", sanitiseSegment(accountId), identity),
    logFile: join(userDataDir, "runtime-broker", "log", `broker-${pid}.log`),
  };
}

/** `host[:port]` ⇒ `https://host[:port]`; a URL with a scheme is kept; trailing slashes dropped. */
export function apiOrigin(apiHost: string): string {
  const trimmed = apiHost.trim().replace(/\/+$/, "");
  return /^https?:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`;
}

export function sanitiseSegment(s: string): string {
  return s.replace(/[^a-zA-Z0-9._-]/g, "_");
}

/** env-paths("masons-runtime-broker", {suffix: ""}).data, as the published daemon resolves it. */
export function defaultUserDataDir(env: Env, platform: NodeJS.Platform = process.platform): string {
  const name = "masons-runtime-broker";
  const home = env.HOME || homedir();
  if (platform === "darwin") return join(home, "Library", "Application Support", name);
  if (platform === "win32") return join(env.LOCALAPPDATA || join(home, "AppData", "Local"), name, "Data");
  return join(env.XDG_DATA_HOME || join(home, ".local", "share"), name);
}

export interface WhoamiOptions {
  attempts?: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
  fetchImpl?: typeof fetch;
  onRetry?: (attempt: number, delayMs: number, error: string) => void;
}

/** The agent id behind `token`: `subjectId` of `GET <api>/v1/whoami` (rule 4). */
export async function resolveAgentId(
  apiBaseUrl: string,
  token: string,
  o: WhoamiOptions = {},
): Promise<string> {
  const attempts = o.attempts ?? WHOAMI_ATTEMPTS;
  const maxDelayMs = o.maxDelayMs ?? WHOAMI_MAX_DELAY_MS;
  let delayMs = o.initialDelayMs ?? WHOAMI_INITIAL_DELAY_MS;
  const doFetch = o.fetchImpl ?? fetch;
  for (let attempt = 1; ; attempt++) {
    let retryable: boolean;
    let error: string;
    try {
      const res = await doFetch(`${apiBaseUrl}/v1/whoami`, {
        headers: { authorization: `Bearer ${token}`, accept: "application/json" },
        signal: AbortSignal.timeout(15_000),
      });
      if (res.ok) {
        const body = (await res.json()) as Record<string, unknown>;
        if (typeof body.subjectId !== "string" || body.subjectId.length === 0) {
          throw new DropInConfigError("whoami response has no subjectId");
        }
        if (body.subjectType !== "agent-runtime") {
          throw new DropInConfigError(
            `the runtime broker needs agent-runtime credentials; whoami says ${String(body.subjectType)}`,
          );
        }
        return body.subjectId;
      }
      await res.body?.cancel();
      error = `whoami failed: ${res.status}`;
      retryable = res.status === 408 || res.status === 429 || res.status >= 500;
    } catch (err) {
      if (err instanceof DropInConfigError) throw err;
      error = `whoami failed: ${(err as Error).message}`;
      retryable = true;
    }
    if (!retryable || attempt >= attempts) throw new DropInConfigError(error);
    o.onRetry?.(attempt, delayMs, error);
    await new Promise((r) => setTimeout(r, delayMs));
    delayMs = Math.min(maxDelayMs, delayMs * 2);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
