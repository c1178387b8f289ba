// Hawser web UI: a small static bundle over /api/v1, kept live by server-sent events.
"use strict";

const csrf = document.querySelector('meta[name="csrf-token"]').content;
// A viewer is shown no control it may not use (the server refuses such calls anyway).
const canChange = document.querySelector('meta[name="role"]').content !== "viewer";
const view = document.getElementById("view");
let current = { name: "", arg: "" };

// --- helpers --------------------------------------------------------------------------------
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

async function api(path, method, body) {
  const request = () => fetch("/api/v1" + path, {
    method: method || "GET",
    credentials: "same-origin",
    headers: method && method !== "GET" ? { "X-CSRF-Token": csrf, "Content-Type": "application/json" } : {},
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let response;
  try {
    response = await request();
  } catch (error) {
    // A read cut off by the browser (it drops requests in flight when the host's addresses change) is asked
    // again once; a change (POST) is never repeated behind the operator's back.
    if (method && method !== "GET") throw error;
    await new Promise((resolve) => setTimeout(resolve, 250));
    response = await request();
  }
  if (response.status === 401) { location.href = "/login"; throw new Error("logged out"); }
  if (response.status === 204) return null;
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

const time = (value) => value ? new Date(value).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z") : "-";
// Events keep their milliseconds: two steps of one second are still in order on the page.
const eventTime = (value) => value ? new Date(value).toISOString().replace("T", " ") : "-";

function table(headers, rows) {
  return cards(el("div", { class: "table-wrap" }, el("table", {}, el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))), el("tbody", {}, rows))));
}

// On a narrow screen each row is a card: every cell carries its column's name, shown before it (app.css).
function cards(wrap) {
  const table = wrap.querySelector("table");
  const names = [...table.querySelectorAll("thead th")].map((th) => th.textContent.replace(/[▴▾]/g, "").trim());
  table.classList.add("cards");
  for (const row of table.querySelectorAll("tbody tr")) [...row.children].forEach((cell, i) => { if (names[i]) cell.dataset.label = names[i]; });
  return wrap;
}

// A search box over a list's rows: words typed hide the rows that do not contain them all; what was typed outlives refreshes.
const searches = {};
function searchBox(id, holderId, placeholder) {
  const input = el("input", { id, type: "search", class: "search", placeholder, value: searches[id] || "", size: 28, "aria-label": placeholder });
  input.addEventListener("input", () => { searches[id] = input.value; applySearch(id, holderId); });
  return input;
}

function applySearch(id, holderId) {
  const holder = document.getElementById(holderId);
  if (!holder) return;
  const words = (searches[id] || "").trim().toLowerCase().split(/\s+/).filter(Boolean);
  const rows = [...holder.querySelectorAll("tbody tr")];
  let hidden = 0;
  for (const row of rows) {
    const text = row.textContent.toLowerCase();
    row.hidden = !words.every((w) => text.includes(w));
    if (row.hidden) hidden++;
  }
  let note = holder.querySelector(".search-note");
  if (!note) { note = el("p", { class: "muted search-note" }); holder.append(note); }
  note.textContent = hidden > 0 ? `${hidden} of ${rows.length} hidden by the search.` : "";
}

function show(...content) {
  view.replaceChildren(...content.filter((part) => part !== null && part !== undefined));
}

// A page that reads before it draws draws only if the operator is still on it: a slow overview must not
// replace the nodes page clicked meanwhile. Taken when the page starts; `current` is new at every route.
function showIfStill() {
  const at = current;
  return (...content) => { if (at === current) show(...content); };
}

function failure(error) {
  return el("p", { class: "error", role: "alert" }, String(error.message || error));
}

// --- pages ----------------------------------------------------------------------------------
// "3 min ago": how long since, in the largest whole unit; the exact time is the cell's tooltip.
function ago(value) {
  if (!value) return "never";
  const seconds = Math.max(0, Math.round((Date.now() - new Date(value)) / 1000));
  const [size, unit] = seconds < 60 ? [seconds, "s"] : seconds < 3600 ? [Math.floor(seconds / 60), "min"] : seconds < 86400 ? [Math.floor(seconds / 3600), "h"] : [Math.floor(seconds / 86400), "d"];
  return `${size} ${unit} ago`;
}

// --- overview: is the fleet healthy, and what is changing right now? -----------------------------
const nodeStates = ["in-sync", "pending", "failed", "offline", "new", "incompatible"];
// States shown only when some node is in them.
const rareStates = ["new", "incompatible"];

