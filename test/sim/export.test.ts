import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ALL_CHECKERS } from "../../sim/checkers/index.ts";
import type { CheckerDef } from "../../sim/checkers/checker.ts";
import { main as exportCli } from "../../sim/export/cli.ts";
import { hashOf, metaFromReport } from "../../sim/export/files.ts";
import { chooseWindow, toHtml } from "../../sim/export/html.ts";
import { type PerfettoTrace, perfettoFrom, type TraceEvent, toPerfetto } from "../../sim/export/perfetto.ts";
import { parseTraceLines, parseTraceText } from "../../sim/export/records.ts";
import { buildTimeline, type Timeline } from "../../sim/export/timeline.ts";
import type { SimEvent } from "../../sim/kernel/events.ts";
import { runScenario } from "../../sim/run.ts";
import { happyPath } from "../../sim/scenarios/happy-path.ts";

/** The screenshot script honours the same variable. */
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

/** A failing run (the broker acks before the hand-off) and a full passing run, traced. */
function failingRun() {
  const recorded: SimEvent[] = [];
  const recorder: CheckerDef = {
    id: "REC",
    statement: "records every event (test helper, never fails)",
    kind: "safety",
    create: () => ({
      onEvent(ev) {
        recorded.push(ev);
        return undefined;
      },
    }),
  };
  const report = runScenario(happyPath, 2, {
    plantedFaults: { ackBeforeHandoff: true },
    recordTrace: true,
    checkers: [recorder, ...ALL_CHECKERS],
  });
  const lines = report.trace!;
  const meta = metaFromReport(report as unknown as Record<string, unknown>);
  return { report, lines, meta, recorded, timeline: buildTimeline(parseTraceLines(lines), meta) };
}

const failing = failingRun();
const passingReport = runScenario(happyPath, 1, { recordTrace: true });
const passing = buildTimeline(parseTraceText(passingReport.trace!.join("\n")), {
  scenario: "happy-path",
  seed: 1,
  ok: true,
});

/** Every rule of the trace-event format this exporter relies on; returns the broken ones. */
function traceEventProblems(trace: PerfettoTrace): string[] {
  const problems: string[] = [];
  if (!Array.isArray(trace.traceEvents)) return ["traceEvents is not an array"];
  if (trace.displayTimeUnit !== "ms") problems.push("displayTimeUnit is not ms");
  const names = new Map<string, { process?: string; thread?: string }>();
  const slices = new Map<string, TraceEvent[]>();
  const flows = new Map<number, { s?: TraceEvent; f?: TraceEvent; count: number }>();
  const lastTs = new Map<string, number>();
  for (const [k, e] of trace.traceEvents.entries()) {
    const where = `event ${k} (${e.ph} ${e.name})`;
    if (typeof e.name !== "string" || e.name === "") problems.push(`${where}: no name`);
    if (!["X", "i", "s", "f", "M"].includes(e.ph)) problems.push(`${where}: unexpected phase`);
    if (typeof e.ts !== "number" || !Number.isFinite(e.ts) || e.ts < 0) problems.push(`${where}: bad ts`);
    if (!Number.isInteger(e.pid) || !Number.isInteger(e.tid)) problems.push(`${where}: pid/tid not integers`);
    const track = `${e.pid}/${e.tid}`;
    if (e.ph === "M") {
      const n = names.get(`${e.pid}`) ?? {};
      if (e.name === "process_name" && typeof e.args?.name === "string") n.process = e.args.name;
      else if (e.name === "thread_name" && typeof e.args?.name === "string") {
        names.set(track, { ...names.get(track), thread: e.args.name });
      } else if (!(e.name.endsWith("_sort_index") && typeof e.args?.sort_index === "number")) {
        problems.push(`${where}: malformed metadata event`);
      }
      names.set(`${e.pid}`, n);
      continue;
    }
    if (e.ph === "X" || e.ph === "i") {
      if ((lastTs.get(track) ?? -1) > e.ts) problems.push(`${where}: ts goes backwards on track ${track}`);
      lastTs.set(track, e.ts);
    }
    if (e.ph === "X") {
      if (typeof e.dur !== "number" || e.dur <= 0) problems.push(`${where}: X without positive dur`);
      const list = slices.get(track) ?? [];
      const prev = list[list.length - 1];
      if (prev && prev.ts + prev.dur! > e.ts)
        problems.push(`${where}: overlaps the previous slice on ${track}`);
      list.push(e);
      slices.set(track, list);
    }
    if (e.ph === "i" && !["t", "p", "g"].includes(e.s ?? ""))
      problems.push(`${where}: instant without scope`);
    if (e.ph === "s" || e.ph === "f") {
      if (typeof e.id !== "number" || typeof e.cat !== "string")
        problems.push(`${where}: flow without id/cat`);
      if (e.ph === "f" && e.bp !== "e") problems.push(`${where}: flow finish without bp:"e"`);
      const fl = flows.get(e.id!) ?? { count: 0 };
      fl.count++;
      fl[e.ph] = e;
      flows.set(e.id!, fl);
    }
  }
  for (const e of trace.traceEvents) {
    if (e.ph === "M") continue;
    if (names.get(`${e.pid}`)?.process === undefined) problems.push(`pid ${e.pid} has no process_name`);
    if (names.get(`${e.pid}/${e.tid}`)?.thread === undefined)
      problems.push(`track ${e.pid}/${e.tid} has no thread_name`);
  }
  const encloses = (e: TraceEvent) =>
    (slices.get(`${e.pid}/${e.tid}`) ?? []).some((x) => x.ts <= e.ts && e.ts < x.ts + x.dur!);
  for (const [id, fl] of flows) {
    if (!fl.s || !fl.f || fl.count !== 2) problems.push(`flow ${id}: needs exactly one start and one finish`);
    else {
      if (fl.s.cat !== fl.f.cat) problems.push(`flow ${id}: start and finish categories differ`);
      if (fl.f.ts < fl.s.ts) problems.push(`flow ${id}: finishes before it starts`);
      if (!encloses(fl.s) || !encloses(fl.f)) problems.push(`flow ${id}: an end is not inside a slice`);
    }
  }
  return [...new Set(problems)].slice(0, 20);
}

