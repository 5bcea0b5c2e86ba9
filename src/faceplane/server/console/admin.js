// Analytics (hourly bar charts in SVG, counts per object class, per-camera line counts), Audit (admin), API keys (admin).

import { barChart } from "./chart.js";
import { api, badge, busy, clear, fmtAgo, fmtNum, fmtTime, guard, h, icon, toast } from "./lib.js";
import { classPanel } from "./objects.js";

// ================================================================================================
// Analytics
// ================================================================================================

const SERIES = [
  { kind: "visitor.new", title: "Visitors", sub: "new face tracks per hour", color: "var(--info)" },
  { kind: "watchlist.start", title: "Watchlist alerts", sub: "watchlist hits per hour", color: "var(--danger)" },
  { kind: "line.crossed", title: "Line crossings", sub: "crossings per hour, all lines", color: "var(--warn)" },
];
const HOUR = 3600;

export const analyticsView = (() => {
  let kpis, charts, lineTable, timer, classes;
  const data = {}; // kind -> buckets

  function init(section) {
    kpis = h("div.kpis#kpis");
    charts = h("div.charts");
    for (const sr of SERIES) {
      charts.append(h("div.panel.chart-panel", { dataset: { kind: sr.kind } },
        h("div.panel-head", h("div", h("h2", sr.title), h("span.muted.small", sr.sub)),
          h("span.chart-total.mono", "–")),
        h("div.chart-box")));
    }
    lineTable = h("tbody#line-rows");
    classes = classPanel();
    clear(section, kpis, charts, classes.el,
      h("div.panel",
        h("div.panel-head", h("h2", "Line counts per camera"), h("span.muted.small", "since each camera started")),
        h("div.table-wrap", h("table.table#line-table",
          h("thead", h("tr", h("th", "Camera"), h("th", "State"), h("th", "Line"), h("th.num", "In"),
            h("th.num", "Out"), h("th.num", "Total"), h("th", "Share"))),
          lineTable))));
    window.addEventListener("resize", () => !section.hidden && (drawCharts(), classes.draw()));
  }

  function show(actions) {
    actions.append(h("span.muted.small", "last 24 hours"),
      h("button.btn.ghost", { title: "Refresh", onclick: () => load() }, icon("refresh")));
    load();
    timer = setInterval(load, 30000);
  }

  function hide() {
    clearInterval(timer);
  }

  async function load() {
    const until = Date.now() / 1000;
    const first = Math.floor(until / HOUR) * HOUR - 23 * HOUR;
    classes.load(first, until); // its own request and errors
    const results = await guard(() => Promise.all([
      ...SERIES.map((sr) => api("/analytics/hourly", { query: { kind: sr.kind, since_s: first, until_s: until } })),
      api("/cameras"),
    ]));
    if (!results) return;
    const cams = results.pop();
    SERIES.forEach((sr, i) => {
      const byHour = new Map(results[i].map((r) => [Math.floor(r.hour_s / HOUR) * HOUR, r.count]));
      data[sr.kind] = Array.from({ length: 24 }, (_, j) => ({ t: first + j * HOUR, count: byHour.get(first + j * HOUR) || 0 }));
    });
    drawCharts();
    const total = (k) => data[k].reduce((a, b) => a + b.count, 0);
    const live = cams.filter((c) => c.state === "live").length;
    const kpi = (label, value, cls, sub) => h(`div.kpi.${cls}`, h("span.kpi-label", label), h("span.kpi-value", value),
      h("span.kpi-sub.muted", sub));
    clear(kpis,
      kpi("Cameras live", `${live}/${cams.length}`, live === cams.length ? "ok" : "warn", "now"),
      kpi("Visitors", fmtNum(total("visitor.new")), "info", "last 24 h"),
      kpi("Watchlist alerts", fmtNum(total("watchlist.start")), total("watchlist.start") ? "danger" : "muted", "last 24 h"),
      kpi("Line crossings", fmtNum(total("line.crossed")), "warn", "last 24 h"));
    renderLines(cams);
  }

  function drawCharts() {
    for (const sr of SERIES) {
      const panel = charts.querySelector(`[data-kind="${sr.kind}"]`);
      const box = panel.querySelector(".chart-box");
      if (!data[sr.kind]) continue;
      clear(box, barChart(data[sr.kind], sr.color, box.clientWidth || 600));
      panel.querySelector(".chart-total").textContent = fmtNum(data[sr.kind].reduce((a, b) => a + b.count, 0));
    }
  }

  function renderLines(cams) {
    const rows = [];
    for (const c of cams) {
      const names = Object.keys(c.line_counts || {});
      const camTotal = names.reduce((a, n) => a + (c.line_counts[n].in || 0) + (c.line_counts[n].out || 0), 0);
      if (!names.length) {
        rows.push(h("tr", h("td", h("strong", c.id)), h("td", badge(c.state, c.state === "live" ? "ok" : "muted")),
          h("td.muted", { colSpan: 5 }, c.lines.length ? "lines configured, no counts yet" : "no counting lines")));
      }
      for (const n of names) {
        const { in: i = 0, out: o = 0 } = c.line_counts[n];
        const share = camTotal ? ((i + o) / camTotal) * 100 : 0;
        rows.push(h("tr", h("td", h("strong", c.id)), h("td", badge(c.state, c.state === "live" ? "ok" : "muted")),
          h("td.mono", n), h("td.num", fmtNum(i)), h("td.num", fmtNum(o)), h("td.num", h("strong", fmtNum(i + o))),
          h("td", h("div.meter", h("span", { style: `width:${share.toFixed(1)}%` })))));
      }
    }
    clear(lineTable, rows.length ? rows : h("tr", h("td.empty-row", { colSpan: 7 }, "No cameras.")));
  }

  return { init, show, hide };
})();