async function overviewPage() {
  const shown = showIfStill();
  const [nodes, rollouts, certificates, trouble, unenrolled, controller, outcomes] = await Promise.all([api("/nodes"), api("/rollouts"), api("/certificates"), api("/events/recent"),
    api("/nodes-unenrolled"), api("/controller"), api("/charts/outcomes")]);
  const count = (state) => nodes.filter((n) => n.state === state).length;
  // Tiles: counts by state, each a link to the nodes it counts.
  const tiles = el("div", { id: "node-summary", class: "tiles" }, nodeStates.filter((s) => !rareStates.includes(s) || count(s) > 0).map((state) =>
    el("a", { class: count(state) === 0 ? "tile zero" : "tile", href: "#/nodes", "data-count": state, "data-state": state, onclick: () => { nodeView.filter = state; } },
      el("span", { class: "state" }, count(state)), el("span", {}, state))),
    unenrolled.length === 0 ? null : el("a", { class: "tile", href: "#/nodes", "data-count": "not-enrolled", "data-state": "failed" },
      el("span", { class: "state" }, unenrolled.length), el("span", {}, "not enrolled")));
  const active = rollouts.find((r) => ["running", "paused", "rolling-back"].includes(r.state));
  shown(el("h1", {}, "Overview"), tiles, unenrolledList(unenrolled), active ? rolloutBanner(active) : el("p", { id: "rollout-banner", class: "muted" }, "No rollout is running."),
    el("div", { class: "columns" },
      controllerHealth(controller, nodes),
      el("section", { id: "expiring" }, el("h2", {}, "Certificates by time left"), expiring(certificates)),
      el("section", { id: "trouble" }, el("h2", {}, "Recent failures and drift"),
        trouble.length === 0 ? el("p", { class: "muted" }, "Nothing failed or drifted recently.")
          : el("ul", { class: "plain" }, trouble.map((e) => el("li", { "data-kind": e.kind },
            el("span", { class: "muted", title: e.at }, eventTime(e.at)), " ", el("strong", {}, e.actor.replace(/^node:/, "")), ` ${e.kind}: ${e.summary}`))))),
    el("div", { class: "columns" }, outcomeChart(outcomes), driftChart(nodes), lifetimeChart(nodes)));
}

// --- charts: inline SVG drawn here (no library, no CDN; the page's CSP stays as it is) --------------
function svg(tag, attrs, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  return node;
}

// A chart is an image with its words: the SVG's label says what it shows, each bar's title its figures.
function chart(id, heading, label, width, height, shapes, legend) {
  return el("section", { id, class: "chart" }, el("h2", {}, heading),
    svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label, preserveAspectRatio: "xMinYMin meet" }, shapes), legend);
}

const legendOf = (entries) => el("p", { class: "legend" }, entries.map(([cls, text]) => el("span", {}, el("span", { class: `swatch ${cls}`, "aria-hidden": "true" }), ` ${text} `)));

// Converges that changed something, failures and drift corrections in each of the last 24 hours, stacked.
function outcomeChart(hours) {
  const total = (h) => h.converged + h.failed + h.driftCorrected;
  const top = Math.max(1, ...hours.map(total));
  const [width, height, bar] = [480, 120, 480 / hours.length];
  // Every sixth hour is named under its bar (UTC, as every time on these pages).
  const ticks = hours.map((h, i) => i % 6 === 0 ? svg("text", { class: "label", x: i * bar + 1, y: height + 12 }, `${new Date(h.hour).toISOString().slice(11, 16)}Z`) : null);
  const bars = hours.flatMap((h, i) => {
    let y = height;
    const hour = new Date(h.hour).toISOString().slice(11, 16);
    return [["converged", h.converged], ["failed", h.failed], ["drift", h.driftCorrected]].filter(([, n]) => n > 0).map(([cls, n]) => {
      const size = (n / top) * (height - 4);
      y -= size;
      return svg("rect", { class: cls, x: i * bar + 1, y, width: bar - 2, height: size, "data-hour": hour, "data-count": n },
        svg("title", {}, `${hour}Z: ${h.converged} converged, ${h.failed} failed, ${h.driftCorrected} drift corrected`));
    });
  });
  const sum = hours.reduce((a, h) => [a[0] + h.converged, a[1] + h.failed, a[2] + h.driftCorrected], [0, 0, 0]);
  return chart("chart-outcomes", "Converges, last 24 hours", `Per hour over the last 24 hours: ${sum[0]} converged, ${sum[1]} failed, ${sum[2]} drift corrected`,
    width, height + 16, [svg("line", { class: "axis", x1: 0, y1: height - 0.5, x2: width, y2: height - 0.5 }), ...bars, ...ticks],
    legendOf([["converged", `converged ${sum[0]}`], ["failed", `failed ${sum[1]}`], ["drift", `drift corrected ${sum[2]}`]]));
}

// Horizontal bars, one per node, longest first (at most ten): a value, its label, and its bar's class.
function nodeBars(id, heading, label, rows, empty) {
  if (rows.length === 0) return el("section", { id, class: "chart" }, el("h2", {}, heading), el("p", { class: "muted" }, empty));
  const top = Math.max(1, ...rows.map((r) => r.value));
  const [width, row] = [480, 18];
  const shapes = rows.flatMap((r, i) => [
    svg("text", { x: 0, y: i * row + 13, class: "label" }, r.node.length > 14 ? `${r.node.slice(0, 13)}…` : r.node),
    svg("rect", { class: r.cls, x: 90, y: i * row + 3, width: Math.max(1, (r.value / top) * 300), height: row - 6, "data-node": r.node, "data-value": r.value },
      svg("title", {}, `${r.node}: ${r.text}`)),
    svg("text", { x: 96 + Math.max(1, (r.value / top) * 300), y: i * row + 13, class: "label" }, r.text)]);
  return chart(id, heading, label, width, rows.length * row + 4, shapes, null);
}

