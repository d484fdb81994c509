// The fairmesh dashboard: polls the node's JSON API once a second and
// draws what it saw. No dependencies, no build step.
"use strict";

// Distinct, exact colours: the screenshot test looks for them.
const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"];
// How much history the chart spans: ?span=1m (any Go-style duration),
// else five minutes.
const SPAN = new URLSearchParams(location.search).get("span");
const HISTORY_MS = (SPAN ? seconds(SPAN) : 300) * 1000;
const MAX_CLIENTS = 8; // in the chart: the busiest ones

const history = new Map(); // client -> [{t, admitted, allowance}]
let last = null; // the previous status, for rates

function text(s) { return document.createTextNode(String(s)); }

function seconds(d) {
  // Go durations as the API prints them: "1s", "500ms", "1m0s", "1h0m0s".
  let total = 0;
  const re = /([0-9.]+)(h|ms|m|s|µs|us|ns)/g;
  let m;
  while ((m = re.exec(d)) !== null) {
    const v = parseFloat(m[1]);
    total += v * { h: 3600, m: 60, s: 1, ms: 1e-3, "µs": 1e-6, us: 1e-6, ns: 1e-9 }[m[2]];
  }
  return total || 1;
}

function fmt(v) {
  if (v < 0) return "∞";
  if (v >= 1e6) return (v / 1e6).toFixed(1) + "M";
  if (v >= 1e4) return (v / 1e3).toFixed(1) + "k";
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

function bytes(v) {
  if (v >= 1 << 20) return (v / (1 << 20)).toFixed(1) + " MiB";
  if (v >= 1 << 10) return (v / (1 << 10)).toFixed(1) + " KiB";
  return Math.round(v) + " B";
}

async function getJSON(path) {
  const r = await fetch(path, { cache: "no-store" });
  if (!r.ok) throw new Error(path + ": " + r.status);
  return r.json();
}

function setRows(tbody, rows) {
  tbody.replaceChildren(...rows.map(cells => {
    const tr = document.createElement("tr");
    for (const c of cells) {
      const td = document.createElement("td");
      if (c && typeof c === "object") { td.className = c.cls; td.append(text(c.v)); } else td.append(text(c));
      tr.append(td);
    }
    return tr;
  }));
}

function renderStatus(st, now) {
  document.getElementById("node").replaceChildren(text(st.node_id + " · " + st.partition));
  const banner = document.getElementById("banner");
  const warn = [...(st.warnings || [])];
  if (st.fenced) warn.unshift("This node is fenced: its lease ran out, it admits nothing until enough members confirm hearing it.");
  banner.hidden = warn.length === 0;
  banner.replaceChildren(text(warn.join(" ")));
  const alive = st.members.filter(m => m.state === "alive").length;
  document.getElementById("members-summary").replaceChildren(text((alive + 1) + " of " + (st.members.length + 1) + " alive"));
  document.getElementById("capacity").replaceChildren(text(st.capacity > 0 ? st.capacity + " / " + st.capacity_period : "none"));
  if (last) {
    const dt = (now - last.t) / 1000;
    const c = st.counters, p = last.st.counters;
    if (dt > 0) {
      const decided = (c.admitted + c.denied - p.admitted - p.denied) / dt;
      document.getElementById("decided").replaceChildren(text(fmt(Math.max(0, decided))));
      document.getElementById("gossip").replaceChildren(text(bytes((c.bytes_sent - p.bytes_sent) / dt) + "/s · " + fmt((c.messages_received - p.messages_received) / dt) + " msg/s"));
    }
  }
  const a = st.counters.audit;
  document.getElementById("over").replaceChildren(text(st.capacity > 0
    ? a.over_windows + " of " + a.windows + " windows over" + (a.over_requests ? " (+" + a.over_requests + " requests)" : "") +
      (a.incomplete ? "; " + a.incomplete + " incomplete" : "") + (a.windows ? "; last " + a.last_admitted + "/" + st.capacity : "")
    : "no capacity to audit"));
  last = { t: now, st };
  setRows(document.querySelector("#member-table tbody"), [[st.node_id + " (this node)", { v: "alive", cls: "state-alive" }],
    ...st.members.map(m => [m.id, { v: m.state, cls: "state-" + m.state }])]);
}

function renderClients(list, now) {
  const clients = list.clients;
  for (const c of clients) {
    const w = seconds(c.window);
    const h = history.get(c.id) || [];
    h.push({ t: now, admitted: c.prev_admitted / w, allowance: c.allowance < 0 ? null : c.allowance / w });
    while (h.length && h[0].t < now - HISTORY_MS) h.shift();
    history.set(c.id, h);
  }
  setRows(document.querySelector("#clients tbody"), clients.map(c => [
    c.id, c.config.weight, c.config.limited ? c.config.rate + "/" + c.config.period : "none", c.state,
    fmt(c.allowance), fmt(c.slice), c.admitted, c.denied, c.mesh_demand]));
  drawChart(clients, now);
}

function drawChart(clients, now) {
  const svg = document.getElementById("chart");
  const W = 960, H = 320, L = 48, R = 12, T = 12, B = 24;
  const shown = [...clients].sort((a, b) => (b.prev_admitted - a.prev_admitted) || a.id.localeCompare(b.id))
    .slice(0, MAX_CLIENTS).sort((a, b) => a.id.localeCompare(b.id));
  let ymax = 1;
  for (const c of shown) for (const p of history.get(c.id) || []) ymax = Math.max(ymax, p.admitted, p.allowance || 0);
  ymax *= 1.1;
  const x = t => L + (W - L - R) * (1 - (now - t) / HISTORY_MS);
  const y = v => T + (H - T - B) * (1 - v / ymax);
  const ns = "http://www.w3.org/2000/svg";
  const el = (name, attrs, parent) => {
    const e = document.createElementNS(ns, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    (parent || svg).append(e);
    return e;
  };
  svg.replaceChildren();
  for (let i = 0; i <= 4; i++) {
    const v = ymax * i / 4;
    el("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: "#eceef2" });
    el("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end", "font-size": 11, fill: "#6b7280" }).append(text(fmt(Math.round(v))));
  }
  el("text", { x: W - R, y: H - 6, "text-anchor": "end", "font-size": 11, fill: "#6b7280" }).append(text("now"));
  el("text", { x: L, y: H - 6, "font-size": 11, fill: "#6b7280" }).append(text(Math.round(HISTORY_MS / 1000) + " s ago"));
  const legend = document.getElementById("legend");
  legend.replaceChildren();
  shown.forEach((c, i) => {
    const color = PALETTE[i % PALETTE.length];
    const h = history.get(c.id) || [];
    const pts = h.map(p => x(p.t).toFixed(1) + "," + y(p.admitted).toFixed(1));
    if (pts.length) el("path", { class: "admitted", "data-client": c.id, d: "M" + pts.join("L"), fill: "none", stroke: color, "stroke-width": 2 });
    const al = h.filter(p => p.allowance !== null).map(p => x(p.t).toFixed(1) + "," + y(p.allowance).toFixed(1));
    if (al.length) el("path", { class: "allowance", "data-client": c.id, d: "M" + al.join("L"), fill: "none", stroke: color, "stroke-width": 1.5, "stroke-dasharray": "5 4" });
    const item = document.createElement("span");
    item.className = "legend-item";
    item.dataset.client = c.id;
    const sw = document.createElementNS(ns, "svg");
    sw.setAttribute("viewBox", "0 0 18 12");
    const r = document.createElementNS(ns, "rect");
    for (const [k, v] of Object.entries({ class: "legend-swatch", width: 18, height: 12, fill: color })) r.setAttribute(k, v);
    sw.append(r);
    item.append(sw, text(c.id + " (weight " + c.config.weight + ")"));
    legend.append(item);
  });
}

async function poll() {
  const now = Date.now();
  try {
    const [st, list] = await Promise.all([getJSON("../v1/status"), getJSON("../v1/clients?limit=200")]);
    renderStatus(st, now);
    renderClients(list, now);
    document.body.dataset.polls = String(Number(document.body.dataset.polls || 0) + 1);
  } catch (e) {
    const banner = document.getElementById("banner");
    banner.hidden = false;
    banner.replaceChildren(text("cannot reach the node: " + e.message));
  }
}

poll();
setInterval(poll, 1000);
