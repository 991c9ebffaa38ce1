/**
 * Export a simulator run as a Perfetto trace and a self-contained HTML timeline.
 *
 *   npx tsx sim/export/cli.ts TRACE.jsonl [--report REPORT.json] [--perfetto FILE] [--html FILE]
 *   npx tsx sim/export/cli.ts --scenario NAME --seed N [--swarm] [--planted-fault NAME]...
 *
 * The first form reads a trace written by `sim/runner.ts --trace FILE`; the trace has no verdict,
 * so pass the runner's `--json` line as `--report` to get the violation into the pictures. The
 * second form runs the seed itself (same code path as the runner) and knows everything. With no
 * `--perfetto`/`--html`, both files go to `out/` next to each other.
 * Exit codes: 0 written, 2 usage error.
 */

import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { NO_PLANTED_FAULTS, type PlantedFaults } from "../../src/broker/options.ts";
import { SCENARIOS, scenarioByName } from "../scenarios/index.ts";
import { DEFAULT_OUT_DIR, type ExportPaths, metaFromReport, readTraceFile, writeExports } from "./files.ts";
import type { HtmlOptions } from "./html.ts";
import type { RunMeta } from "./records.ts";
import { runAndExport } from "./run-export.ts";

const USAGE = `usage:
  npx tsx sim/export/cli.ts TRACE.jsonl [--report REPORT.json] [--perfetto FILE] [--html FILE]
  npx tsx sim/export/cli.ts --scenario NAME --seed N [--swarm] [--planted-fault NAME]... [--perfetto FILE] [--html FILE]
options:
  --report FILE        the runner's --json line for this run (adds verdict, violation, hash)
  --perfetto FILE      write Chrome Trace Event JSON (open it at ui.perfetto.dev)
  --html FILE          write the self-contained HTML timeline
  --out-dir DIR        where default file names go (default ${DEFAULT_OUT_DIR})
  --max-events N       most events the HTML draws (default 3000; Perfetto always has all)
  --from-ms MS         HTML window start for a passing run
  --planted-fault NAME plant a test-only broker fault (run mode): ${Object.keys(NO_PLANTED_FAULTS).join(", ")}
scenarios: ${SCENARIOS.map((s) => s.name).join(", ")}`;

interface Io {
  out(line: string): void;
  err(line: string): void;
}

export function main(argv: string[], io: Io = defaultIo()): number {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    return usage(io, (err as Error).message);
  }
  const v = parsed.values;
  if (v.help) {
    io.out(USAGE);
    return 0;
  }
  const html: HtmlOptions = {};
  if (v["max-events"] !== undefined) html.maxEvents = Number(v["max-events"]);
  if (v["from-ms"] !== undefined) html.fromMs = Number(v["from-ms"]);
  if (Number.isNaN(html.maxEvents) || Number.isNaN(html.fromMs))
    return usage(io, "--max-events and --from-ms take numbers");
  const outDir = v["out-dir"] ?? DEFAULT_OUT_DIR;
  const explicit: ExportPaths = {};
  if (v.perfetto !== undefined) explicit.perfetto = v.perfetto;
  if (v.html !== undefined) explicit.html = v.html;

  if (v.scenario !== undefined || v.seed !== undefined) {
    if (parsed.positionals.length > 0) return usage(io, "give a trace file or --scenario/--seed, not both");
    const scenario = v.scenario === undefined ? undefined : scenarioByName(v.scenario);
    if (!scenario) return usage(io, `unknown or missing --scenario "${v.scenario ?? ""}"`);
    if (v.seed === undefined || !/^\d+$/.test(v.seed))
      return usage(io, "--seed needs a non-negative integer");
    const planted: Partial<PlantedFaults> = {};
    for (const name of v["planted-fault"] ?? []) {
      if (!(name in NO_PLANTED_FAULTS)) return usage(io, `unknown planted fault "${name}"`);
      planted[name as keyof PlantedFaults] = true;
    }
    const res = runAndExport(scenario, Number(v.seed), {
      swarm: v.swarm === true,
      plantedFaults: planted,
      outDir,
      html,
      ...(explicit.perfetto || explicit.html ? { paths: explicit } : {}),
    });
    const r = res.report;
    io.out(
      r.violation
        ? `FAIL ${r.violation.invariant}: ${r.violation.message}`
        : `ok: ${r.scenario} seed ${r.seed}`,
    );
    io.out(`  ${res.rerun}`);
    report(io, res.paths);
    return 0;
  }

  if (parsed.positionals.length !== 1) return usage(io, "expected exactly one trace file");
  const file = parsed.positionals[0]!;
  let lines: string[];
  try {
    lines = readTraceFile(file);
  } catch (err) {
    return usage(io, `cannot read ${file}: ${(err as Error).message}`);
  }
  let meta: RunMeta = {};
  if (v.report !== undefined) {
    try {
      const text = readFileSync(v.report, "utf8")
        .trim()
        .split("\n")
        .find((l) => l.trim().startsWith("{"));
      meta = metaFromReport(JSON.parse(text ?? "{}") as Record<string, unknown>);
    } catch (err) {
      return usage(io, `cannot read report ${v.report}: ${(err as Error).message}`);
    }
  }
  const base = `${outDir}/${basename(file).replace(/\.jsonl?$/, "")}`;
  const paths: ExportPaths =
    explicit.perfetto || explicit.html
      ? explicit
      : { perfetto: `${base}.perfetto.json`, html: `${base}.html` };
  report(io, writeExports({ lines, meta, paths, html }));
  return 0;
}

function report(io: Io, paths: ExportPaths): void {
  if (paths.trace) io.out(`  trace:    ${paths.trace}`);
  if (paths.perfetto) io.out(`  perfetto: ${paths.perfetto}  (open at ui.perfetto.dev)`);
  if (paths.html) io.out(`  timeline: ${paths.html}`);
}

function usage(io: Io, message: string): number {
  io.err(`error: ${message}`);
  io.err(USAGE);
  return 2;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      report: { type: "string" },
      perfetto: { type: "string" },
      html: { type: "string" },
      "out-dir": { type: "string" },
      "max-events": { type: "string" },
      "from-ms": { type: "string" },
      scenario: { type: "string" },
      seed: { type: "string" },
      swarm: { type: "boolean" },
      "planted-fault": { type: "string", multiple: true },
      help: { type: "boolean", short: "h" },
    },
  });
}

function defaultIo(): Io {
  return { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };
}

if (process.argv[1]?.endsWith("sim/export/cli.ts")) {
  process.exitCode = main(process.argv.slice(2));
}