// ================================================================================================
// Audit
// ================================================================================================

export const auditView = (() => {
  const PAGE = 100;
  let rows, actor, action, pager, offset = 0;

  function init(section) {
    rows = h("tbody#audit-rows");
    actor = h("input#audit-actor", { placeholder: "actor", type: "search" });
    action = h("input#audit-action", { placeholder: "action, e.g. person.enroll", type: "search" });
    pager = h("span.muted.small");
    const filters = h("form.inline-form", { onsubmit: (ev) => { ev.preventDefault(); offset = 0; load(); } },
      actor, action, h("button.btn", { type: "submit" }, "Filter"),
      h("span.spacer"),
      h("button.btn.ghost", { type: "button", onclick: () => { offset = Math.max(0, offset - PAGE); load(); } }, "‹ Newer"),
      pager,
      h("button.btn.ghost", { type: "button", onclick: () => { offset += PAGE; load(); } }, "Older ›"));
    clear(section, h("div.panel",
      h("div.panel-head", h("h2", "Audit log"), h("span.muted.small", "who did what, from where — newest first")),
      filters,
      h("div.table-wrap", h("table.table.audit-table#audit-table",
        h("thead", h("tr", h("th", "Time"), h("th", "Actor"), h("th", "Role"), h("th", "Action"), h("th", "Target"),
          h("th", "IP"), h("th.num", "Status"), h("th", "Detail"))),
        rows))));
  }

  function show(actions) {
    actions.append(h("button.btn.ghost", { title: "Refresh", onclick: () => load() }, icon("refresh")));
    load();
  }

  async function load() {
    const list = await guard(() => api("/audit", {
      query: { actor: actor.value.trim(), action: action.value.trim(), limit: PAGE, offset },
    }));
    if (!list) return;
    pager.textContent = list.length ? `${offset + 1}–${offset + list.length}` : "–";
    const statusCls = (st) => (st >= 500 ? "danger" : st >= 400 ? "warn" : "ok");
    clear(rows, list.length ? list.map((e) => h("tr",
      h("td.mono.nowrap", { title: fmtAgo(e.ts) }, fmtTime(e.ts)), h("td", h("strong", e.actor)),
      h("td", e.role ? h(`span.badge.role-${e.role}`, e.role) : h("span.muted", "—")),
      h("td.mono", e.action), h("td.mono", e.target || "—"), h("td.mono.muted", e.ip),
      h("td.num", badge(String(e.status), statusCls(e.status))),
      h("td.mono.muted.detail", { title: e.detail }, e.detail || ""))) : h("tr", h("td.empty-row", { colSpan: 8 }, "No entries.")));
  }

  return { init, show };
})();