function processNames(trace: PerfettoTrace): string[] {
  return trace.traceEvents.filter((e) => e.name === "process_name").map((e) => String(e.args?.name));
}

function linksInto(t: Timeline, pred: (label: string) => boolean, cat: string): number {
  return t.links.filter((l) => l.cat === cat && pred(t.nodes[l.to]!.label)).length;
}

describe("the Perfetto export", () => {
  it("follows the trace-event format for a failing run", () => {
    expect(traceEventProblems(toPerfetto(failing.timeline))).toEqual([]);
  });

  it("follows the trace-event format for a full passing run of thousands of events", () => {
    const trace = toPerfetto(passing);
    expect(trace.traceEvents.length).toBeGreaterThan(10_000);
    expect(traceEventProblems(trace)).toEqual([]);
  });

  it("round-trips through JSON unchanged", () => {
    const trace = toPerfetto(failing.timeline);
    expect(JSON.parse(JSON.stringify(trace))).toEqual(trace);
  });

  it("names one process per actor, each plugin included", () => {
    const names = processNames(toPerfetto(passing));
    for (const actor of ["connector server", "platform API", "platform control", "storage", "broker core"]) {
      expect(names).toContain(actor);
    }
    expect(names).toEqual(expect.arrayContaining(["plugin 101", "plugin 102", "plugin 103"]));
    expect(names).not.toContain("checkers");
  });

  it("marks the violation with an instant event on the checkers track", () => {
    const trace = toPerfetto(failing.timeline);
    const checkersPid = trace.traceEvents.find(
      (e) => e.name === "process_name" && e.args?.name === "checkers",
    )?.pid;
    expect(checkersPid).toBeDefined();
    const marks = trace.traceEvents.filter((e) => e.ph === "i" && e.pid === checkersPid);
    expect(marks).toHaveLength(1);
    expect(marks[0]!.name).toContain(failing.report.violation!.invariant);
    expect(marks[0]!.ts).toBeGreaterThanOrEqual(failing.report.violation!.atMs * 1000);
    expect(trace.metadata.verdict).toBe(`FAIL ${failing.report.violation!.invariant} (safety)`);
  });

  it("puts timestamps in virtual microseconds since the run start", () => {
    const trace = toPerfetto(failing.timeline);
    const first = failing.timeline.nodes.find((n) => n.label.startsWith("MESSAGE_RECEIVED seq 1"))!;
    const slice = trace.traceEvents.find((e) => e.ph === "X" && e.args?.label === first.label)!;
    expect(Math.floor(slice.ts / 1000)).toBe(first.t);
  });

  it("links every api call to its result and every ipc request to its response", () => {
    const t = passing;
    const results = t.nodes.filter((n) => n.kind === "in" && n.label.startsWith("api_result")).length;
    const responses = t.nodes.filter((n) => n.kind === "out" && n.label.startsWith("response ")).length;
    expect(results).toBeGreaterThan(100);
    expect(linksInto(t, (l) => l.startsWith("api_result"), "api")).toBe(results);
    expect(linksInto(t, (l) => l.startsWith("response "), "ipc")).toBe(responses);
  });

  it("follows an inbound message from the server to the DELIVERY_ACK that covers it", () => {
    const t = failing.timeline;
    const frame = t.nodes.find((n) => n.label === "MESSAGE_RECEIVED seq 1")!;
    const into = t.links.filter((l) => l.to === frame.i).map((l) => [t.nodes[l.from]!.label, l.cat]);
    expect(into).toContainEqual(["sent MESSAGE_RECEIVED seq 1 (msg-1)", "msg"]);
    expect(into).toContainEqual(["send MESSAGE_RECEIVED", "wire"]);
    const out = t.links.filter((l) => l.from === frame.i && l.cat === "msg").map((l) => t.nodes[l.to]!.label);
    expect(out).toContain("DELIVERY_ACK 1");
  });

  it("continues a message's path through the platform's answer to the push that delivers it", () => {
    const t = passing;
    const viaResult = t.links.filter(
      (l) =>
        l.cat === "msg" &&
        t.nodes[l.from]!.label.startsWith("api_result") &&
        t.nodes[l.to]!.label.startsWith("push message_received"),
    );
    expect(viaResult.length).toBeGreaterThan(0);
    const push = viaResult[0]!.to;
    const onward = t.links.filter((l) => l.from === push && l.cat === "msg").map((l) => t.nodes[l.to]!.label);
    expect(onward.some((l) => l.startsWith("DELIVERY_ACK"))).toBe(true);
  });

  it("links the event that tripped the checker to the violation", () => {
    const t = failing.timeline;
    const v = t.nodes[t.violationNode!]!;
    const into = t.links.filter((l) => l.to === v.i);
    expect(into).toHaveLength(1);
    expect(t.nodes[into[0]!.from]!.label).toBe("DELIVERY_ACK 1");
    expect(t.nodes[into[0]!.from]!.trigger).toBe(true);
  });

  it("accepts in-memory SimEvents as well as trace lines", () => {
    const trace = perfettoFrom(failing.recorded, failing.meta);
    expect(traceEventProblems(trace)).toEqual([]);
    const labels = trace.traceEvents.map((e) => e.args?.label);
    expect(labels).toContain("DELIVERY_ACK 1");
  });

  it("recomputes the run's trace hash from the trace lines", () => {
    expect(hashOf(failing.lines)).toBe(failing.report.traceHash);
  });
});