// Drift corrections per node since it applied its revision.
function driftChart(nodes) {
  const rows = nodes.filter((n) => n.driftCorrected > 0).sort((a, b) => b.driftCorrected - a.driftCorrected).slice(0, 10)
    .map((n) => ({ node: n.name, value: n.driftCorrected, cls: "drift", text: `${n.driftCorrected}` }));
  return nodeBars("chart-drift", "Drift corrected, by node", `Drift corrections per node: ${rows.map((r) => `${r.node} ${r.value}`).join(", ")}`, rows,
    "No drift corrected since each node applied its revision.");
}

// Days left on each node's soonest-expiring certificate, soonest first: red under a week, amber under 30 days.
function lifetimeChart(nodes) {
  const rows = nodes.filter((n) => n.certificateExpiry).map((n) => ({ n, days: Math.max(0, (new Date(n.certificateExpiry) - Date.now()) / 86400000) }))
    .sort((a, b) => a.days - b.days).slice(0, 10)
    .map(({ n, days }) => ({ node: n.name, value: days, cls: days < 7 ? "failed" : days < 30 ? "warn" : "converged", text: `${Math.floor(days)} day(s)` }));
  return nodeBars("chart-lifetime", "Certificate time left, by node", `Days left on each node's soonest certificate: ${rows.map((r) => `${r.node} ${r.text}`).join(", ")}`, rows,
    "No certificate obtained for any node yet.");
}

// The controller that served this page: serving or why not, its store, and with several controllers which holds how many agents.
function controllerHealth(c, nodes) {
  const connected = nodes.filter((n) => n.connected).length;
  const held = {};
  for (const n of nodes.filter((n) => n.connected && n.controller)) held[n.controller] = (held[n.controller] || 0) + 1;
  return el("section", { id: "controller-health", "data-serving": c.serving ? "true" : "false" }, el("h2", {}, "Controller"),
    el("p", { "data-state": c.serving ? "in-sync" : "failed" }, el("span", { class: "state" }, c.serving ? "serving" : "not serving"),
      ` · version ${c.version} · store ${c.store}${c.shared ? " (shared by several controllers)" : ""} · ${connected} of ${nodes.length} agent(s) connected`),
    c.problems.length === 0 ? null : el("ul", { class: "plain" }, c.problems.map((p) => el("li", { class: "error" }, p))),
    !c.shared ? null : el("ul", { class: "plain", id: "controller-holders" }, Object.entries(held).sort().map(([id, count]) =>
      el("li", { "data-controller": id, "data-agents": count }, el("strong", {}, id), id === c.id ? " (this page's)" : "", `: ${count} agent(s)`))));
}

// The nodes the newest revision names that no agent enrolled as: a typo (with the nearest name), a host not joined yet, or one removed.
function unenrolledList(unenrolled) {
  if (unenrolled.length === 0) return null;
  return el("section", { id: "unenrolled" }, el("h2", {}, "Named by the spec, not enrolled"),
    el("ul", { class: "plain" }, unenrolled.map((u) => el("li", { "data-unenrolled": u.name, "data-state": "failed" },
      el("strong", {}, u.name), u.removed ? ": removed, but the spec still names it" : ": not enrolled (hawserctl token create makes a join token)",
      u.nearest ? `; did you mean ${u.nearest}?` : ""))));
}

// Nomad's deployment panel for a rollout: per batch, how many nodes were placed, are healthy, failed.
function rolloutBanner(r) {
  const batches = Array.from({ length: r.batches }, (_, b) => r.nodes.filter((n) => n.batch === b));
  return el("section", { id: "rollout-banner", class: "banner", "data-state": r.state },
    el("p", {}, el("a", { href: `#/rollouts/${r.id}` }, `Rollout ${r.id}`), ` · revision ${r.revision} · `, el("span", { class: "state" }, r.state),
      ` · batch ${Math.min(r.batch + 1, r.batches)} of ${r.batches}`, r.reason ? el("div", { class: "muted" }, r.reason) : null),
    el("ol", { class: "batches" }, batches.map((nodes, b) => {
      const placed = nodes.filter((n) => n.state !== "pending").length;
      const healthy = nodes.filter((n) => n.state === "healthy").length;
      const failed = nodes.filter((n) => n.state === "failed").length;
      return el("li", { "data-batch": b + 1, "data-placed": placed, "data-healthy": healthy, "data-failed": failed },
        `Batch ${b + 1}: ${placed}/${nodes.length} placed · ${healthy} healthy · ${failed} failed`,
        el("span", { class: "bar", "aria-hidden": "true" }, nodes.map((n) => el("span", { class: `cell ${n.state}`, title: `${n.node}: ${n.state}` }))));
    })),
    el("p", {}, el("a", { href: `#/rollouts/${r.id}` }, canChange ? "Open it to pause, resume, promote, abort or roll back" : "Open it")));
}

// Certificates soonest to expire first, with the days left coloured: red under a week, amber under 30 days.
function expiring(certificates) {
  const dated = certificates.filter((c) => c.notAfter).sort((a, b) => new Date(a.notAfter) - new Date(b.notAfter));
  if (dated.length === 0) return el("p", { class: "muted" }, "No certificate issued yet.");
  return el("ul", { class: "plain" }, dated.map((c) => {
    const days = Math.floor((new Date(c.notAfter) - Date.now()) / 86400000);
    const level = days < 7 ? "bad" : days < 30 ? "warn" : "ok";
    return el("li", { "data-certificate": c.name, "data-days": days, class: level }, el("strong", {}, c.name), ` ${days} day(s) left (until ${time(c.notAfter)})`,
      c.lastError ? el("div", { class: "muted" }, c.lastError) : null);
  }));
}

