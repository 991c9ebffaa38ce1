/**
 * Command-line entry (also the `runtime-broker` package bin), in one of two modes:
 *
 * - Flags: `--connector-url ws://… --token-file … --api-url http://… --data-dir …`.
 * - Drop-in: no flags at all and `MASONS_BROKER_CREDENTIALS_FILE` set — the published daemon's
 *   environment, read as drop-in.ts describes, so plugin hosts can spawn this daemon in its place.
 *   Logs then go to the published daemon's log file instead of stderr.
 *
 * Without `--agent-id` the agent id is asked from `GET /v1/whoami`. Runs until SIGINT/SIGTERM, then
 * shuts down gracefully (even with plugin streams open); a second signal exits at once.
 *
 * Exit codes: 0 clean shutdown (and, in drop-in mode, "another broker already serves this
 * account", as the published daemon exits), 1 start-up failure, 2 usage or configuration error,
 * 3 already running (flags mode).
 */

import { createWriteStream, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { hasDropInEnv, readDropInConfig, resolveAgentId } from "./drop-in.ts";
import { BrokerAlreadyRunningError, type CreateBrokerOptions, createBroker } from "./index.ts";
import { isLogLevel, Logger, type LogWriter } from "./logger.ts";

const USAGE = `usage: runtime-broker --connector-url <ws-url> --token-file <path> --api-url <http-url> --data-dir <dir>
                      [--api-token-file <path>] [--agent-id <id>] [--runtime-session-id <id>]
                      [--log-level debug|info|warn|error]
       runtime-broker        (no flags: the published daemon's environment, see below)

  --connector-url       platform connector WebSocket URL
  --token-file          file holding the connector token (also the API token unless --api-token-file)
  --api-url             platform API base URL (without /v1)
  --data-dir            directory for the cursor, buffers and discovery.json (created 0700)
  --api-token-file      file holding the platform API token
  --agent-id            agent id for the control-event stream (omitted: asked from GET /v1/whoami)
  --runtime-session-id  runtime session scope of the connector stream
  --log-level           lowest level logged as JSON lines on stderr (default info)

Drop-in mode (no flags) reads MASONS_BROKER_CREDENTIALS_FILE ({accounts:{<id>:{connectorUrl, token,
apiHost?}}}), MASONS_BROKER_ACCOUNT_ID (default "default"), MASONS_BROKER_USER_DATA and
MASONS_BROKER_API_HOST, writes its discovery record where the published SDK looks for it and logs
to <user data>/runtime-broker/log/broker-<pid>.log (level: BROKER_SIM_LOG_LEVEL, default info).
`;

function fail(message: string, code: number): never {
  process.stderr.write(`runtime-broker: ${message}\n`);
  process.exit(code);
}

function readToken(path: string): string {
  try {
    const t = readFileSync(path, "utf8").trim();
    if (t.length === 0) fail(`token file ${path} is empty`, 2);
    return t;
  } catch (err) {
    return fail(`cannot read token file ${path}: ${(err as Error).message}`, 2);
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.length === 0 && hasDropInEnv(process.env)) return runDropIn();
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        "connector-url": { type: "string" },
        "token-file": { type: "string" },
        "api-url": { type: "string" },
        "data-dir": { type: "string" },
        "api-token-file": { type: "string" },
        "agent-id": { type: "string" },
        "runtime-session-id": { type: "string" },
        "log-level": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (err) {
    fail(`${(err as Error).message}\n${USAGE}`, 2);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const str = (k: string) => (typeof values[k] === "string" ? (values[k] as string) : undefined);
  const connectorUrl = str("connector-url");
  const tokenFile = str("token-file");
  const apiBaseUrl = str("api-url");
  const dataDir = str("data-dir");
  if (!connectorUrl || !tokenFile || !apiBaseUrl || !dataDir) fail(`missing a required option\n${USAGE}`, 2);
  const logLevel = str("log-level") ?? "info";
  if (!isLogLevel(logLevel)) fail(`--log-level must be debug, info, warn or error\n${USAGE}`, 2);
  const connectorToken = readToken(tokenFile);
  const apiTokenFile = str("api-token-file");
  const runtimeSessionId = str("runtime-session-id");

  const options: CreateBrokerOptions = {
    connectorUrl,
    connectorToken,
    apiBaseUrl,
    dataDir,
    logLevel,
    onStopped: () => process.exit(0),
  };
  if (apiTokenFile) options.apiToken = readToken(apiTokenFile);
  if (runtimeSessionId) options.brokerOptions = { runtimeSessionId };
  const log = new Logger({ level: logLevel });
  options.agentId = str("agent-id") ?? (await whoami(apiBaseUrl, options.apiToken ?? connectorToken, log));
  await run(options, 3);
}

/** Drop-in mode: the published daemon's environment, its paths, its log file. */
async function runDropIn(): Promise<void> {
  let cfg: ReturnType<typeof readDropInConfig>;
  try {
    cfg = readDropInConfig(process.env, process.pid);
  } catch (err) {
    fail((err as Error).message, 2);
  }
  // Our one addition to the published environment: the log level of the drop-in log file.
  const level = process.env.BROKER_SIM_LOG_LEVEL || "info";
  if (!isLogLevel(level)) fail("BROKER_SIM_LOG_LEVEL must be debug, info, warn or error", 2);
  mkdirSync(dirname(cfg.logFile), { recursive: true, mode: 0o700 });
  const logStream: LogWriter = createWriteStream(cfg.logFile, { flags: "a", mode: 0o600 });
  const log = new Logger({ level, stream: logStream });
  log.info("drop_in_starting", { accountId: cfg.accountId, apiBaseUrl: cfg.apiBaseUrl, pid: process.pid });
  const agentId = await whoami(cfg.apiBaseUrl, cfg.token, log);
  await run(
    {
      connectorUrl: cfg.connectorUrl,
      connectorToken: cfg.token,
      apiBaseUrl: cfg.apiBaseUrl,
      dataDir: cfg.dataDir,
      agentId,
      logStream,
      logLevel: level,
      onStopped: () => process.exit(0),
    },
    0,
  );
}

async function whoami(apiBaseUrl: string, token: string, log: Logger): Promise<string> {
  try {
    const id = await resolveAgentId(apiBaseUrl, token, {
      onRetry: (attempt, delayMs, error) => log.warn("whoami_retry", { attempt, delayMs, error }),
    });
    log.info("whoami_resolved", { agentId: id });
    return id;
  } catch (err) {
    log.error("whoami_failed", { error: (err as Error).message });
    return fail(`cannot learn the agent id: ${(err as Error).message}`, 1);
  }
}

async function run(options: CreateBrokerOptions, alreadyRunningExit: number): Promise<void> {
  let broker: Awaited<ReturnType<typeof createBroker>>;
  try {
    broker = await createBroker(options);
  } catch (err) {
    if (err instanceof BrokerAlreadyRunningError) fail(err.message, alreadyRunningExit);
    fail(`start-up failed: ${(err as Error).message}`, 1);
  }
  // The token stays in the discovery file (0600); the log only says where to find it.
  broker.logger.info("broker_ready", { ipcUrl: broker.ipcUrl, discoveryPath: broker.discoveryPath });

  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals > 1) process.exit(1);
    broker.logger.info("shutdown_signal", { signal: sig });
    broker.close().then(
      () => process.exit(0),
      (err: unknown) => {
        broker.logger.error("shutdown_failed", { error: err });
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("unhandledRejection", (err) => broker.logger.error("unhandled_rejection", { error: err }));
}

void main();
