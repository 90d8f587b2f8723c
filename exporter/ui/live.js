// The live page: samples /api/v1/processes and /api/v1/status every few seconds and shows
// the top processes with rates from the last two samples, and the exporter's health.
// Every string from the exporter reaches the page as textContent, never as markup, so an
// image name like "<img onerror=...>" stays text. No external assets: the exporter's
// Content-Security-Policy allows this script and its own API only.
"use strict";

(function () {
  const RATE = "rate";
  // key: what a row is sorted by; value(row): its number or text; kind: how it shows
  // ("id": a number written as it is, a pid as Task Manager and the API write it).
  const COLUMNS = [
    { key: "name", label: "Process", kind: "text", value: (r) => r.name },
    { key: "service", label: "Services", kind: "text", value: (r) => r.service },
    { key: "pid", label: "PID", kind: "id", value: (r) => r.pid },
    { key: "state", label: "State", kind: "text", value: (r) => r.state },
    { key: "sent_rate", label: "Sent/s", kind: "bytes", rate: "sent" },
    { key: "recv_rate", label: "Received/s", kind: "bytes", rate: "recv" },
    { key: "sent", label: "Sent", kind: "bytes", value: (r) => r.sent },
    { key: "recv", label: "Received", kind: "bytes", value: (r) => r.recv },
    { key: "retransmit_rate", label: "Retransmits/s", kind: RATE, rate: "retransmits" },
    { key: "retransmits", label: "Retransmits", kind: "int", value: (r) => r.retransmits },
    { key: "connect_rate", label: "Connects/s", kind: RATE, rate: "connects" },
    { key: "connects", label: "Connects", kind: "int", value: (r) => r.connects },
    { key: "accepts", label: "Accepts", kind: "int", value: (r) => r.accepts },
  ];
  const state = { sort: "sent_rate", descending: true, previous: null, timer: null, busy: false };

  function $(id) { return document.getElementById(id); }

  function text(element, value) { element.textContent = value; return element; }

  function formatBytes(n) {
    if (n === null || n === undefined || !isFinite(n)) return "\u2013";
    const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let i = 0;
    while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(Math.round(n)) : n.toFixed(n < 10 ? 2 : 1)) + " " + units[i];
  }

  function formatNumber(n, kind) {
    if (n === null || n === undefined || !isFinite(n)) return "\u2013";
    if (kind === "bytes") return formatBytes(n);
    if (kind === RATE) return n < 10 ? n.toFixed(2) : n.toFixed(1);
    if (kind === "id") return String(n);
    return n.toLocaleString("en-US");
  }

  // The counters a row shows, summed over TCP and UDP, both families ("total").
  function sample(row) {
    const t = (row.counters && row.counters.total) || {};
    const n = (k) => (typeof t[k] === "number" ? t[k] : 0);
    return {
      key: String(row.instance_id),
      name: String(row.name),
      service: typeof row.service === "string" ? row.service : "",
      pid: row.pid,
      state: String(row.state),
      sent: n("tcp_sent_bytes") + n("udp_sent_bytes"),
      recv: n("tcp_received_bytes") + n("udp_received_bytes"),
      retransmits: n("tcp_retransmits"),
      connects: n("tcp_connects"),
      accepts: n("tcp_accepts"),
    };
  }

  // Rates per second against the previous sample of the same instance; none for a new
  // instance, or for a counter that went down (it cannot: then the row is not the same).
  function addRates(rows, previous, seconds) {
    for (const row of rows) {
      const before = previous && previous.rows.get(row.key);
      for (const c of COLUMNS) {
        if (!c.rate) continue;
        const delta = before ? row[c.rate] - before[c.rate] : NaN;
        row[c.key] = before && seconds > 0 && delta >= 0 ? delta / seconds : null;
      }
    }
  }

  function compare(a, b) {
    const column = COLUMNS.find((c) => c.key === state.sort) || COLUMNS[0];
    const va = column.rate ? a[column.key] : column.value(a);
    const vb = column.rate ? b[column.key] : column.value(b);
    let order;
    if (va === null || va === undefined) order = vb === null || vb === undefined ? 0 : 1;
    else if (vb === null || vb === undefined) order = -1;
    else if (typeof va === "string") order = va.localeCompare(vb);
    else order = va - vb;
    if (va !== null && vb !== null && va !== undefined && vb !== undefined && state.descending) order = -order;
    return order !== 0 ? order : b.sent - a.sent;
  }

  function drawHeadings() {
    const tr = $("columns");
    tr.replaceChildren();
    for (const c of COLUMNS) {
      const th = text(document.createElement("th"), c.label);
      th.scope = "col";
      th.dataset.key = c.key;
      if (c.kind !== "text") th.className = "num";
      if (c.key === state.sort) th.setAttribute("aria-sort", state.descending ? "descending" : "ascending");
      th.addEventListener("click", () => {
        if (state.sort === c.key) state.descending = !state.descending;
        else { state.sort = c.key; state.descending = c.kind !== "text"; }
        drawHeadings();
        if (state.previous) drawRows(state.previous.list);
      });
      tr.appendChild(th);
    }
  }

  function drawRows(rows) {
    const body = $("rows");
    const fragment = document.createDocumentFragment();
    for (const row of rows.slice().sort(compare)) {
      const tr = document.createElement("tr");
      if (row.state !== "live") tr.className = "exited";
      tr.dataset.pid = String(row.pid);
      for (const c of COLUMNS) {
        const value = c.rate ? row[c.key] : c.value(row);
        const td = text(document.createElement("td"), c.kind === "text" ? String(value) : formatNumber(value, c.kind));
        td.className = c.kind === "text" ? (c.key === "name" ? "name" : "") : "num";
        if (c.key === "name") td.title = String(value);
        tr.appendChild(td);
      }
      fragment.appendChild(tr);
    }
    body.replaceChildren(fragment);
  }

  function drawHealth(status, previous, seconds) {
    const source = status.source || {};
    const up = source.up === true;
    const badge = $("source-state");
    text(badge, (source.kind ? source.kind + " " : "") + (up ? "up" : "down"));
    badge.className = "state " + (up ? "up" : "down");
    text($("source-reason"), source.reason ? String(source.reason) : "");
    text($("events-lost"), formatNumber(status.events_lost, "int"));
    text($("buffers-lost"), formatNumber(source.buffers_lost, "int"));
    text($("restarts"), formatNumber(source.restarts, "int"));
    const table = status.table || {};
    const dropped = table.records_dropped || {};
    text($("dropped"), Object.keys(dropped).map((k) => k.replace(/_/g, " ") + " " + formatNumber(dropped[k], "int")).join(", ") || "\u2013");
    text($("table-use"), formatNumber(table.rows_in_use, "int") + " of " + formatNumber(table.capacity, "int") +
      " rows, " + formatNumber(table.processes_untracked, "int") + " processes untracked");
    const failures = [];
    const now = table.tcp_connect_failures || {};
    const before = previous && previous.status.table && previous.status.table.tcp_connect_failures;
    for (const family of Object.keys(now)) {
      for (const reason of Object.keys(now[family] || {})) {
        const count = now[family][reason];
        if (!count) continue;
        const old = before && before[family] ? before[family][reason] : undefined;
        const rate = typeof old === "number" && seconds > 0 && count >= old ? (count - old) / seconds : null;
        failures.push(family + " " + reason.replace(/_/g, " ") + " " + formatNumber(count, "int") +
          (rate === null ? "" : " (" + formatNumber(rate, RATE) + "/s)"));
      }
    }
    text($("failures"), failures.length ? failures.join(", ") : "none");
    text($("uptime"), typeof status.uptime_seconds === "number" ? Math.round(status.uptime_seconds) + " s, version " + String(status.version) : "\u2013");
  }

  async function getJson(path) {
    const response = await fetch(path, { cache: "no-store", headers: { Accept: "application/json" } });
    if (!response.ok) {
      let message = response.status + " " + response.statusText;
      try { const body = await response.json(); if (body && body.error) message += ": " + body.error; } catch (e) { /* not JSON */ }
      throw new Error(path + ": " + message);
    }
    return response.json();
  }

  async function refresh() {
    if (state.busy) return;
    state.busy = true;
    try {
      const limit = encodeURIComponent($("limit").value);
      const [list, status] = await Promise.all([
        getJson("/api/v1/processes?sort=total_bytes&limit=" + limit),
        getJson("/api/v1/status"),
      ]);
      const taken = performance.now();
      const rows = Array.isArray(list) ? list.map(sample) : [];
      const previous = state.previous;
      const seconds = previous ? (taken - previous.taken) / 1000 : 0;
      addRates(rows, previous, seconds);
      drawHealth(status, previous, seconds);
      drawRows(rows);
      state.previous = { taken, rows: new Map(rows.map((r) => [r.key, r])), list: rows, status };
      $("error").hidden = true;
      text($("updated"), "updated " + new Date().toLocaleTimeString() + ", " + rows.length + " processes");
    } catch (e) {
      const banner = $("error");
      text(banner, "Cannot read the exporter: " + (e && e.message ? e.message : String(e)));
      banner.hidden = false;
    } finally {
      state.busy = false;
      schedule();
    }
  }

  function schedule() {
    clearTimeout(state.timer);
    if ($("paused").checked) return;
    const seconds = Number($("interval").value) || 5;
    state.timer = setTimeout(refresh, seconds * 1000);
  }

  // A fault of this script shows on the page (and in the console), instead of a table
  // that silently stops moving.
  function showFault(what) {
    const banner = $("error");
    text(banner, "Page error: " + what);
    banner.hidden = false;
    console.error("tcpip_exporter page: " + what);
  }

  function start() {
    window.addEventListener("error", (e) => showFault(e.message || String(e.error)));
    window.addEventListener("unhandledrejection", (e) => showFault(String(e.reason)));
    drawHeadings();
    $("controls").addEventListener("submit", (e) => e.preventDefault());
    $("interval").addEventListener("change", schedule);
    $("paused").addEventListener("change", () => { if (!$("paused").checked) refresh(); else clearTimeout(state.timer); });
    $("limit").addEventListener("change", () => { state.previous = null; refresh(); });
    refresh();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