// --- the event log: every event, filtered by kind, node, actor and time, following live ---------
const eventView = { kind: "", node: "", actor: "", since: "24h" };
const eventAreas = ["", "node", "node.failed", "node.drift-corrected", "spec", "rollout", "certificate", "operator", "token", "web", "rpc", "notification"];

async function eventsPage() {
  const field = (name, label, input) => el("label", {}, label, input);
  const kind = el("select", { name: "kind" }, eventAreas.map((k) => el("option", { value: k, selected: k === eventView.kind }, k || "every kind")));
  const node = el("input", { name: "node", type: "search", value: eventView.node, placeholder: "web1", size: 12 });
  const actor = el("input", { name: "actor", type: "search", value: eventView.actor, placeholder: "alice, node:web1", size: 14 });
  const since = el("select", { name: "since" }, [["1h", "last hour"], ["24h", "last day"], ["168h", "last week"], ["", "all"]].map(([v, t]) => el("option", { value: v, selected: v === eventView.since }, t)));
  const form = el("form", { id: "event-filter", class: "inline", onsubmit: (event) => event.preventDefault() },
    field("kind", "Kind", kind), field("node", "Node", node), field("actor", "Actor", actor), field("since", "Since", since));
  for (const input of [kind, node, actor, since]) input.addEventListener("input", () => { eventView[input.name] = input.value; refreshEvents(); });
  show(el("h1", {}, "Events"), form, el("p", { class: "muted" }, "Newest first, at most 200; follows live."), el("div", { id: "event-log" }));
  await refreshEvents();
}

// Live events and filter changes both refresh: only the newest request's answer is shown, so a slow
// unfiltered answer never replaces a filtered one; the holder names the kind its rows were asked for.
let eventRequest = 0;
async function refreshEvents() {
  const holder = document.getElementById("event-log");
  if (!holder) return;
  const request = ++eventRequest;
  const asked = { ...eventView };
  const query = new URLSearchParams(Object.entries(asked).filter(([, v]) => v));
  const events = await api(`/events/log?${query}`);
  if (request !== eventRequest) return;
  holder.dataset.kind = asked.kind;
  holder.replaceChildren(events.length === 0 ? el("p", { class: "muted" }, "No event matches.")
    : table(["When", "Kind", "Node", "By", "What"], events.map((e) => el("tr", { "data-kind": e.kind, "data-node": e.node || "" },
      el("td", { title: e.at }, eventTime(e.at)), el("td", {}, e.kind), el("td", {}, e.node || "-"), el("td", {}, e.actor),
      el("td", {}, el("div", {}, e.summary), ...e.details.map((d) => el("div", { class: "muted" }, d)))))));
}

// The nodes page's filter and sort outlive its live refreshes.
const nodeView = { filter: "", sort: "name", descending: false };
const nodeColumns = [
  ["name", "Node", (n) => n.name], ["state", "State", (n) => n.state], ["connected", "Connected", (n) => (n.connected ? 1 : 0)],
  ["revision", "Applied/desired", (n) => n.appliedRevision], ["resources", "Resources", (n) => n.failed * 1e6 + n.changed],
  ["drift", "Drift", (n) => n.driftCorrected], ["expiry", "Certificate expiry", (n) => n.certificateExpiry || ""], ["seen", "Last seen", (n) => n.lastSeen || ""],
];

async function nodesPage() {
  const filter = el("input", { id: "node-filter", type: "search", placeholder: "Filter: name, label or state", value: nodeView.filter, size: 28 });
  filter.addEventListener("input", () => { nodeView.filter = filter.value; renderNodes(); });
  show(el("h1", {}, "Nodes"), el("p", { id: "node-summary" }), filter, el("div", { id: "node-table" }));
  await refreshNodes();
}

let nodesShown = [];
let unenrolledShown = [];
async function refreshNodes() {
  [nodesShown, unenrolledShown] = await Promise.all([api("/nodes"), api("/nodes-unenrolled")]);
  renderNodes();
}