// ================================================================================================
// API keys
// ================================================================================================

export const keysView = (() => {
  let rows, created;

  function init(section) {
    rows = h("tbody#key-rows");
    created = h("div.key-created#key-created", { hidden: true });
    const name = h("input#key-name", { placeholder: "key name, e.g. door-controller", required: true, maxlength: 100 });
    const role = h("select#key-role", ["viewer", "operator", "admin"].map((r) => h("option", { value: r }, r)));
    const submit = h("button.btn.primary#key-create", { type: "submit" }, icon("plus"), "Create key");
    const form = h("form.inline-form#key-form", {
      onsubmit: (ev) => {
        ev.preventDefault();
        busy(submit, async () => {
          const k = await api("/keys", { method: "POST", json: { name: name.value.trim(), role: role.value } });
          name.value = "";
          showCreated(k);
          await load();
        });
      },
    }, name, role, submit);
    clear(section,
      h("div.panel",
        h("div.panel-head", h("h2", "New API key"),
          h("span.muted.small", "for scripts and integrations: send it as X-API-Key")),
        form, created),
      h("div.panel",
        h("div.panel-head", h("h2", "API keys")),
        h("div.table-wrap", h("table.table#key-table",
          h("thead", h("tr", h("th", "ID"), h("th", "Name"), h("th", "Role"), h("th", "Prefix"), h("th", "Created"),
            h("th", "Status"), h("th", ""))),
          rows))));
  }

  function showCreated(k) {
    created.hidden = false;
    const value = h("code.key-value#key-value", k.key);
    clear(created,
      h("div.key-warn", icon("shield"), h("span", h("strong", "Copy this key now."),
        ` It will not be shown again. ${k.name} · ${k.role}`)),
      h("div.key-row", value,
        h("button.btn", {
          type: "button",
          onclick: () => navigator.clipboard?.writeText(k.key).then(() => toast("Key copied", { kind: "ok" }),
            () => toast("Select the key and copy it by hand", { kind: "error" })),
        }, icon("copy"), "Copy"),
        h("button.btn.ghost", { type: "button", onclick: () => { created.hidden = true; clear(created); } }, "Done")));
  }

  function show(actions) {
    actions.append(h("button.btn.ghost", { title: "Refresh", onclick: () => load() }, icon("refresh")));
    load();
  }

  async function load() {
    const list = await guard(() => api("/keys"));
    if (!list) return;
    clear(rows, list.map((k) => h(`tr${k.revoked ? ".revoked" : ""}`, { dataset: { key: k.id } },
      h("td.mono", `#${k.id}`), h("td", h("strong", k.name)), h("td", h(`span.badge.role-${k.role}`, k.role)),
      h("td.mono", `${k.prefix}…`), h("td.mono", { title: fmtAgo(k.created_at) }, fmtTime(k.created_at)),
      h("td", k.revoked ? badge("revoked", "muted") : badge("active", "ok")),
      h("td.actions", k.revoked ? null : h("button.btn.small.danger-hover", {
        onclick: (ev) => revoke(k, ev.currentTarget),
      }, "Revoke")))));
  }

  async function revoke(k, button) {
    if (!confirm(`Revoke key "${k.name}" (#${k.id})? Clients using it will be refused at once.`)) return;
    await busy(button, async () => {
      await api(`/keys/${k.id}`, { method: "DELETE" });
      toast(`Key ${k.name} revoked`, { kind: "ok" });
      await load();
    });
  }

  return { init, show };
})();
