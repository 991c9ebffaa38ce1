/**
 * A self-contained HTML timeline / sequence diagram of one run: inline CSS, inline script, the data
 * as a JSON island, inline SVG. No network, no external fonts: it opens from a file:// URL or an
 * e-mail attachment.
 *
 * A full run has tens of thousands of events, which a browser draws slowly and nobody reads, so the
 * page shows a window of at most `maxEvents` consecutive events (default 3000) and says so in its
 * header: for a failed run the window ends just after the violation, otherwise it starts at
 * `fromMs` (default the beginning). Arrows that leave the window end at its top or bottom edge.
 * The Perfetto export always has every event.
 */

import { verdictOf } from "./perfetto.ts";
import { CLIENT_CSS, CLIENT_JS } from "./html-client.ts";
import type { Timeline } from "./timeline.ts";

export interface HtmlOptions {
  /** Most events drawn (default 3000). */
  maxEvents?: number;
  /** For a passing run: start the window at the first event at or after this virtual ms. */
  fromMs?: number;
  /** Page title; defaults to scenario and seed. */
  title?: string;
}

export const HTML_MAX_EVENTS_DEFAULT = 3000;

/** Events kept after the violation when the window is cut (arrivals already in flight). */
const AFTER_VIOLATION = 40;

export interface HtmlWindow {
  lo: number;
  hi: number;
  total: number;
  reason: string;
}

export function chooseWindow(timeline: Timeline, opts: HtmlOptions = {}): HtmlWindow {
  const total = timeline.nodes.length;
  const max = Math.max(1, opts.maxEvents ?? HTML_MAX_EVENTS_DEFAULT);
  if (total <= max) return { lo: 0, hi: total, total, reason: `all ${total} events` };
  const v = timeline.violationNode;
  if (v !== undefined) {
    const hi = Math.min(total, v + 1 + AFTER_VIOLATION);
    const lo = Math.max(0, hi - max);
    return { lo, hi, total, reason: `the ${hi - lo} events leading up to the violation` };
  }
  let lo = 0;
  if (opts.fromMs !== undefined) {
    const from = opts.fromMs;
    const k = timeline.nodes.findIndex((n) => n.t >= from);
    lo = k < 0 ? Math.max(0, total - max) : Math.min(k, total - max);
  }
  const hi = Math.min(total, lo + max);
  return { lo, hi, total, reason: `${hi - lo} events from ${timeline.nodes[lo]?.t ?? 0} ms` };
}

export function toHtml(timeline: Timeline, opts: HtmlOptions = {}): string {
  const win = chooseWindow(timeline, opts);
  const laneIndex = new Map(timeline.lanes.map((l, k) => [l.id, k]));
  const shown = timeline.nodes.slice(win.lo, win.hi);
  const nodes = shown.map((n) => ({
    i: n.i,
    t: n.t,
    lane: laneIndex.get(n.lane)!,
    thread: n.thread,
    kind: n.kind,
    label: n.label,
    data: n.data,
    ...(n.lost ? { lost: true } : {}),
    ...(n.inFlight ? { inFlight: true } : {}),
    ...(n.trigger ? { trigger: true } : {}),
    ...(n.kind === "violation" ? { violation: true } : {}),
  }));
  const inWin = (k: number) => k >= win.lo && k < win.hi;
  const links = timeline.links
    .filter((l) => inWin(l.from) || inWin(l.to))
    .map((l) => [
      l.from,
      l.to,
      l.cat,
      laneIndex.get(timeline.nodes[l.from]!.lane)!,
      laneIndex.get(timeline.nodes[l.to]!.lane)!,
    ]);
  const data = {
    lanes: timeline.lanes.map((l) => ({ id: l.id, title: l.title })),
    nodes,
    links,
    window: { lo: win.lo, hi: win.hi, total: win.total },
    violation: timeline.violationNode ?? null,
  };
  const m = timeline.meta;
  const verdict = verdictOf(m);
  const badge = m.violation || m.ok === false ? "fail" : m.ok === true ? "pass" : "unknown";
  const title = opts.title ?? `${m.scenario ?? "run"}${m.seed === undefined ? "" : ` seed ${m.seed}`}`;
  const windowNote =
    win.hi - win.lo < win.total
      ? `showing ${win.reason} (events ${win.lo}–${win.hi - 1} of ${win.total}); the Perfetto export has all of them`
      : `showing ${win.reason}`;
  const v = m.violation;
  const violationBox = v
    ? `<div id="viol"><span class="inv">${esc(v.invariant)} (${esc(v.kind)}) at ${v.atMs} ms</span> — ${esc(v.message)}` +
      (v.statement ? `<div class="kv">invariant: ${esc(v.statement)}</div>` : "") +
      (v.involved && v.involved.length > 0
        ? `<ul>${v.involved.map((x) => `<li>${esc(x)}</li>`).join("")}</ul>`
        : "") +
      ` <button id="jump" type="button">jump to violation</button></div>`
    : "";
  const legend = ["wire", "msg", "api", "ipc", "storage", "violation"]
    .map(
      (c) =>
        `<label><input type="checkbox" value="${c}"><span class="sw lk-${c}"></span>${LEGEND[c]}</label>`,
    )
    .join("");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} — ${esc(verdict)}</title>
<style>${CLIENT_CSS}
.lk-wire { background: #8a94a6; } .lk-msg { background: #2b8a3e; } .lk-api { background: #1c7ed6; }
.lk-ipc { background: #ae3ec9; } .lk-storage { background: #e67700; } .lk-violation { background: #e03131; }
</style>
</head>
<body>
<div id="hdr">
<h1>${esc(title)} <span class="badge ${badge}">${esc(verdict)}</span></h1>
<div><span class="kv">scenario <b>${esc(m.scenario ?? "?")}</b></span><span class="kv">seed <b>${m.seed ?? "?"}</b></span><span class="kv">trace hash <b>${esc(m.traceHash ?? "?")}</b></span><span class="kv">events <b>${win.total}</b></span><span class="kv">${esc(windowNote)}</span></div>
${m.rerun ? `<div class="kv">${esc(m.rerun)}</div>` : ""}
${violationBox}
<div id="legend">arrows: ${legend} <span class="kv">· hover an event for its JSON, click to pin · hollow dot = lost in flight</span></div>
</div>
<div id="main"><div id="lanes"></div><svg id="tl" role="img" aria-label="timeline"></svg></div>
<div id="panel"><div id="detail"></div></div>
<script type="application/json" id="sim-data">${jsonForScript(data)}</script>
<script>${CLIENT_JS}</script>
</body>
</html>
`;
}

const LEGEND: Record<string, string> = {
  wire: "wire hop",
  msg: "message path",
  api: "api call→result",
  ipc: "ipc request→response",
  storage: "storage op→result",
  violation: "violation",
};

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON that cannot close the script element or open a comment inside it. */
function jsonForScript(v: unknown): string {
  return JSON.stringify(v)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}