function renderNodes() {
  const summary = document.getElementById("node-summary");
  const holder = document.getElementById("node-table");
  if (!summary || !holder) return;
  const count = (state) => nodesShown.filter((n) => n.state === state).length;
  summary.replaceChildren(...nodeStates.filter((s) => !rareStates.includes(s) || count(s) > 0).flatMap((state, i) =>
    [i > 0 ? " · " : "", el("span", { "data-count": state, "data-state": state }, el("span", { class: "state" }, count(state)), ` ${state}`)]), " · live");
  const words = nodeView.filter.trim().toLowerCase().split(/\s+/).filter(Boolean);
  const matches = (n) => words.every((w) => [n.name, n.state, ...Object.entries(n.labels).map(([k, v]) => `${k}=${v}`)].some((t) => t.toLowerCase().includes(w)));
  const [, , key] = nodeColumns.find(([id]) => id === nodeView.sort);
  const rows = nodesShown.filter(matches).sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    const order = x < y ? -1 : x > y ? 1 : a.name.localeCompare(b.name);
    return nodeView.descending ? -order : order;
  });
  const headers = nodeColumns.map(([id, title]) => el("th", { "data-sort": id, "aria-sort": nodeView.sort === id ? (nodeView.descending ? "descending" : "ascending") : "none" },
    el("button", { type: "button", class: "sort", onclick: () => { nodeView.descending = nodeView.sort === id && !nodeView.descending; nodeView.sort = id; renderNodes(); } },
      title + (nodeView.sort === id ? (nodeView.descending ? " ▾" : " ▴") : ""))));
  holder.replaceChildren(cards(el("div", { class: "table-wrap" }, el("table", {}, el("thead", {}, el("tr", {}, headers)), el("tbody", {},
    rows.map((n) => el("tr", { "data-node": n.name, "data-state": n.state },
      el("td", {}, el("a", { href: `#/nodes/${encodeURIComponent(n.name)}` }, n.name)),
      el("td", { class: "state" }, n.state),
      el("td", {}, n.connected ? "yes" : "no"),
      el("td", {}, `${n.appliedRevision}/${n.desiredRevision}` + (n.pinnedRevision !== null && n.pinnedRevision !== undefined ? ` (pinned ${n.pinnedRevision})` : "")),
      el("td", {}, `${n.inSync} in sync, ${n.changed} changed, ${n.failed} failed`),
      el("td", {}, n.driftCorrected),
      el("td", {}, time(n.certificateExpiry)),
      el("td", { title: time(n.lastSeen), "data-last-seen": n.lastSeen || "" }, ago(n.lastSeen)))))))),
    rows.length < nodesShown.length ? el("p", { class: "muted" }, `${nodesShown.length - rows.length} node(s) hidden by the filter.`) : "",
    unenrolledList(unenrolledShown) || "");
}

// Why a node is in its state, in words, with the pin that holds it when one does: what its resources alone cannot say.
function why(n) {
  const pin = n.pinnedRevision !== null && n.pinnedRevision !== undefined ? ` A rollout holds it on revision ${n.pinnedRevision} (pinned).` : "";
  switch (n.state) {
    case "pending": return `Pending: it has applied revision ${n.appliedRevision} and should run revision ${n.desiredRevision}; its resources are from its last report, before that.${pin}`;
    case "offline": return `Offline: its agent is not connected; it gets what it should run when it connects.${pin}`;
    case "new": return "New: connected, no report yet.";
    case "incompatible": return `Incompatible: ${n.versionProblem}.`;
    case "failed": return `Failed: a resource below could not be brought to what the spec says.${pin}`;
    default: return pin.trim();
  }
}

async function nodePage(name) {
  const shown = showIfStill();
  const detail = await api(`/nodes/${encodeURIComponent(name)}`);
  const n = detail.node;
  shown(el("h1", {}, n.name), el("p", { "data-state": n.state }, "State: ", el("span", { class: "state" }, n.state),
      ` · revision ${n.appliedRevision}/${n.desiredRevision} · agent ${n.agentVersion || "-"} · labels ${Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(", ") || "-"}`),
    el("p", { id: "node-why" }, why(n)),
    el("h2", {}, "Resources (last report)"), searchBox("resource-search", "node-resources", "Search: kind, name, state, change"),
    el("div", { id: "node-resources" }, table(["Kind", "Name", "State", "Change", "Error"], detail.resources.map((r) => el("tr", { "data-state": r.state },
      el("td", {}, r.kind), el("td", {}, r.name), el("td", { class: "state" }, r.state), el("td", {}, r.diff || "-"), el("td", {}, r.error || "-"))))),
    el("h2", {}, "Timeline"), searchBox("timeline-search", "node-timeline", "Search: kind, actor, what happened"),
    el("div", { id: "node-timeline" }, detail.events.length === 0 ? el("p", { class: "muted" }, "Nothing has happened on this node yet.")
      : table(["When", "What", "By", "Detail"], detail.events.map((e) => el("tr", { "data-kind": e.kind },
        el("td", { title: e.at }, eventTime(e.at)), el("td", {}, e.kind), el("td", {}, e.actor),
        el("td", {}, el("div", {}, e.summary), ...e.details.map((d) => el("div", { class: "muted" }, d))))))));
  applySearch("resource-search", "node-resources");
  applySearch("timeline-search", "node-timeline");
}