describe("the HTML timeline", () => {
  const html = toHtml(failing.timeline);

  it("loads nothing from the network", () => {
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?\s*(https?:)?\/\//i);
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).not.toMatch(/<link\b|@import|@font-face|\bfetch\(|XMLHttpRequest|WebSocket|import\(/);
    expect(html).not.toMatch(/<script[^>]*\bsrc=/i);
  });

  it("has a lane per actor and highlights the violation", () => {
    const data = JSON.parse(
      /<script type="application\/json" id="sim-data">([\s\S]*?)<\/script>/.exec(html)![1]!,
    );
    const lanes = data.lanes.map((l: { title: string }) => l.title);
    expect(lanes).toEqual(
      expect.arrayContaining([
        "connector server",
        "platform API",
        "broker core",
        "storage",
        "plugin 101",
        "checkers",
      ]),
    );
    const v = failing.report.violation!;
    expect(html).toContain(`${v.invariant} (${v.kind}) at ${v.atMs} ms`);
    expect(html).toContain("FAIL S1 (safety)");
    expect(html).toContain(failing.report.traceHash);
    expect(data.nodes.find((n: { i: number }) => n.i === data.violation).violation).toBe(true);
  });

  it("caps a long run to a window and says so on the page", () => {
    const page = toHtml(passing);
    const data = JSON.parse(/id="sim-data">([\s\S]*?)<\/script>/.exec(page)![1]!);
    expect(data.nodes).toHaveLength(3000);
    expect(page).toContain(`showing 3000 events from 0 ms (events 0–2999 of ${passing.nodes.length})`);
  });

  it("keeps the violation inside the window when a failing run is cut", () => {
    const win = chooseWindow(failing.timeline, { maxEvents: 20 });
    expect(win.hi - win.lo).toBe(20);
    expect(failing.timeline.violationNode!).toBeGreaterThanOrEqual(win.lo);
    expect(failing.timeline.violationNode!).toBeLessThan(win.hi);
  });

  it("renders in headless Chromium with no network", (ctx) => {
    ctx.skip(!existsSync(CHROMIUM), `${CHROMIUM} is not installed (apt-get install -y chromium)`);
    mkdirSync("out/test-export", { recursive: true });
    writeFileSync("out/test-export/failing.html", html);
    execFileSync("scripts/screenshot-timeline.sh", [
      "out/test-export/failing.html",
      "out/test-export/failing.png",
    ]);
    const png = readFileSync("out/test-export/failing.png");
    expect(png.subarray(1, 4).toString()).toBe("PNG");
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1400, 900]);
    // The script ran: the SVG holds the drawn arrows and the lane headers are filled in.
    const profile = mkdtempSync(join(tmpdir(), "sim-export-chromium-"));
    const dom = execFileSync(
      CHROMIUM,
      [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--virtual-time-budget=5000",
        `--user-data-dir=${profile}`,
        "--dump-dom",
        `file://${process.cwd()}/out/test-export/failing.html`,
      ],
      { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
    );
    rmSync(profile, { recursive: true, force: true });
    expect(dom).toMatch(/<path id="L0"/);
    expect(dom).toContain(">broker core</div>");
  });
});

