/**
 * The package's `broker-sim` command: the simulator's runner, shrinker and replayer, the trace
 * exporter and the platform stub, under one name that works in any project that installed the
 * package (`npx broker-sim …`). Each command hands its arguments to the module that owns it, so its
 * flags, output and exit codes are exactly that module's.
 *
 *   broker-sim sim [runner flags]                  run scenarios: one seed, a sweep, swarm mode
 *   broker-sim shrink --scenario X --seed N [...]  shrink a failing run to a repro file
 *   broker-sim replay FILE [--json] [--trace F]    replay a repro file exactly
 *   broker-sim export TRACE.jsonl [--html F] ...   convert a trace to an HTML timeline / Perfetto JSON
 *   broker-sim platform [--connector-port N] ...   the platform stub on loopback sockets
 */

import { main as exportMain } from "./export/cli.ts";
import { runCli } from "./pool/cli.ts";
import { EXIT_USAGE } from "./runner.ts";

export const CLI_USAGE = `usage: broker-sim <command> [options]

commands:
  sim [flags]             run scenarios (one seed, a seed range, swarm mode); \`broker-sim sim --help\`
  shrink [flags]          shrink the first failing run of \`sim [flags]\` and write a repro file
                          (the same as \`sim --shrink [flags]\`)
  replay FILE [flags]     run a repro file exactly (the same as \`sim --replay FILE [flags]\`)
  export [flags]          write the HTML timeline and Perfetto JSON of a trace; \`broker-sim export --help\`
  platform [flags]        serve the platform stub (connector WebSocket, HTTP API, SSE) on 127.0.0.1:
                          --connector-port N --api-port N --token-file PATH --agent-id ID
  help                    show this help

examples:
  npx broker-sim sim --scenario happy-path --seeds 1..50
  npx broker-sim sim --swarm --seeds 1..40
  npx broker-sim shrink --scenario happy-path --seed 1 --plant ackBeforeHandoff
  npx broker-sim replay out/repros/happy-path-ackBeforeHandoff-seed1-S1.json

exit codes (sim, shrink, replay): 0 pass, 1 safety, 2 usage, 3 liveness, 4 nondeterminism, 5 coverage gap`;

interface Io {
  out(line: string): void;
  err(line: string): void;
}

/** Run one `broker-sim` command; resolves to the exit code (`platform` keeps running until a signal). */
export async function cli(argv: readonly string[], io: Io = defaultIo()): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "sim":
      return runCli(rest);
    case "shrink":
      return runCli(["--shrink", ...rest]);
    case "replay": {
      const [file, ...flags] = rest;
      if (file === undefined || file.startsWith("-")) {
        io.err("error: replay needs the repro file: broker-sim replay FILE");
        return EXIT_USAGE;
      }
      return runCli(["--replay", file, ...flags]);
    }
    case "export":
      return exportMain(rest);
    case "platform": {
      // The stub's script reads its flags from process.argv and runs until SIGINT/SIGTERM.
      process.argv = [process.argv[0]!, "broker-sim platform", ...rest];
      await import("./stub/platform-cli.ts");
      return -1;
    }
    case "help":
    case "--help":
    case "-h":
      io.out(CLI_USAGE);
      return 0;
    case undefined:
      io.err("error: no command given");
      io.err(CLI_USAGE);
      return EXIT_USAGE;
    default:
      io.err(`error: unknown command "${command}"`);
      io.err(CLI_USAGE);
      return EXIT_USAGE;
  }
}

function defaultIo(): Io {
  return { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };
}

/** The bin's entry: run the command and set the exit code (a long-running `platform` sets none). */
export async function run(argv: readonly string[]): Promise<void> {
  // `… | head` closes stdout early: stop quietly instead of dying on an unhandled EPIPE.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });
  const code = await cli(argv);
  if (code >= 0) process.exitCode = code;
}
