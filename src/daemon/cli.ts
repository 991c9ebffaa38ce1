/**
 * Command-line entry: `npm run broker -- --connector-url ws://… --token-file … --api-url http://…
 * --data-dir …` (also the `runtime-broker` package bin). Runs until SIGINT/SIGTERM, then shuts down
 * gracefully (even with plugin streams open); a second signal exits at once.
 *
 * Exit codes: 0 clean shutdown, 1 start-up failure, 2 usage error, 3 already running.
 */

import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { BrokerAlreadyRunningError, type CreateBrokerOptions, createBroker } from "./index.ts";
import { isLogLevel } from "./logger.ts";

const USAGE = `usage: runtime-broker --connector-url <ws-url> --token-file <path> --api-url <http-url> --data-dir <dir>
                      [--api-token-file <path>] [--agent-id <id>] [--runtime-session-id <id>]
                      [--log-level debug|info|warn|error]

  --connector-url       platform connector WebSocket URL
  --token-file          file holding the connector token (also the API token unless --api-token-file)
  --api-url             platform API base URL (without /v1)
  --data-dir            directory for the cursor, buffers and discovery.json (created 0700)
  --api-token-file      file holding the platform API token
  --agent-id            agent id for the control-event stream (omitted: no control stream)
  --runtime-session-id  runtime session scope of the connector stream
  --log-level           lowest level logged as JSON lines on stderr (default info)
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
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
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
  const agentId = str("agent-id");
  if (agentId) options.agentId = agentId;
  if (runtimeSessionId) options.brokerOptions = { runtimeSessionId };

  let broker: Awaited<ReturnType<typeof createBroker>>;
  try {
    broker = await createBroker(options);
  } catch (err) {
    if (err instanceof BrokerAlreadyRunningError) fail(err.message, 3);
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