describe("trace records and the export CLI", () => {
  it("reads crash lines and keeps unknown lines visible instead of dropping them", () => {
    const t = buildTimeline(
      parseTraceText('{"t":5,"k":"crash","inc":1}\n{"t":6,"k":"weather","v":"rain"}\nnot json\n'),
    );
    expect(t.nodes.map((n) => n.label)).toEqual([
      "broker crash #1",
      '{"t":6,"k":"weather","v":"rain"}',
      '"not json"',
    ]);
  });

  it("writes the Perfetto JSON and the HTML from a trace file and the runner's report", () => {
    mkdirSync("out/test-export", { recursive: true });
    writeFileSync("out/test-export/cli.jsonl", `${failing.lines.join("\n")}\n`);
    const { trace: _omit, ...report } = failing.report;
    writeFileSync("out/test-export/cli.report.json", JSON.stringify(report));
    const out: string[] = [];
    const code = exportCli(
      [
        "out/test-export/cli.jsonl",
        "--report",
        "out/test-export/cli.report.json",
        "--out-dir",
        "out/test-export",
      ],
      { out: (l) => out.push(l), err: (l) => out.push(l) },
    );
    expect(code).toBe(0);
    expect(out.join("\n")).toContain("out/test-export/cli.perfetto.json");
    const trace = JSON.parse(readFileSync("out/test-export/cli.perfetto.json", "utf8")) as PerfettoTrace;
    expect(trace.metadata.traceHash).toBe(failing.report.traceHash);
    expect(readFileSync("out/test-export/cli.html", "utf8")).toContain("FAIL S1 (safety)");
  });

  it("rejects a call with no trace file and no scenario as a usage error", () => {
    const err: string[] = [];
    expect(exportCli([], { out: () => {}, err: (l) => err.push(l) })).toBe(2);
    expect(err[0]).toContain("expected exactly one trace file");
  });
});
