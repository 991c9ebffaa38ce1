/**
 * The stylesheet and script inlined into the HTML timeline. Plain strings (no template literals
 * inside the script) so they reach the browser exactly as written; nothing here loads anything
 * from the network. The script reads the JSON island `#sim-data` written by `html.ts`.
 *
 * Drawing: one row per event, top to bottom in time order, one column per actor lane. A jump of
 * a second or more between rows gets a dashed separator with the elapsed time. Arrows: wire hops
 * are solid, logical links (message path, api, ipc, storage) dashed; each category can be toggled.
 * Hovering an event shows its JSON and lights up its arrows; clicking pins it.
 */

export const CLIENT_CSS = `
* { box-sizing: border-box; }
body { margin: 0; font: 12px/1.35 ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace;
  color: #1d2330; background: #fff; }
#hdr { position: fixed; top: 0; left: 0; right: 0; max-height: 45vh; padding: 8px 12px; background: #f5f6f8;
  border-bottom: 1px solid #cfd4dc; overflow: auto; z-index: 3; }
#hdr h1 { font-size: 15px; margin: 0 0 4px 0; display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
.badge { padding: 1px 8px; border-radius: 10px; color: #fff; font-size: 12px; }
.pass { background: #2b8a3e; } .fail { background: #e03131; } .unknown { background: #868e96; }
.kv { color: #5c6370; margin-right: 14px; }
.kv b { color: #1d2330; font-weight: 600; }
#viol { margin: 6px 0; padding: 6px 8px; border-left: 4px solid #e03131; background: #fff0f0; }
#viol .inv { font-weight: 700; color: #c92a2a; }
#viol ul { margin: 2px 0 0 16px; padding: 0; }
button { font: inherit; font-size: 11px; padding: 1px 6px; cursor: pointer; }
#legend label { margin-right: 10px; white-space: nowrap; }
.sw { display: inline-block; width: 18px; height: 3px; vertical-align: middle; margin-right: 3px; }
#main { position: fixed; top: var(--hdr, 120px); left: 0; right: 380px; bottom: 0; overflow: auto; }
#lanes { position: sticky; top: 0; height: 34px; background: #fff; border-bottom: 1px solid #cfd4dc; z-index: 2; }
#lanes div { position: absolute; top: 0; height: 34px; padding: 2px 4px; font-size: 11px; line-height: 15px;
  font-weight: 600; border-left: 1px solid #e3e6ea; overflow: hidden; display: flex; align-items: center; }
#lanes div.tcol { font-weight: 400; color: #868e96; border-left: 0; }
#panel { position: fixed; top: var(--hdr, 120px); right: 0; width: 380px; bottom: 0; overflow: auto; padding: 8px 10px;
  background: #fafbfc; border-left: 1px solid #cfd4dc; }
#panel pre { white-space: pre-wrap; word-break: break-all; background: #fff; border: 1px solid #e3e6ea; padding: 6px;
  font-size: 11px; }
#panel .rel { cursor: pointer; color: #1c7ed6; }
#panel .rel:hover { text-decoration: underline; }
#panel .pin { color: #e67700; }
svg text { font-size: 11px; fill: #1d2330; pointer-events: none; paint-order: stroke; stroke: #fff; stroke-width: 3px;
  stroke-linejoin: round; }
svg .tm { fill: #868e96; }
svg .gap { fill: #adb5bd; font-style: italic; }
svg .lane { stroke: #e3e6ea; }
svg .row { fill: transparent; }
svg .row:hover, svg .row.hot { fill: #e7f5ff; }
svg .row.sel { fill: #d0ebff; }
svg .row.vrow { fill: #ffc9c9; }
svg .row.trow { fill: #ffe3e3; }
svg .lk { fill: none; stroke-width: 1.2; opacity: .75; }
svg .lk.hot { stroke-width: 2.6; opacity: 1; }
svg .wire { stroke: #8a94a6; } svg .msg { stroke: #2b8a3e; stroke-dasharray: 5 3; }
svg .api { stroke: #1c7ed6; stroke-dasharray: 5 3; } svg .ipc { stroke: #ae3ec9; stroke-dasharray: 5 3; }
svg .storage { stroke: #e67700; stroke-dasharray: 5 3; } svg .violation { stroke: #e03131; stroke-width: 2; }
svg .off { display: none; } svg .off.hot { display: inline; }
svg .dot { stroke: #fff; stroke-width: 1; }
svg .lost { fill: #fff !important; stroke: #e03131; stroke-width: 1.5; }
`;

