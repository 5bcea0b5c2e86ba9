// Live: the camera wall (frames refreshed twice a second) and the add-camera dialog.
// Alerts: the live event feed (Server-Sent Events) on top of the recent history.

import {
  $, $$, KIND_LABEL, api, badge, busy, can, clear, fmtAgo, fmtNum, fmtTime, guard, h, icon, kindClass, on,
  toast,
} from "./lib.js";
import { classBadge, classFilter, objectFields } from "./objects.js";
import { cameraThreshold, notThisPerson } from "./thresholds.js";

const FRAME_MS = 500;
const STATUS_MS = 2000;
const STATE_CLASS = {
  live: "ok", connecting: "info", stalled: "warn", ended: "muted", failed: "danger", stopped: "muted",
};

// ================================================================================================
// Live
// ================================================================================================

export const liveView = (() => {
  let root, grid, empty, summary;
  const cards = new Map(); // camera id -> {el, img, ...}
  let visible = false;
  let statusTimer = null;

  function init(section) {
    root = section;
    for (const card of cards.values()) card.gone = true;
    cards.clear();
    summary = h("div.live-summary");
    grid = h("div.camera-grid#camera-grid");
    empty = h("div.empty#cameras-empty", { hidden: true },
      icon("camera", "big"), h("p", "No cameras yet."),
      can("operator") ? h("p.muted", "Add a camera: a file, an RTSP/HTTP stream or a webcam.") : null);
    clear(root, summary, grid, empty, addCameraDialog());
  }

  function show(actions) {
    visible = true;
    actions.append(
      h("button.btn.ghost", { title: "Refresh", onclick: () => refresh() }, icon("refresh")),
      can("operator")
        ? h("button.btn.primary#add-camera", { onclick: () => openDialog() }, icon("plus"), "Add camera")
        : null);
    refresh();
    statusTimer = setInterval(refresh, STATUS_MS);
    for (const card of cards.values()) startFrames(card);
  }

  function hide() {
    visible = false;
    clearInterval(statusTimer);
  }

  async function refresh() {
    const list = await guard(() => api("/cameras"));
    if (!list) return;
    const seen = new Set();
    for (const cam of list) {
      seen.add(cam.id);
      let card = cards.get(cam.id);
      if (!card) {
        card = makeCard(cam);
        cards.set(cam.id, card);
        grid.append(card.el);
        if (visible) startFrames(card);
      }
      updateCard(card, cam);
    }
    for (const [id, card] of cards) {
      if (!seen.has(id)) {
        card.el.remove();
        card.gone = true;
        cards.delete(id);
      }
    }
    empty.hidden = list.length > 0;
    const live = list.filter((c) => c.state === "live").length;
    const bad = list.filter((c) => c.state === "failed" || c.state === "stalled").length;
    clear(summary,
      stat("Cameras", list.length), stat("Live", live, live ? "ok" : ""), stat("Problems", bad, bad ? "danger" : ""),
      stat("Faces seen", fmtNum(list.reduce((s, c) => s + c.faces, 0))),
      stat("Face tracks", fmtNum(list.reduce((s, c) => s + c.face_tracks, 0))),
      stat("People tracks", fmtNum(list.reduce((s, c) => s + c.people, 0))));
  }

  function stat(label, value, cls = "") {
    return h("div.stat", h("span.stat-label", label), h(`span.stat-value${cls ? "." + cls : ""}`, String(value)));
  }

  function makeCard(cam) {
    const img = h("img.frame", { alt: `camera ${cam.id}`, hidden: true });
    const placeholder = h("div.frame-wait", h("span.spinner"), h("span", "Waiting for the first frame…"));
    const stateBadge = h("span.badge");
    const counts = h("div.cam-stats");
    const lines = h("div.cam-lines");
    const reason = h("div.cam-reason", { hidden: true });
    const source = h("div.cam-source.mono");
    const el = h("article.camera-card", { dataset: { camera: cam.id } },
      h("header.cam-head",
        h("div.cam-title", h("strong", cam.id), source),
        stateBadge,
        can("operator")
          ? h("button.btn.icon-btn.danger-hover", { title: `Remove camera ${cam.id}`, onclick: () => remove(cam.id) },
            icon("trash"))
          : null),
      h("div.frame-box", img, placeholder, reason),
      counts, lines);
    return { id: cam.id, el, img, placeholder, stateBadge, counts, lines, reason, source, running: false };
  }

  function updateCard(card, cam) {
    card.source.textContent = cam.source;
    card.source.title = cam.source;
    card.stateBadge.className = `badge ${STATE_CLASS[cam.state] || "muted"}`;
    card.stateBadge.textContent = cam.state;
    if (cam.state === "live") card.stateBadge.prepend(h("span.rec"));
    card.el.dataset.state = cam.state;
    card.reason.hidden = !cam.reason;
    card.reason.textContent = cam.reason;
    card.reason.classList.toggle("warn", cam.state !== "failed");
    const noSignal = ["stalled", "failed", "ended", "stopped"].includes(cam.state);
    card.placeholder.lastChild.textContent = noSignal ? `No signal (${cam.state})` : "Waiting for the first frame…";
    card.placeholder.firstChild.hidden = noSignal;
    const cell = (label, value, cls = "") => h("div", { dataset: { stat: label } }, h("span", label), h(`b${cls}`, fmtNum(value)));
    clear(card.counts,
      cell("frames", cam.frames), cell("faces", cam.faces), cell("tracks", cam.face_tracks),
      cell("people", cam.people), cell("dropped", cam.dropped, cam.dropped ? ".warn-text" : ""),
      cell("reconn.", cam.reconnects, cam.reconnects ? ".warn-text" : ""));
    const lineNames = Object.keys(cam.line_counts || {});
    clear(card.lines, lineNames.length
      ? lineNames.map((name) => h("span.line-chip", { title: `line ${name}` }, h("b", name),
        ` in ${cam.line_counts[name].in ?? 0} · out ${cam.line_counts[name].out ?? 0}`))
      : h("span.muted", cam.lines.length ? `${cam.lines.length} line(s)` : "no counting lines"),
    cam.zones.length ? h("span.muted", ` · ${cam.zones.length} zone(s)`) : null);
  }

  // One fetch loop per card while the view is visible: no overlapping requests, blob URLs swapped
  // only when the new frame has decoded (no flicker).
  async function startFrames(card) {
    if (card.running) return;
    card.running = true;
    try {
      while (visible && !card.gone && !document.hidden) {
        const t0 = performance.now();
        try {
          const res = await api(`/cameras/${encodeURIComponent(card.id)}/frame.jpg`, { raw: true });
          if (res.status === 200) {
            const url = URL.createObjectURL(await res.blob());
            await new Promise((ok) => {
              const old = card.img.src;
              card.img.onload = card.img.onerror = () => {
                if (old.startsWith("blob:")) URL.revokeObjectURL(old);
                ok();
              };
              card.img.src = url;
            });
            card.img.hidden = false;
            card.placeholder.hidden = true;
          }
        } catch (err) {
          if (err.status === 404 || err.status === 401) break;
        }
        await new Promise((ok) => setTimeout(ok, Math.max(50, FRAME_MS - (performance.now() - t0))));
      }
    } finally {
      card.running = false;
    }
  }

  document.addEventListener("visibilitychange", () => {
    if (visible && !document.hidden) for (const card of cards.values()) startFrames(card);
  });

  async function remove(id) {
    if (!confirm(`Stop and remove camera "${id}"?`)) return;
    await guard(async () => {
      await api(`/cameras/${encodeURIComponent(id)}`, { method: "DELETE" });
      toast(`Camera ${id} removed`, { kind: "ok" });
      await refresh();
    });
  }

  // ---- add camera ------------------------------------------------------------------------------

  let dialog;

  function addCameraDialog() {
    const field = (label, input, hint) => h("label", label, input, hint ? h("small.muted", hint) : null);
    const objects = objectFields();
    const threshold = cameraThreshold();
    const form = h("form.dialog-form#camera-form", { method: "dialog" },
      h("header.dialog-head", h("h2", "Add camera"),
        h("button.btn.icon-btn", { type: "button", title: "Close", onclick: () => dialog.close() }, icon("x"))),
      h("div.form-grid",
        field("Camera id", h("input#cam-id", { name: "id", required: true, pattern: "[\\w.\\-]{1,64}", placeholder: "lobby" })),
        field("Frames per second", h("input#cam-fps", { name: "fps", type: "number", min: "0.1", max: "30", step: "0.1", value: "5" })),
        h("label.span2", "Source",
          h("input#cam-source", { name: "source", required: true, placeholder: "rtsp://user:pass@host/stream · /path/video.mp4 · webcam:0" })),
        h("label.span2", "Counting lines",
          h("textarea#cam-lines", { name: "lines", rows: 2, placeholder: "door=0.5,0,0.5,1" }),
          h("small.muted", "One per line: [name=]x1,y1,x2,y2 in pixels or 0..1 of the frame; ;classes=car,bus counts only those")),
        h("label.span2", "Zones",
          h("textarea#cam-zones", { name: "zones", rows: 2, placeholder: "entrance=0,0,0.5,0,0.5,1,0,1" }),
          h("small.muted", "One per line: [name=]x1,y1,x2,y2,x3,y3,… (polygon); ;classes=car;dwell=600 alerts on a car parked 10 min")),
        objects.el,
        threshold.el,
        h("label.check", h("input#cam-loop", { name: "loop", type: "checkbox" }), "Loop the file (demo / test sources)")),
      h("footer.dialog-foot",
        h("button.btn.ghost", { type: "button", onclick: () => dialog.close() }, "Cancel"),
        h("button.btn.primary#cam-submit", { type: "submit" }, "Start camera")));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      if (!form.reportValidity()) return;
      const lines = (s) => s.split("\n").map((x) => x.trim()).filter(Boolean);
      const body = {
        id: $("#cam-id", form).value.trim(),
        source: $("#cam-source", form).value.trim(),
        fps: Number($("#cam-fps", form).value) || 5,
        lines: lines($("#cam-lines", form).value),
        zones: lines($("#cam-zones", form).value),
        loop: $("#cam-loop", form).checked,
        ...objects.values(),
        ...threshold.values(),
      };
      busy($("#cam-submit", form), async () => {
        await api("/cameras", { method: "POST", json: body });
        toast(`Camera ${body.id} started`, { kind: "ok" });
        dialog.close();
        form.reset();
        objects.sync();
        threshold.reset();
        await refresh();
      });
    });
    dialog = h("dialog.dialog#camera-dialog", form);
    return dialog;
  }

  function openDialog() {
    dialog.showModal();
    $("#cam-id", dialog).focus();
  }

  return { init, show, hide };
})();