async function revisionsPage() {
  const shown = showIfStill();
  const revisions = await api("/revisions");
  const options = revisions.map((r) => el("option", { value: r.number }, `${r.number}: ${r.message || "(no message)"}`));
  const from = el("select", { id: "diff-from" }, options.map((o) => o.cloneNode(true)));
  const to = el("select", { id: "diff-to" }, options);
  if (revisions.length > 1) from.value = revisions[1].number;
  const result = el("div", { id: "diff" });
  let sideBySide = false;
  const sign = { added: "+", removed: "-", same: " " };
  // Unified first (hunks with line numbers, as hawserctl revisions diff prints them); side by side on request.
  // Side by side needs two columns of spec text: on a narrow screen the diff stays unified.
  const narrow = matchMedia("(max-width: 40em)").matches;
  const render = (diff) => {
    const toggle = narrow ? null : el("button", { type: "button", id: "diff-toggle", onclick: () => { sideBySide = !sideBySide; render(diff); } }, sideBySide ? "Unified" : "Side by side");
    const body = sideBySide && !narrow
      ? el("table", { class: "diff" }, el("thead", {}, el("tr", {}, el("th", {}, `revision ${diff.from}`), el("th", {}, `revision ${diff.to}`))),
        el("tbody", {}, diff.rows.map((row) => el("tr", {}, el("td", { class: row.changed ? "changed" : "" }, row.left ?? ""), el("td", { class: row.changed ? "changed" : "" }, row.right ?? "")))))
      : diff.hunks.length === 0 ? el("p", { class: "muted" }, "The two revisions store the same spec.")
      : el("table", { class: "diff unified" }, el("tbody", {}, diff.hunks.flatMap((hunk) => [
        el("tr", { class: "hunk" }, el("td", { colspan: 3 }, hunk.header)),
        ...hunk.lines.map((line) => el("tr", { class: line.change },
          el("td", { class: "number" }, line.old || ""), el("td", { class: "number" }, line.new || ""), el("td", {}, sign[line.change] + line.text)))])));
    result.replaceChildren(...[toggle, body].filter(Boolean));
  };
  const compare = async (event) => {
    if (event) event.preventDefault();
    try { render(await api(`/revisions/diff?from=${from.value}&to=${to.value}`)); } catch (error) { result.replaceChildren(failure(error)); }
  };
  shown(el("h1", {}, "Revisions"), searchBox("revision-search", "revision-list", "Search: number, message, author"),
    el("div", { id: "revision-list" }, table(["Number", "Message", "Author", "Stored"], revisions.map((r) => el("tr", {}, el("td", {}, r.number), el("td", {}, r.message || "-"), el("td", {}, r.author), el("td", {}, time(r.createdAt)))))),
    el("h2", {}, "Compare"),
    el("form", { class: "inline", onsubmit: compare }, el("label", {}, "From", from), el("label", {}, "To", to), el("button", { type: "submit" }, "Show diff")),
    result);
  applySearch("revision-search", "revision-list");
  if (revisions.length > 1) compare();
}

async function rolloutsPage() {
  const shown = showIfStill();
  const [rollouts, revisions] = await Promise.all([api("/rollouts"), api("/revisions")]);
  const field = (label, input) => el("label", {}, label, input);
  const revision = el("select", { name: "revision", id: "rollout-revision" }, revisions.map((r) => el("option", { value: r.number }, `${r.number}: ${r.message || "(no message)"}`)));
  const form = el("form", { class: "inline", id: "rollout-form" },
    field("Revision", revision),
    field("Selector", el("input", { name: "selector", placeholder: "role=web" })),
    field("Batch", el("input", { name: "batch", value: "25%", size: 5 })),
    field("Canary", el("input", { name: "canary", type: "checkbox" })),
    field("Pause", el("input", { name: "pause", value: "0s", size: 6, title: "30s, 5m, 2h, 1h30m or 01:00:00" })),
    field("Max failures", el("input", { name: "maxFailures", value: "0", size: 4 })),
    field("On failure", el("select", { name: "onFailure" }, el("option", { value: "pause" }, "pause"), el("option", { value: "rollback" }, "rollback"))),
    field("HTTP check", el("input", { name: "check", placeholder: "http://{address}/health", size: 24 })),
    field("Expect status", el("input", { name: "expectStatus", placeholder: "(2|3)[0-9][0-9]", size: 12 })),
    field("Hold", el("input", { name: "hold", value: "0s", size: 6, title: "30s, 5m, 2h, 1h30m or 01:00:00" })),
    field("Check timeout", el("input", { name: "checkTimeout", value: "5s", size: 6, title: "how long one check request may take" })),
    field("Gate timeout", el("input", { name: "gateTimeout", value: "2m", size: 6, title: "30s, 5m, 2h, 1h30m or 01:00:00" })),
    el("button", { type: "submit", id: "rollout-start" }, "Start rollout"));
  const message = el("div");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    try {
      const started = await api("/rollouts", "POST", {
        revision: Number(data.get("revision")), selector: data.get("selector"), batch: data.get("batch"), canary: data.get("canary") === "on",
        pause: data.get("pause"), maxFailures: data.get("maxFailures"), onFailure: data.get("onFailure"), check: data.get("check"),
        expectStatus: data.get("expectStatus"), hold: data.get("hold"), checkTimeout: data.get("checkTimeout"), gateTimeout: data.get("gateTimeout"),
      });
      location.hash = `#/rollouts/${started.id}`;
    } catch (error) { message.replaceChildren(failure(error)); }
  });
  shown(el("h1", {}, "Rollouts"), ...(canChange ? [el("h2", {}, "Start one"), form, message] : []), el("h2", {}, "All rollouts"),
    searchBox("rollout-search", "rollout-list", "Search: id, state, revision, reason"), el("div", { id: "rollout-list" }, rolloutList(rollouts)));
  applySearch("rollout-search", "rollout-list");
}

