/**
 * `npm run bench`: the project's performance figures, as a table on stdout and JSON under
 * out/bench/ (`latest.json` plus a timestamped copy).
 *
 *   npm run bench                       quick run (about a minute)
 *   npm run bench -- --full             1M soak, 100k burst, every scenario
 *   npm run bench -- --only core,ref    sections: core, ref, daemon, sim, memory, targets
 *   npm run bench -- --burst 20000      burst size for the daemon comparison (0 = none)
 *   npm run bench -- --soak 200000      daemon soak size (0 = none)
 *   npm run bench -- --soak-minutes 10  end each daemon soak after 10 minutes, reporting how far it got
 *   npm run bench -- --help             this text
 *
 * Figures are wall-clock and depend on the machine and its load (the load average is recorded with
 * them); they are reported, never asserted. Ratios compare runs of the same process.
 */

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { coreInbox, coreTargeted, type ThroughputResult } from "./core-delivery.ts";
import { type DaemonHandle, runDaemon, startOurs, startTheirs, type Urls } from "./daemon-loopback.ts";
import { memorySoakInChild } from "./memory-soak.ts";
import { referenceCoreTargeted } from "./reference/core-bench.ts";
import { REFERENCE_SPEC, referencePackage } from "./reference/package.ts";
import { type SimRow, simBench, simFigures, standardDrawn, standardScenario } from "./sim-bench.ts";
import { Table } from "./table.ts";
import { targetsBench } from "./targets-bench.ts";

const SECTIONS = ["core", "ref", "daemon", "sim", "memory", "targets"] as const;
type Section = (typeof SECTIONS)[number];

const USAGE = `usage: npm run bench -- [options]
  --full            the large sizes: 100,000-message daemon burst, 1,000,000-message daemon soak and
                    core memory soak, every scenario in the simulator section (default: quick, about
                    a minute)
  --only LIST       run only these sections (comma-separated): ${SECTIONS.join(", ")}
  --burst N         messages appended at once in the daemon section (default 0, --full 100000)
  --soak N          messages through each daemon with 256 in flight: msgs/s, hand-off p50/p99,
                    daemon RSS (default 0, --full 1000000)
  --soak-minutes N  end each daemon soak after N minutes and report what it reached, marked "cut at
                    N min" (default: no limit)
  --daemons LIST    daemons of the daemon section: ours, reference (default both)
  --out DIR         where the JSON results go (default out/bench)
  --help            this text
Figures are wall-clock on this machine under its current load (recorded with them); the simulator
section prints the standard seed beside the project's targets and beside the previous run's JSON.`;