export const CLIENT_JS = `
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("sim-data").textContent);
  var ROW = 18, LEFT = 62, GAPH = 16, GAPMS = 1000, LABEL_CHARS = 46, LABEL_ROOM = 300;
  var mainW = document.getElementById("main").clientWidth || 1000;
  // One event per row, so a label may run across the empty lanes to its right: lanes can be narrow.
  var LANEW = Math.max(84, Math.min(200, Math.floor((mainW - LEFT - 120) / Math.max(1, D.lanes.length))));
  var COLORS = { "in": "#1c7ed6", out: "#2b8a3e", send: "#5c7cfa", recv: "#868e96", drop: "#e03131",
    hold: "#f08c00", fact: "#ae3ec9", life: "#343a40", violation: "#e03131", other: "#adb5bd" };
  var CATS = ["wire", "msg", "api", "ipc", "storage", "violation"];
  var SHOWN = { wire: true, msg: true, api: false, ipc: false, storage: false, violation: true };
  var nodes = D.nodes, links = D.links, lanes = D.lanes;
  var laneX = {};
  lanes.forEach(function (l, k) { laneX[k] = LEFT + k * LANEW + 14; });
  var width = LEFT + lanes.length * LANEW + LABEL_ROOM;

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function fmtMs(ms) { return ms >= 1000 ? (ms / 1000).toFixed(ms >= 10000 ? 1 : 2) + " s" : ms + " ms"; }

  var y = [], parts = [], gaps = [], yy = 8;
  for (var i = 0; i < nodes.length; i++) {
    if (i > 0 && nodes[i].t - nodes[i - 1].t >= GAPMS) { gaps.push([yy + GAPH / 2, nodes[i].t - nodes[i - 1].t]); yy += GAPH; }
    y.push(yy + ROW / 2);
    yy += ROW;
  }
  var height = yy + 24;
  var byNode = nodes.map(function () { return []; });

  function rowY(k) {
    if (k < D.window.lo) return 0;
    if (k >= D.window.hi) return height - 4;
    return y[k - D.window.lo];
  }
  parts.push('<g>');
  lanes.forEach(function (l, k) {
    parts.push('<line class="lane" x1="' + laneX[k] + '" y1="0" x2="' + laneX[k] + '" y2="' + height + '"/>');
  });
  gaps.forEach(function (g) {
    parts.push('<line class="lane" stroke-dasharray="3 4" x1="0" x2="' + width + '" y1="' + g[0] + '" y2="' + g[0] + '"/>');
    parts.push('<text class="gap" x="4" y="' + (g[0] + 4) + '">+' + fmtMs(g[1]) + '</text>');
  });
  parts.push('</g><g id="rows">');
  nodes.forEach(function (n, k) {
    var cls = "row" + (n.violation ? " vrow" : n.trigger ? " trow" : "");
    parts.push('<rect class="' + cls + '" data-k="' + k + '" x="0" y="' + (y[k] - ROW / 2) + '" width="' + width + '" height="' + ROW + '"/>');
  });
  parts.push('</g><g id="links">');
  links.forEach(function (l, j) {
    var a = l[0], b = l[1], cat = l[2];
    var ia = a - D.window.lo, ib = b - D.window.lo;
    var na = nodes[ia], nb = nodes[ib];
    var xa = laneX[l[3]], xb = laneX[l[4]];
    var ya = rowY(a), yb = rowY(b), d;
    if (xa === xb) {
      var bend = xa + 26 + Math.min(40, Math.abs(yb - ya) / 8);
      d = "M" + xa + "," + ya + " C" + bend + "," + ya + " " + bend + "," + yb + " " + xb + "," + yb;
    } else {
      d = "M" + xa + "," + ya + " L" + xb + "," + yb;
    }
    parts.push('<path id="L' + j + '" class="lk ' + cat + (SHOWN[cat] ? "" : " off") + '" marker-end="url(#ah-' + cat + ')" d="' + d + '"/>');
    if (na) byNode[ia].push(j);
    if (nb) byNode[ib].push(j);
  });
  parts.push('</g><g id="dots">');
  nodes.forEach(function (n, k) {
    var x = laneX[n.lane], col = COLORS[n.kind] || "#adb5bd";
    var shape = n.kind === "violation"
      ? '<path class="dot" fill="' + col + '" d="M' + x + "," + (y[k] - 7) + " l7,7 l-7,7 l-7,-7 z" + '"/>'
      : '<circle class="dot' + (n.lost ? " lost" : "") + '" fill="' + col + '" cx="' + x + '" cy="' + y[k] + '" r="4.2"/>';
    var label = n.label.length > LABEL_CHARS ? n.label.slice(0, LABEL_CHARS - 1) + "…" : n.label;
    parts.push(shape + '<text x="' + (x + 8) + '" y="' + (y[k] + 4) + '"' + (n.violation ? ' style="fill:#c92a2a;font-weight:700"' : "") + '>' + esc(label) + '</text>');
    parts.push('<text class="tm" x="4" y="' + (y[k] + 4) + '">' + n.t + '</text>');
  });
  parts.push('</g>');
  var defs = '<defs>' + CATS.map(function (c) {
    return '<marker id="ah-' + c + '" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">' +
      '<path d="M0,0 L10,5 L0,10 z" class="' + c + '" style="fill:currentColor;stroke:none"/></marker>';
  }).join("") + '</defs>';
  var svg = document.getElementById("tl");
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.innerHTML = defs + parts.join("");
  CATS.forEach(function (c) {
    var m = svg.querySelector("#ah-" + c + " path");
    var probe = svg.querySelector("path.lk." + c);
    m.style.fill = probe ? getComputedStyle(probe).stroke : "#888";
  });

  var head = document.getElementById("lanes");
  head.style.width = width + "px";
  var hp = ['<div class="tcol" style="left:0;width:' + LEFT + 'px">ms</div>'];
  lanes.forEach(function (l, k) {
    hp.push('<div title="' + esc(l.title) + '" style="left:' + (laneX[k] - 6) + "px;width:" + LANEW + 'px">' + esc(l.title) + "</div>");
  });
  head.innerHTML = hp.join("");

  var panel = document.getElementById("detail");
  var pinned = -1, hot = [];
  function light(k, on) {
    if (k < 0 || !byNode[k]) return;
    byNode[k].forEach(function (j) { var e = document.getElementById("L" + j); if (e) e.classList.toggle("hot", on); });
    var r = svg.querySelector('#rows rect[data-k="' + k + '"]');
    if (r) r.classList.toggle("hot", on);
  }
  function show(k) {
    var n = nodes[k];
    var rel = byNode[k].map(function (j) {
      var l = links[j], other = l[0] === n.i ? l[1] : l[0], dir = l[0] === n.i ? "→" : "←";
      var o = nodes[other - D.window.lo];
      var txt = o ? "#" + other + " " + o.label + " @" + o.t + " ms" : "#" + other + " (outside the shown window)";
      return '<div class="rel" data-go="' + (o ? other - D.window.lo : -1) + '">' + dir + " " + l[2] + ": " + esc(txt) + "</div>";
    }).join("");
    panel.innerHTML = (pinned === k ? '<div class="pin">pinned (click again or Esc to unpin)</div>' : "") +
      "<div><b>#" + n.i + "</b> at <b>" + n.t + " ms</b> · " + esc(lanes[n.lane].title) + " / " + esc(n.thread) + " · " + n.kind + "</div>" +
      "<div><b>" + esc(n.label) + "</b></div>" +
      (n.lost ? '<div style="color:#c92a2a">sent but never delivered (lost in flight)</div>' : "") +
      (n.trigger ? '<div style="color:#c92a2a">this event tripped the checker</div>' : "") +
      (n.inFlight ? "<div>still in flight when the run stopped</div>" : "") +
      (rel ? "<div style=\\"margin-top:6px\\">" + rel + "</div>" : "") +
      "<pre>" + esc(JSON.stringify(n.data, null, 2)) + "</pre>";
  }
  function go(k, pin) {
    if (k < 0) return;
    var main = document.getElementById("main");
    main.scrollTop = Math.max(0, y[k] - main.clientHeight / 2);
    var x = laneX[nodes[k].lane];
    if (x < main.scrollLeft + 10 || x > main.scrollLeft + main.clientWidth - 40) main.scrollLeft = Math.max(0, x - main.clientWidth / 2);
    if (pin) select(k);
    else { light(k, true); hot = [k]; show(k); }
  }
  function select(k) {
    var prev = svg.querySelector("#rows rect.sel");
    if (prev) prev.classList.remove("sel");
    light(pinned, false);
    pinned = pinned === k ? -1 : k;
    if (pinned >= 0) {
      svg.querySelector('#rows rect[data-k="' + k + '"]').classList.add("sel");
      light(pinned, true);
    }
    show(k);
  }
  svg.addEventListener("mouseover", function (ev) {
    var r = ev.target.closest("[data-k]");
    if (!r) return;
    var k = Number(r.getAttribute("data-k"));
    hot.forEach(function (h) { if (h !== pinned) light(h, false); });
    hot = [k];
    light(k, true);
    if (pinned < 0) show(k);
  });
  svg.addEventListener("click", function (ev) {
    var r = ev.target.closest("[data-k]");
    if (r) select(Number(r.getAttribute("data-k")));
  });
  panel.addEventListener("click", function (ev) {
    var r = ev.target.closest("[data-go]");
    if (r) { var was = pinned; if (was >= 0) select(was); go(Number(r.getAttribute("data-go")), true); }
  });
  document.addEventListener("keydown", function (ev) { if (ev.key === "Escape" && pinned >= 0) select(pinned); });
  document.querySelectorAll("#legend input").forEach(function (box) {
    box.checked = SHOWN[box.value];
    box.addEventListener("change", function () {
      svg.querySelectorAll("path.lk." + box.value).forEach(function (p) { p.classList.toggle("off", !box.checked); });
    });
  });
  var hdr = document.getElementById("hdr");
  document.documentElement.style.setProperty("--hdr", hdr.offsetHeight + "px");
  var vb = document.getElementById("jump");
  var vk = D.violation === null ? -1 : D.violation - D.window.lo;
  if (vb) vb.addEventListener("click", function () { if (pinned >= 0) select(pinned); go(vk, true); });
  if (vk >= 0 && vk < nodes.length) go(vk, false);
  else if (nodes.length > 0) show(0);
})();
`;