function rolloutList(rollouts) {
  return rollouts.length === 0 ? el("p", { class: "muted" }, "None yet.")
    : table(["Id", "Revision", "State", "Batch", "Nodes", "Started", "Reason"], rollouts.map((r) => el("tr", { "data-rollout": r.id },
      el("td", {}, el("a", { href: `#/rollouts/${r.id}` }, r.id)), el("td", {}, r.revision), el("td", { "data-state": r.state }, r.state),
      el("td", {}, `${Math.min(r.batch + 1, r.batches)} of ${r.batches}`), el("td", {}, r.nodes.length), el("td", {}, time(r.createdAt)), el("td", {}, r.reason || "-"))));
}

// Only the list is refreshed: the form above it keeps what the operator is typing.
async function refreshRolloutList() {
  const list = document.getElementById("rollout-list");
  if (list) list.replaceChildren(rolloutList(await api("/rollouts")));
  applySearch("rollout-search", "rollout-list");
}

const actions = {
  // Promoting past a failure would skip its judgement: only a rollout that is not stopped by a failure can be promoted.
  pause: (s) => s === "running", resume: (s) => s === "paused", promote: (s, r) => s === "running" || (s === "paused" && !r.nodes.some((n) => n.state === "failed")),
  rollback: (s) => ["running", "paused", "done"].includes(s), abort: (s) => ["running", "paused", "rolling-back"].includes(s),
};

// Actions that cannot be taken back ask first.
const confirmations = {
  rollback: (id) => `Roll back rollout ${id}? Every node it moved returns to its previous revision.`,
  abort: (id) => `Abort rollout ${id}? Nodes stay where they are and the rollout cannot be resumed.`,
};

// Updated in place as events arrive, so a button under the pointer is never replaced mid-click.
function renderRollout(r) {
  let root = view.querySelector(`[data-rollout-view="${r.id}"]`);
  if (!root) {
    const message = el("div", { id: "rollout-message" });
    const buttons = Object.keys(canChange ? actions : {}).map((action) => el("button", {
      type: "button", id: `rollout-${action}`,
      onclick: async () => {
        if (confirmations[action] && !confirm(confirmations[action](r.id))) return;
        try { renderRollout(await api(`/rollouts/${r.id}/${action}`, "POST")); } catch (error) { message.replaceChildren(failure(error)); }
      },
    }, action[0].toUpperCase() + action.slice(1)));
    root = el("section", { "data-rollout-view": r.id }, el("h1", {}, `Rollout ${r.id}`), el("p", { id: "rollout-summary" }), el("p", { id: "rollout-reason" }),
      el("div", { class: "buttons" }, buttons), message, searchBox("rollout-node-search", "rollout-nodes", "Search: node, state, detail"), el("div", { id: "rollout-nodes" }),
      el("h2", {}, "Timeline"), el("p", { id: "rollout-countdown", class: "muted" }), el("div", { id: "rollout-timeline" }));
    show(root);
  }
  // An answer that left before a newer event arrived must not put older state back on screen.
  if (root.dataset.updated && r.updatedAt && new Date(r.updatedAt) < new Date(root.dataset.updated)) return;
  root.dataset.updated = r.updatedAt || "";
  root.querySelector("#rollout-summary").replaceChildren(`Revision ${r.revision} · `, el("span", { id: "rollout-state", "data-state": r.state }, r.state),
    ` · batch ${Math.min(r.batch + 1, r.batches)} of ${r.batches}`, r.promoted ? " · promoted" : "",
    // A paused rollout has no next batch until someone resumes it.
    r.state === "running" && r.nextBatchAt ? ` · next batch at ${time(r.nextBatchAt)}` : "");
  root.querySelector("#rollout-reason").textContent = r.reason || "";
  for (const action of Object.keys(canChange ? actions : {})) root.querySelector(`#rollout-${action}`).disabled = !actions[action](r.state, r);
  root.querySelector("#rollout-nodes").replaceChildren(
    table(["Node", "Batch", "State", "From revision", "Detail"], r.nodes.map((n) => el("tr", { "data-node": n.node, "data-state": n.state },
      el("td", {}, n.node), el("td", {}, n.batch + 1), el("td", { class: "state" }, n.state), el("td", {}, n.previousRevision),
      el("td", {}, [n.failure && n.state !== "failed" ? `failed: ${n.failure}; ` : "", n.detail || "-"].join(""))))));
  applySearch("rollout-node-search", "rollout-nodes");
  countdown(root.querySelector("#rollout-countdown"), r);
  renderTimeline(root.querySelector("#rollout-timeline"), r.id);
}

// While a pause runs, the time left to the next batch, every second; nothing otherwise.
let countdownTimer = null;
function countdown(target, r) {
  clearInterval(countdownTimer);
  const tick = () => {
    const left = r.nextBatchAt && r.state === "running" ? Math.ceil((new Date(r.nextBatchAt) - Date.now()) / 1000) : 0;
    target.textContent = left > 0 ? `Next batch in ${left >= 60 ? `${Math.floor(left / 60)}m ` : ""}${left % 60}s (at ${time(r.nextBatchAt)})` : "";
    if (left <= 0) clearInterval(countdownTimer);
  };
  tick();
  countdownTimer = setInterval(tick, 1000);
}