const { values } = parseArgs({
  options: {
    full: { type: "boolean", default: false },
    burst: { type: "string" },
    soak: { type: "string" },
    "soak-minutes": { type: "string" },
    daemons: { type: "string", default: "ours,reference" },
    only: { type: "string" },
    out: { type: "string", default: "out/bench" },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const full = values.full === true;
const only = new Set<Section>(
  values.only ? (values.only.split(",").map((s) => s.trim()) as Section[]) : SECTIONS,
);
for (const s of only) if (!SECTIONS.includes(s)) usageError(`unknown section ${s}`);

const daemons = new Set((values.daemons ?? "").split(",").map((d) => d.trim()));
for (const d of daemons) if (d !== "ours" && d !== "reference") usageError(`unknown daemon ${d}`);

function usageError(message: string): never {
  console.error(`bench: ${message}\n${USAGE}`);
  process.exit(2);
}

function count(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text.replace(/_/g, ""));
  if (!Number.isInteger(n) || n < 0) usageError(`--${flag} wants a whole number of messages, got ${text}`);
  return n;
}

const sizes = full
  ? {
      core: 200_000,
      coreRepeats: 5,
      ref: 20_000,
      daemon: 10_000,
      latency: 2_000,
      burst: 100_000,
      soak: 1_000_000,
    }
  : { core: 50_000, coreRepeats: 3, ref: 5_000, daemon: 3_000, latency: 1_000, burst: 0, soak: 0 };
sizes.burst = count("burst", values.burst, sizes.burst);
sizes.soak = count("soak", values.soak, sizes.soak);
const soakMinutesText = values["soak-minutes"];
const soakMinutes = soakMinutesText === undefined ? undefined : Number(soakMinutesText);
if (soakMinutes !== undefined && (!Number.isFinite(soakMinutes) || soakMinutes <= 0))
  usageError(`--soak-minutes wants a positive number of minutes, got ${soakMinutesText}`);
const simSeeds = full ? 5 : 3;
const soakMessages = full ? 1_000_000 : 200_000;
/** Messages in flight for the windowed runs; the reference peaks around here (measured 1…1024). */
const WINDOW = 256;

const results: Record<string, unknown> = {
  when: new Date().toISOString(),
  mode: full ? "full" : "quick",
  node: process.version,
  cpu: cpus()[0]?.model,
  cpus: cpus().length,
  loadavgStart: loadavg(),
  commit: gitCommit(),
};
const notes: string[] = [];
const started = performance.now();

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function repeat(n: number, f: () => ThroughputResult): { median: number; best: number; runs: number[] } {
  const runs: number[] = [];
  for (let i = 0; i < n; i++) runs.push(f().msgsPerSec);
  return { median: median(runs), best: Math.max(...runs), runs };
}

// A figure that crossed the world process's IPC as NaN arrives as null.
const fmt = (n: number | undefined | null, digits = 0) =>
  n === undefined || n === null || Number.isNaN(n)
    ? "—"
    : n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ratio = (a: number, b: number | undefined) => (b ? `${(a / b).toFixed(1)}×` : "—");

// ---------------------------------------------------------------- reference availability
let refDir: string | undefined;
if (only.has("ref") || only.has("daemon")) {
  // The devDependency installed by npm ci; no fetch at run time.
  const r = referencePackage();
  if (r.ok) refDir = r.dir;
  else notes.push(`reference comparison skipped: ${r.reason}`);
}

// ---------------------------------------------------------------- 1. core
let coreOurs: { median: number; best: number } | undefined;
if (only.has("core") || only.has("ref")) {
  const t = new Table(`1. Core delivery path (in process, ${fmt(sizes.core)} msgs × ${sizes.coreRepeats})`, [
    "path",
    "msgs/s median",
    "msgs/s best",
  ]);
  coreOurs = repeat(sizes.coreRepeats, () => coreTargeted(sizes.core));
  t.row("targeted: frame → claim → push+receipt → routed → ack", fmt(coreOurs.median), fmt(coreOurs.best));
  const inbox = repeat(sizes.coreRepeats, () => coreInbox(sizes.core));
  t.row("inbox: frame → inbox row → undispatched_changed → ack", fmt(inbox.median), fmt(inbox.best));
  t.print();
  results.core = { messages: sizes.core, targeted: coreOurs, inbox };
}

// ---------------------------------------------------------------- 2a. reference core
if (only.has("ref") && refDir && coreOurs) {
  const theirs: number[] = [];
  for (let i = 0; i < Math.min(3, sizes.coreRepeats); i++)
    theirs.push((await referenceCoreTargeted(refDir, sizes.ref, WINDOW)).msgsPerSec);
  const theirsMedian = median(theirs);
  const t = new Table(`2a. Core vs ${REFERENCE_SPEC}, targeted messages to one endpoint`, [
    "broker",
    "msgs/s (median)",
    "ratio (target ≥ 5×)",
  ]);
  t.row(
    "ours: BrokerCore in process, outputs answered at once",
    fmt(coreOurs.median),
    ratio(coreOurs.median, theirsMedian),
  );
  t.row(
    `reference: startBrokerDaemon, in-memory socket + port, real IPC ws (window ${WINDOW})`,
    fmt(theirsMedian),
    "1.0×",
  );
  t.print();
  results.referenceCore = {
    messages: sizes.ref,
    window: WINDOW,
    theirs: { median: theirsMedian, runs: theirs },
    ours: coreOurs.median,
    ratio: coreOurs.median / theirsMedian,
  };
}

// ---------------------------------------------------------------- 2b. daemons over loopback
if (only.has("daemon")) {
  const rows: Record<string, unknown> = {};
  const t = new Table("2b. Daemons over loopback on the same platform stub (sim/stub, in a child process)", [
    "daemon",
    `msgs/s (window ${WINDOW})`,
    "p50 ms",
    "p99 ms",
    "cpu daemon / world",
    "burst",
  ]);
  const starters: Array<[string, (urls: Urls) => Promise<DaemonHandle>]> = [];
  if (daemons.has("ours")) starters.push(["ours", startOurs]);
  if (refDir && daemons.has("reference")) starters.push(["reference", (urls) => startTheirs(refDir!, urls)]);
  const got: Record<string, { tp: number; p50: number; p99: number; burst: string; cpu: string }> = {};
  const soakRows: string[][] = [];
  for (const [name, start] of starters) {
    try {
      const r = await runDaemon(start, {
        warmup: 300,
        messages: sizes.daemon,
        window: WINDOW,
        latencyMessages: sizes.latency,
        latencyBatch: 1,
        latencyIntervalMs: 4,
        burst: sizes.burst,
        soak: sizes.soak,
        ...(soakMinutes !== undefined ? { soakMaxMs: soakMinutes * 60_000 } : {}),
      });
      rows[name] = r;
      const b = r.burst;
      const k = r.soak;
      if (k)
        soakRows.push([
          name,
          `${fmt(k.ackedUpTo)} of ${fmt(k.messages)}${k.stalled ? " STALLED" : ""}${k.cutShort ? ` (cut at ${fmt(k.ms / 60_000, 1)} min)` : ""}`,
          fmt(k.msgsPerSec),
          fmt(k.p50Ms, 1),
          fmt(k.p99Ms, 1),
          `${fmt(k.daemonRss.startMb)} → ${fmt(k.daemonRss.peakMb)} → ${fmt(k.daemonRss.endMb)}`,
          fmt(k.worldRssPeakMb),
        ]);
      else if (r.soakError) soakRows.push([name, `FAILED: ${r.soakError}`, "", "", "", "", ""]);
      got[name] = {
        tp: r.throughput.msgsPerSec,
        p50: r.latency.p50Ms,
        p99: r.latency.p99Ms,
        cpu: `${fmt(((r.throughput.daemonCpuMs ?? 0) / r.throughput.ms) * 100)}% / ${fmt((r.throughput.worldCpuMs / r.throughput.ms) * 100)}%`,
        burst: b
          ? `${fmt(b.ackedUpTo)} of ${fmt(b.messages)} in ${fmt(b.ms / 1000, 1)} s (${fmt(b.msgsPerSec)}/s, RSS peak +${fmt(b.daemonRss.peakMb - b.daemonRss.startMb)} MB)${b.stalled ? " STALLED" : ""}`
          : r.burstError
            ? `FAILED: ${r.burstError}`
            : "— (--full)",
      };
      rows[name] = r;
    } catch (err) {
      notes.push(`${name} daemon run failed: ${(err as Error).message}`);
      rows[name] = { error: (err as Error).message };
    }
  }
  for (const [name, g] of Object.entries(got))
    t.row(name, fmt(g.tp), fmt(g.p50, 1), fmt(g.p99, 1), g.cpu, g.burst);
  if (got.ours && got.reference)
    t.row(
      "ours / reference (target ≥ 3×, lower p99)",
      ratio(got.ours.tp, got.reference.tp),
      ratio(got.ours.p50, got.reference.p50),
      ratio(got.ours.p99, got.reference.p99),
      "",
      "",
    );
  t.print();
  console.log(
    `   latency: ${fmt(sizes.latency)} msgs offered at 250 msgs/s (1 every 4 ms, below both daemons' capacity), stub write → plugin push`,
  );
  if (soakRows.length > 0) {
    const k = new Table(`2c. Daemon soak: ${fmt(sizes.soak)} messages, window ${WINDOW}, same stub`, [
      "daemon",
      "acked",
      "msgs/s",
      "p50 ms",
      "p99 ms",
      "daemon RSS MB start → peak → end",
      "stub RSS peak MB",
    ]);
    for (const row of soakRows) k.row(...row);
    k.print();
    console.log(
      "   latency: stub append → plugin push of every message; acked = final cumulative DELIVERY_ACK",
    );
  }
  results.daemon = rows;
}

// ---------------------------------------------------------------- 3. simulator
if (only.has("sim")) {
  const rows = simBench(simSeeds, full);
  const t = new Table(`3. Simulator (swarm mode, ${simSeeds} seeds per scenario, all checkers on)`, [
    "scenario",
    "events/s",
    "ms/run",
    "virtual ×",
    "checker share",
    "fails",
  ]);
  for (const r of rows)
    t.row(
      r.scenario === standardScenario().name ? `${r.scenario} (standard seed)` : r.scenario,
      fmt(r.eventsPerSec),
      fmt(r.msPerRun, 1),
      fmt(r.compression),
      `${(r.checkerOverhead * 100).toFixed(0)}%`,
      String(r.failures),
    );
  t.print();
  const previous = previousStandardRow(resolve(values.out ?? "out/bench", "latest.json"), rows[0]!);
  const f = new Table(
    `3b. Standard seed (${rows[0]!.scenario}, swarm) against the project's performance targets` +
      (previous
        ? `; "before" is the last bench run's JSON (${previous.when}, commit ${previous.commit ?? "?"})`
        : ""),
    ["figure", "target", "now", "before", ""],
  );
  const figures = simFigures(rows[0]!, previous?.row);
  for (const x of figures) f.row(x.what, x.target, x.now, x.previous, x.met);
  f.print();
  results.sim = { rows, figures, standard: { scenario: standardScenario().name, drawn: standardDrawn(1) } };
}

// ---------------------------------------------------------------- 4. memory
if (only.has("memory")) {
  const r = memorySoakInChild(soakMessages);
  const t = new Table(`4. Memory soak: ${fmt(soakMessages)} targeted messages through the core`, [
    "msgs/s",
    "RSS before MB",
    "RSS after MB",
    "RSS growth MB (target < 50)",
    "heap growth MB",
  ]);
  t.row(
    fmt(r.msgsPerSec),
    fmt(r.rssBeforeMb, 1),
    fmt(r.rssAfterMb, 1),
    fmt(r.rssGrowthMb, 1),
    fmt(r.heapGrowthMb, 1),
  );
  t.print();
  console.log(`   bounded state at the end: ${JSON.stringify(r.bounded)}`);
  results.memory = r;
}

// ---------------------------------------------------------------- 5. targets
if (only.has("targets")) {
  const seeds = full ? [1, 2, 3, 4, 5] : [1, 2, 3];
  const rows = targetsBench(seeds);
  const t = new Table(
    `5. The same simulated workload through each target (happy-path, seeds ${seeds.join(",")}, no faults, no checkers)`,
    ["target", "messages", "msgs/s", "p50 step ms", "p99 step ms"],
  );
  for (const r of rows)
    t.row(r.target, fmt(r.messages), fmt(r.msgsPerSec), fmt(r.p50StepMs, 3), fmt(r.p99StepMs, 3));
  const ref = rows.find((r) => r.target === "reference");
  const pub = rows.find((r) => r.target === "published");
  if (ref && pub)
    t.row(
      "reference / published",
      "",
      ratio(ref.msgsPerSec, pub.msgsPerSec),
      `1 / ${(pub.p50StepMs / ref.p50StepMs).toFixed(0)}`,
      `1 / ${(pub.p99StepMs / ref.p99StepMs).toFixed(0)}`,
    );
  t.print();
  console.log(
    "   a step is one world input or deadline handled by the target; published = worker round trip included",
  );
  results.targets = { seeds, rows };
}

// ---------------------------------------------------------------- output
results.loadavgEnd = loadavg();
results.notes = notes;
results.wallSeconds = (performance.now() - started) / 1000;
for (const n of notes) console.log(`note: ${n}`);
const dir = resolve(values.out ?? "out/bench");
mkdirSync(dir, { recursive: true });
const text = `${JSON.stringify(results, null, 2)}\n`;
const stamp = String(results.when).replace(/[:.]/g, "-");
writeFileSync(join(dir, "latest.json"), text);
writeFileSync(join(dir, `bench-${stamp}.json`), text);
console.log(
  `\nload average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(
      " ",
    )} on ${cpus().length} cpus; ${fmt(results.wallSeconds as number, 0)} s; JSON: ${join(dir, "latest.json")}`,
);
// Sockets of the daemons are closed; stray keep-alive handles must not hold the process.
process.exit(0);

/** The standard-seed row of the previous bench JSON, if it measured the same scenario and seeds. */
function previousStandardRow(
  file: string,
  now: SimRow,
): { row: SimRow; when: string; commit: string | undefined } | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const prev = JSON.parse(readFileSync(file, "utf8")) as {
      when: string;
      commit?: string;
      sim?: { rows?: SimRow[] };
    };
    const row = prev.sim?.rows?.[0];
    if (!row || row.scenario !== now.scenario || row.runs !== now.runs) return undefined;
    return { row, when: prev.when, commit: prev.commit };
  } catch {
    return undefined;
  }
}

function gitCommit(): string | undefined {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { stdio: ["ignore", "pipe", "ignore"] })
      .toString()
      .trim();
  } catch {
    return undefined;
  }
}
