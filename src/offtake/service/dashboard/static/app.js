// Offtake operations dashboard. No framework, no CDN: plotly.min.js is served locally.
// The access token lives only in this closure (never in storage or cookies).
"use strict";
(() => {
  const S = { token: null, expiresAt: 0, me: null, sites: new Map(), regions: [],
              sockets: [], wsMessages: 0, refreshTimer: null, expiryTimer: null,
              retryMs: 1000 };
  const $ = (id) => document.getElementById(id);
  const fmt = (v, d = 2) => (v === null || v === undefined) ? "–" : Number(v).toFixed(d);
  const READERS_ALL = ["grid_operator", "regulator", "admin"];
  const ZONE = "Asia/Karachi";  // billing periods and the operator's clock
  const when = (iso, withDate = true) => new Intl.DateTimeFormat("en-GB", Object.assign(
    { timeZone: ZONE, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false },
    withDate ? { year: "numeric", month: "short", day: "2-digit" } : {})).format(new Date(iso)) + " PKT";

  function cell(tr, text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  function stateBadge(td, state) {
    td.textContent = "";
    const span = document.createElement("span");
    span.className = "state state-" + state;
    span.textContent = state.replace("_", " ");
    td.appendChild(span);
  }

  async function api(path, options = {}) {
    const headers = Object.assign({ "Authorization": "Bearer " + S.token }, options.headers || {});
    const resp = await fetch(path, Object.assign({}, options, { headers }));
    if (resp.status === 401) { logout("Session expired or refused; log in again."); throw new Error("401"); }
    const body = resp.headers.get("content-type")?.includes("json") ? await resp.json() : null;
    if (!resp.ok) throw new Error((body && (body.detail || body.title)) || ("HTTP " + resp.status));
    return body;
  }

  async function login(ev) {
    ev.preventDefault();
    $("login-error").textContent = "";
    const form = new URLSearchParams({ grant_type: "client_credentials",
      client_id: $("client-id").value.trim(), client_secret: $("client-secret").value });
    let resp;
    try {
      resp = await fetch("/auth/token", { method: "POST", body: form });
    } catch (e) { $("login-error").textContent = "Service unreachable."; return; }
    const body = await resp.json().catch(() => ({}));
    if (!resp.ok) { $("login-error").textContent = body.detail || "Login refused."; return; }
    S.token = body.access_token;
    S.expiresAt = Date.now() + 1000 * (body.expires_in || 3600);
    S.expiryTimer = setTimeout(() => logout("Token expired; log in again."),
                               Math.max(0, S.expiresAt - Date.now() - 5000));
    $("client-secret").value = "";
    try {
      S.me = await api("/api/v1/me");
    } catch (e) { return; }
    $("who-id").textContent = S.me.client_id + " (" + S.me.roles.join(", ") + ")";
    $("who").hidden = false;
    $("login-panel").hidden = true;
    $("board").hidden = false;
    $("emergency").hidden = !S.me.roles.some((r) => r === "grid_operator" || r === "admin");
    await refresh();
    connect();
    refreshHistory();
    refreshInvoices();
  }

  function logout(message) {
    S.token = null; S.me = null;
    clearTimeout(S.expiryTimer); clearTimeout(S.refreshTimer);
    for (const ws of S.sockets) { ws.onclose = null; ws.close(); }
    S.sockets = [];
    setWs(false);
    $("board").hidden = true; $("who").hidden = true; $("login-panel").hidden = false;
    $("login-error").textContent = message || "";
  }

  async function refresh() {
    if (!S.token) return;
    try {
      const data = await api("/api/v1/dashboard/summary");
      render(data);
      $("error").textContent = "";
    } catch (e) {
      if (S.token) $("error").textContent = "Could not load the summary: " + e.message;
    }
  }

  async function refreshHistory() {
    if (!S.token) return;
    try {
      S.history = await api("/api/v1/dashboard/history?hours=24");
    } catch (e) { if (S.token) $("history-note").textContent = "Could not load the last 24 h: " + e.message; return; }
    const sel = $("history-region");
    const keep = sel.value;
    sel.textContent = "";
    for (const r of S.history.regions) {
      const o = document.createElement("option");
      o.value = r.region_id; o.textContent = r.name + " (" + r.region_id + ")";
      sel.appendChild(o);
    }
    if (keep && S.history.regions.some((r) => r.region_id === keep)) sel.value = keep;
    else if (S.history.regions.length) {  // first show the busiest region
      const load = (r) => r.allocated_mw.reduce((a, v) => a + v, 0) + (r.surplus_mw || []).reduce((a, v) => a + (v || 0), 0);
      sel.value = S.history.regions.reduce((best, r) => (load(r) > load(best) ? r : best)).region_id;
    }
    drawHistory();
  }

  function drawHistory() {
    if (typeof Plotly === "undefined" || !S.history) return;
    const r = S.history.regions.find((x) => x.region_id === $("history-region").value) || S.history.regions[0];
    if (!r) { $("history-note").textContent = "No region to show."; return; }
    const x = S.history.hours.map((h) => when(h, false).slice(0, 5));
    const line = (name, y, color, dash) => ({ type: "scatter", mode: "lines+markers", name, x, y,
      line: { color, dash: dash || "solid", shape: "hv" }, marker: { size: 4 } });
    const traces = [];
    if (r.surplus_mw) traces.push(line("surplus MW", r.surplus_mw, "#9fb3c8"));
    traces.push(line("allocated MW", r.allocated_mw, "#0b5cad"));
    traces.push(line("drawn MW", r.drawn_mw, "#1b7f3b", "dot"));
    Plotly.react("history-chart", traces, { margin: { t: 10, r: 10, b: 50, l: 50 }, height: 280,
      legend: { orientation: "h", y: 1.12 }, yaxis: { title: { text: "MW" }, rangemode: "tozero" },
      xaxis: { title: { text: "hour starting (PKT)" }, type: "category" } },
      { displayModeBar: false, responsive: true });
    $("history-note").textContent = r.surplus_mw ? "" : "Surplus is shown to grid operators, regulators and admins only.";
    document.body.dataset.history = String(S.history.hours.length);
  }

  async function refreshInvoices() {
    if (!S.token) return;
    let list;
    try { list = await api("/api/v1/invoices"); } catch (e) { return; }
    const tbody = $("invoices-table").querySelector("tbody");
    tbody.textContent = "";
    const rs = (v) => Number(v).toLocaleString("en-PK", { maximumFractionDigits: 0 });
    for (const i of list) {
      const tr = document.createElement("tr");
      cell(tr, "#" + i.invoice_id); cell(tr, i.site_id); cell(tr, i.period);
      // the price actually paid (surplus-indexed tariffs vary by hour); flat tariff if no energy
      cell(tr, fmt(i.energy_mwh, 1)); cell(tr, fmt(i.average_price_pkr_per_kwh ?? i.tariff_pkr_per_kwh, 2));
      cell(tr, rs(i.energy_charge_pkr)); cell(tr, rs(i.penalty_pkr)); cell(tr, rs(i.total_pkr));
      cell(tr, String(i.flagged_readings)); cell(tr, when(i.issued_at));
      tbody.appendChild(tr);
    }
    $("invoice-count").textContent = list.length ? list.length + " issued" : "none issued yet";
  }

  function scheduleRefresh(ms = 1500) {
    clearTimeout(S.refreshTimer);
    S.refreshTimer = setTimeout(refresh, ms);
  }

  function render(data) {
    $("as-of").textContent = "as of " + when(data.at) + " (" + ZONE + ")";
    S.regions = data.regions;
    // a push newer than this summary (it was read before the change) wins
    const old = S.sites;
    S.sites = new Map(data.sites.map((s) => {
      const seen = old.get(s.site_id);
      return [s.site_id, seen && seen.seq > s.seq
        ? Object.assign(s, { setpoint_mw: seen.setpoint_mw, seq: seen.seq, reason: seen.reason,
                             state: seen.state }) : s];
    }));
    renderRegions();
    renderSites();
    renderCurtailments(data.curtailments);
    document.body.dataset.rendered = String(Number(document.body.dataset.rendered || 0) + 1);
  }

  function regionTotals() {
    // allocated MW recomputed from the live site setpoints (updated by push)
    const alloc = new Map();
    for (const s of S.sites.values()) {
      if (s.state !== "inactive") alloc.set(s.region_id, (alloc.get(s.region_id) || 0) + s.setpoint_mw);
    }
    return alloc;
  }

  function renderRegions() {
    const tbody = $("regions-table").querySelector("tbody");
    tbody.textContent = "";
    const alloc = regionTotals();
    for (const r of S.regions) {
      const allocated = alloc.has(r.region_id) ? alloc.get(r.region_id) : r.allocated_mw;
      const tr = document.createElement("tr");
      tr.dataset.region = r.region_id;
      cell(tr, r.name + " (" + r.region_id + ")");
      cell(tr, fmt(r.surplus_mw, 1), "surplus");
      cell(tr, fmt(allocated, 1), "allocated");
      cell(tr, fmt(r.drawn_mw, 1), "drawn");
      cell(tr, fmt(r.contracted_mw, 1));
      cell(tr, String(r.sites));
      cell(tr, r.curtailed ? "CURTAILED" : "normal", r.curtailed ? "curtailed" : "");
      tbody.appendChild(tr);
    }
    drawChart(alloc);
  }

  function drawChart(alloc) {
    if (typeof Plotly === "undefined") return;
    const names = S.regions.map((r) => r.region_id);
    const bar = (name, ys, color) => ({ type: "bar", name, x: names, y: ys, marker: { color } });
    Plotly.react("chart", [
      bar("surplus MW", S.regions.map((r) => r.surplus_mw ?? 0), "#9fb3c8"),
      bar("allocated MW", S.regions.map((r) => alloc.get(r.region_id) ?? r.allocated_mw), "#0b5cad"),
      bar("drawn MW", S.regions.map((r) => r.drawn_mw), "#1b7f3b"),
    ], { barmode: "group", margin: { t: 10, r: 10, b: 40, l: 50 }, height: 260,
         legend: { orientation: "h", y: 1.12 }, yaxis: { title: { text: "MW" } } },
       { displayModeBar: false, responsive: true });
  }

  function renderSites() {
    const tbody = $("sites-table").querySelector("tbody");
    tbody.textContent = "";
    for (const s of S.sites.values()) tbody.appendChild(siteRow(s));
    $("site-count").textContent = S.sites.size + " shown";
  }

  function siteRow(s) {
    const tr = document.createElement("tr");
    tr.dataset.site = s.site_id;
    cell(tr, s.name === s.site_id ? s.site_id : s.site_id + " · " + s.name);
    cell(tr, s.region_id);
    cell(tr, s.site_type.replace("_", " "));
    cell(tr, fmt(s.contracted_mw, 1));
    cell(tr, fmt(s.setpoint_mw, 2), "setpoint");
    cell(tr, String(s.seq), "seq");
    cell(tr, fmt(s.drawn_mw, 2), "drawn");
    stateBadge(cell(tr, "", "state-cell"), s.state);
    return tr;
  }

  function renderCurtailments(list) {
    const box = $("curtailments");
    box.textContent = "";
    $("curtail-status").textContent = list.length
      ? list.length + " emergency curtailment(s) in force." : "No emergency curtailment in force.";
    if (!S.me || $("emergency").hidden) return;
    for (const c of list) {
      const p = document.createElement("p");
      p.textContent = "#" + c.curtailment_id + " " + (c.region_id || "all regions") + " since " +
        when(c.started_at) + " by " + c.started_by + " (" + c.reason + ") ";
      const b = document.createElement("button");
      b.type = "button"; b.textContent = "Release"; b.className = "release";
      b.addEventListener("click", () => release(c.curtailment_id));
      p.appendChild(b);
      box.appendChild(p);
    }
  }

  function applySetpoint(msg) {
    S.wsMessages += 1;
    document.body.dataset.wsMessages = String(S.wsMessages);
    const s = S.sites.get(msg.site_id);
    if (!s || msg.seq <= s.seq) return;
    s.setpoint_mw = msg.setpoint_mw; s.seq = msg.seq; s.reason = msg.reason;
    if (s.state !== "inactive") {
      s.state = msg.reason === "emergency" ? "curtailed" : msg.reason === "manual" ? "held"
        : (msg.setpoint_mw > 0 ? "running" : "idle");
    }
    const tr = document.querySelector('#sites-table tr[data-site="' + CSS.escape(msg.site_id) + '"]');
    if (tr) {
      const fresh = siteRow(s);
      fresh.classList.add("flash");
      tr.replaceWith(fresh);
    }
    renderRegions();
    scheduleRefresh();
  }

  function setWs(on) {
    const el = $("ws-state");
    el.textContent = on ? "live: on" : "live: off";
    el.className = "pill " + (on ? "on" : "off");
    document.body.dataset.live = on ? "1" : "0";
  }

  function connect() {
    if (!S.token) return;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const protocols = ["offtake.bearer", S.token];  // token in the subprotocol, never in the URL
    const paths = S.me.roles.some((r) => READERS_ALL.includes(r))
      ? ["/api/v1/setpoints/ws"]
      : [...S.sites.keys()].map((id) => "/api/v1/sites/" + encodeURIComponent(id) + "/setpoints/ws");
    let open = 0;
    for (const path of paths) {
      const ws = new WebSocket(proto + "//" + location.host + path, protocols);
      ws.onopen = () => { open += 1; S.retryMs = 1000; setWs(open === paths.length); };
      ws.onmessage = (ev) => { try { applySetpoint(JSON.parse(ev.data)); } catch (e) { /* ignore bad frame */ } };
      ws.onclose = (ev) => {
        setWs(false);
        S.sockets = S.sockets.filter((x) => x !== ws);
        if (!S.token) return;
        if (ev.code === 4401) { logout("Session expired; log in again."); return; }
        if (ev.code === 4403 || ev.code === 4404) return;
        setTimeout(() => { if (S.token && S.sockets.length === 0) { connect(); refresh(); } }, S.retryMs);
        S.retryMs = Math.min(S.retryMs * 2, 30000);
      };
      S.sockets.push(ws);
    }
  }

  async function curtail() {
    $("curtail-confirm").hidden = true; $("curtail-cancel").hidden = true;
    $("curtail-button").hidden = false;
    $("curtail-status").textContent = "Curtailing…";
    try {
      const r = await api("/api/v1/emergency-curtailments", { method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ reason: "emergency from dashboard by " + S.me.client_id }) });
      $("curtail-status").textContent = "Curtailment #" + r.curtailment_id + " issued: " +
        r.sites_affected + " site(s) set to 0 MW.";
      scheduleRefresh(300);
    } catch (e) { $("error").textContent = "Curtailment failed: " + e.message; }
  }

  async function release(id) {
    try {
      await api("/api/v1/emergency-curtailments/" + id + "/release", { method: "POST" });
      scheduleRefresh(300);
    } catch (e) { $("error").textContent = "Release failed: " + e.message; }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("login-form").addEventListener("submit", login);
    $("logout").addEventListener("click", () => logout(""));
    $("curtail-button").addEventListener("click", () => {
      $("curtail-button").hidden = true; $("curtail-confirm").hidden = false; $("curtail-cancel").hidden = false;
    });
    $("curtail-cancel").addEventListener("click", () => {
      $("curtail-button").hidden = false; $("curtail-confirm").hidden = true; $("curtail-cancel").hidden = true;
    });
    $("curtail-confirm").addEventListener("click", curtail);
    $("history-region").addEventListener("change", drawHistory);
    setInterval(() => { if (S.token && document.visibilityState === "visible") refresh(); }, 30000);
    setInterval(() => { if (S.token && document.visibilityState === "visible") { refreshHistory(); refreshInvoices(); } }, 300000);
  });
})();