// Every step of the rollout from the event log: when, what, who, and how long after the step before.
async function renderTimeline(target, id) {
  const steps = await api(`/rollouts/${id}/timeline`);
  target.replaceChildren(steps.length === 0 ? el("p", { class: "muted" }, "No steps recorded.")
    : table(["When", "Step", "By", "After"], steps.map((e, i) => el("tr", { "data-kind": e.kind },
      el("td", { title: e.at }, eventTime(e.at)),
      el("td", {}, el("div", {}, e.summary), ...e.details.map((d) => el("div", { class: "muted" }, d))),
      el("td", {}, e.actor),
      el("td", {}, i === 0 ? "-" : took(new Date(e.at) - new Date(steps[i - 1].at)))))));
}

function took(ms) {
  if (ms < 1000) return `${ms} ms`;
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)}m ${s % 60}s`;
}

async function rolloutPage(id) {
  const at = current;
  const rollout = await api(`/rollouts/${id}`);
  if (at === current) renderRollout(rollout);
}

async function certificatesPage() {
  const shown = showIfStill();
  const certificates = await api("/certificates");
  const message = el("div");
  shown(el("h1", {}, "Certificates"), message, searchBox("certificate-search", "certificate-list", "Search: name, domain, node, serial"),
    certificates.length === 0 ? el("p", { class: "muted" }, "The newest revision asks the controller for no certificates.")
      : el("div", { id: "certificate-list" }, table(["Name", "Domains", "Nodes (served, installed, failed)", "Serial", "Not after", "Renew at", "Last error", ""], certificates.map((c) => el("tr", { "data-certificate": c.name },
        el("td", {}, c.name), el("td", {}, c.domains.join(", ")),
        el("td", {}, c.nodes.map((n) => el("div", { "data-node": n, title: c.nodeErrors[n] || "" }, `${n} ${c.nodeStates[n]}`, c.nodeErrors[n] ? el("div", { class: "muted" }, c.nodeErrors[n]) : null))),
        el("td", { title: c.issuer || "" }, c.serial ? (c.issuer ? `${c.serial} (${new URL(c.issuer).host})` : c.serial) : "-"), el("td", {}, time(c.notAfter)), el("td", {}, time(c.renewAt)), el("td", {}, c.lastError || "-"),
        el("td", {}, !canChange ? null : el("button", { type: "button", onclick: async (event) => {
          if (!confirm(`Order a new certificate for ${c.name} now? Every node it names gets it and reloads.`)) return;
          event.target.disabled = true;
          try { await api(`/certificates/${encodeURIComponent(c.name)}/renew`, "POST"); route(); } catch (error) { message.replaceChildren(failure(error)); event.target.disabled = false; }
        } }, "Renew")))))));
  applySearch("certificate-search", "certificate-list");
}

// --- routing and live updates -------------------------------------------------------------
async function route() {
  const [, name = "overview", arg = ""] = location.hash.split("/").map(decodeURIComponent);
  const at = current = { name, arg };
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("active", a.dataset.view === name));
  try {
    if (name === "nodes" && arg) await nodePage(arg);
    else if (name === "revisions") await revisionsPage();
    else if (name === "rollouts" && arg) await rolloutPage(arg);
    else if (name === "rollouts") await rolloutsPage();
    else if (name === "certificates") await certificatesPage();
    else if (name === "nodes") await nodesPage();
    else if (name === "events") await eventsPage();
    else await overviewPage();
  } catch (error) { if (current === at) show(failure(error)); }
}

let refresh = null;
// A refresh belongs to the view that asked for it: if the operator has moved on, it is dropped.
function refreshSoon(action) {
  clearTimeout(refresh);
  const asked = location.hash;
  refresh = setTimeout(() => { if (location.hash === asked) (action || route)(); }, 300);
}

function live() {
  const source = new EventSource("/api/v1/events");
  const dot = document.getElementById("live");
  let opened = false;
  source.onopen = () => {
    dot.classList.add("on");
    // Events sent while the stream was down (a restart, the browser dropping it when the host's addresses
    // change) are lost: after a reconnect the page reads its state again.
    if (opened) {
      if (current.name === "nodes" && !current.arg) refreshSoon(refreshNodes);
      else if (current.name === "rollouts" && !current.arg) refreshSoon(refreshRolloutList);
      else refreshSoon();
    }
    opened = true;
  };
  source.onerror = () => dot.classList.remove("on");
  source.addEventListener("rollout", (event) => {
    const rollout = JSON.parse(event.data);
    if (current.name === "overview") refreshSoon();
    else if (current.name === "events") refreshSoon(refreshEvents);
    if (current.name === "rollouts" && current.arg === String(rollout.id)) renderRollout(rollout);
    else if (current.name === "rollouts" && !current.arg) refreshSoon(refreshRolloutList);
  });
  source.addEventListener("log", () => { if (current.name === "events") refreshSoon(refreshEvents); });
  source.addEventListener("nodes", () => {
    // On the list, only the table is redrawn: the filter box keeps its text and focus.
    if (current.name === "nodes" && !current.arg) refreshSoon(refreshNodes);
    else if (current.name === "nodes" || current.name === "certificates" || current.name === "overview") refreshSoon();
    else if (current.name === "events") refreshSoon(refreshEvents);
  });
}

document.getElementById("logout").addEventListener("click", async () => {
  await fetch("/logout", { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf } }).catch(() => {});
  location.href = "/login";
});
window.addEventListener("hashchange", () => { clearTimeout(refresh); route(); });
route();
live();