// ================================================================================================
// Alerts
// ================================================================================================

const FILTERS = {
  alerts: { label: "Watchlist", kinds: ["watchlist.start", "watchlist.end"] },
  movement: { label: "Lines & zones", kinds: ["line.crossed", "zone.enter", "zone.exit", "zone.dwell"] },
  visitors: { label: "Visitors", kinds: ["visitor.new", "face.unknown"] },
  all: { label: "All events", kinds: null },
};
const MAX_EVENTS = 500;

export const alertsView = (() => {
  let root, list, detail, chips, countEl, empty;
  let filter = "alerts";
  let objectClass = ""; // "" or one class: only the object events of that class
  const events = new Map(); // id -> event
  let selected = null;
  let agoTimer = null;

  function init(section) {
    root = section;
    chips = h("div.chips");
    for (const [key, f] of Object.entries(FILTERS)) {
      chips.append(h("button.chip", { dataset: { filter: key }, onclick: () => setFilter(key) }, f.label));
    }
    countEl = h("span.muted.small");
    const classes = classFilter(setClass);
    list = h("ol.alert-list#alert-list");
    empty = h("div.empty.small-empty", { hidden: true }, icon("shield", "big"), h("p", "Nothing to report."));
    detail = h("aside.alert-detail#alert-detail",
      h("div.empty.small-empty", icon("alerts", "big"), h("p.muted", "Select an event to see its details.")));
    clear(root, h("div.alerts-layout",
      h("div.panel.alerts-feed",
        h("div.panel-head", chips, classes, countEl),
        list, empty),
      detail));
    setFilter(filter);
  }

  function show(actions) {
    actions.append(h("button.btn.ghost", { title: "Reload history", onclick: () => loadHistory() },
      icon("refresh"), "Reload"));
    loadHistory();
    agoTimer = setInterval(() => {
      for (const el of $$(".ago", list)) el.textContent = fmtAgo(Number(el.dataset.t));
    }, 5000);
  }

  function hide() {
    clearInterval(agoTimer);
  }

  function setFilter(key) {
    filter = key;
    for (const c of $$(".chip", chips)) c.classList.toggle("active", c.dataset.filter === key);
    render();
    if (root && !root.hidden) loadHistory();
  }

  // A class names object events only: from the watchlist or visitors, choosing one shows lines & zones.
  function setClass(value) {
    objectClass = value;
    if (value && FILTERS[filter].kinds && !FILTERS[filter].kinds.includes("line.crossed")) setFilter("movement");
    else setFilter(filter);
  }

  const matches = (e) => (!FILTERS[filter].kinds || FILTERS[filter].kinds.includes(e.kind))
    && (!objectClass || e.class === objectClass);

  async function loadHistory() {
    const kinds = FILTERS[filter].kinds;
    const query = { kind: kinds || undefined, class: objectClass || undefined, limit: 200 };
    const found = await guard(() => api("/events", { query }));
    if (!found) return;
    for (const e of found) events.set(e.id, e);
    trim();
    render();
  }

  function trim() {
    if (events.size <= MAX_EVENTS) return;
    const sorted = [...events.values()].sort((a, b) => b.wall_s - a.wall_s);
    for (const e of sorted.slice(MAX_EVENTS)) events.delete(e.id);
  }

  function render() {
    if (!list) return;
    const shown = [...events.values()].filter(matches).sort((a, b) => b.wall_s - a.wall_s).slice(0, 200);
    clear(list, shown.map((e) => item(e)));
    empty.hidden = shown.length > 0;
    countEl.textContent = `${shown.length} shown`;
  }

  function item(e, fresh = false) {
    const cls = kindClass(e.kind);
    const title = e.person_name
      || (e.kind === "line.crossed" ? `Line ${e.rule} · ${e.direction || ""}` : null)
      || (e.kind.startsWith("zone.") ? `Zone ${e.rule}` : null)
      || (e.person_id ? `Person #${e.person_id}` : "Unknown person");
    const el = h(`li.alert-item.sev-${cls}${fresh ? ".fresh" : ""}`,
      { dataset: { kind: e.kind, id: e.id }, tabindex: 0, onclick: () => select(e), onkeydown: (ev) => ev.key === "Enter" && select(e) },
      e.snapshot_url
        ? h("img.thumb", { src: e.snapshot_url, alt: "", loading: "lazy" })
        : h("div.thumb.no-thumb", icon(e.kind.startsWith("line") || e.kind.startsWith("zone") ? "live" : "user")),
      h("div.alert-main",
        h("div.alert-title", h("span.person", title), badge(KIND_LABEL[e.kind] || e.kind, cls)),
        h("div.alert-meta",
          classBadge(e.class),
          h("span", icon("camera", "tiny"), e.camera),
          e.collection ? h("span", icon("people", "tiny"), e.collection) : null,
          e.distance != null ? h("span.mono", `d=${e.distance.toFixed(3)}`) : null,
          h("span.mono", `track ${e.track_id}`))),
      h("div.alert-time", h("span.mono", fmtTime(e.wall_s)), h("span.ago.muted", { dataset: { t: e.wall_s } }, fmtAgo(e.wall_s))));
    if (selected === e.id) el.classList.add("selected");
    return el;
  }

  function select(e) {
    selected = e.id;
    for (const li of $$(".alert-item", list)) li.classList.toggle("selected", li.dataset.id === e.id);
    const row = (k, v) => (v === null || v === undefined || v === "" ? null : h("tr", h("th", k), h("td", String(v))));
    clear(detail,
      e.snapshot_url ? h("img.snapshot", { src: e.snapshot_url, alt: "event snapshot" }) : h("div.snapshot.no-thumb", "no snapshot"),
      h("h3", e.person_name || KIND_LABEL[e.kind] || e.kind),
      h("table.kv", h("tbody",
        row("Event", KIND_LABEL[e.kind] || e.kind), row("Time", fmtTime(e.wall_s)), row("Camera", e.camera),
        row("Media time", `${e.t_s.toFixed(1)} s`), row("Class", e.class), row("Track", e.track_id), row("Rule", e.rule),
        row("Person", e.person_id != null ? `#${e.person_id} ${e.person_name || ""}` : null),
        row("Collection", e.collection), row("Distance", e.distance != null ? e.distance.toFixed(4) : null),
        row("Direction", e.direction), row("Dwell", e.dwell_s != null ? `${e.dwell_s.toFixed(1)} s` : null),
        row("Box", e.box ? e.box.map((v) => Math.round(v)).join(", ") : null), row("Event id", e.id))));
    const correction = h("div.correction#alert-correction");
    const button = notThisPerson(e, correction);
    if (button) detail.append(h("div.alert-actions", button), correction);
  }

  on("event", (e) => {
    events.set(e.id, e);
    trim();
    if (!list || !matches(e)) return;
    list.prepend(item(e, true));
    while (list.children.length > 200) list.lastChild.remove();
    empty.hidden = true;
    countEl.textContent = `${list.children.length} shown`;
  });

  return { init, show, hide };
})();
