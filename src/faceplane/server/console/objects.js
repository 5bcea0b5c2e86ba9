// Object classes (people and vehicles) in the console: the camera form's object settings, class badges and the
// class filter of the events list, and the analytics panel of counts per class per hour.

import { stackedChart } from "./chart.js";
import { api, clear, fmtNum, guard, h } from "./lib.js";

// The classes a camera may count (the detectors' default filter); events may name other COCO classes.
export const OBJECT_CLASSES = ["person", "bicycle", "car", "motorcycle", "bus", "truck"];
const COLORS = {
  person: "#60a5fa", bicycle: "#34d399", car: "#f59e0b", motorcycle: "#f472b6", bus: "#a78bfa", truck: "#f87171",
};
const OTHER_COLOR = "#94a3b8";
export const classColor = (cls) => COLORS[cls] || OTHER_COLOR;

const DETECTORS = [
  ["nanodet", "NanoDet (CNN)"],
  ["centernet", "CenterNet MobileNetV3 (CNN)"],
  ["hog", "HOG (OpenCV, people only)"],
];
// "": the model's own input size (the server's default)
const INPUT_SIZES = [
  ["", "model default"], ["320", "320 px (fastest)"], ["416", "416 px"], ["512", "512 px"], ["640", "640 px (small objects)"],
];

function swatch(cls) {
  return h("span.swatch", { style: `background:${classColor(cls)}`, "aria-hidden": "true" });
}

// A badge naming the class of an object event ("car"); null for face events.
export function classBadge(cls) {
  return cls ? h("span.badge.class-badge", { dataset: { class: cls }, title: `object class: ${cls}` }, swatch(cls), cls) : null;
}

// ---- camera form -------------------------------------------------------------------------------

// The camera form's object settings: which classes to detect and count, the detector, its input size.
// values() gives the CameraConfig fields; sync() after a form reset.
export function objectFields() {
  const checks = OBJECT_CLASSES.map((cls) => h(`input#cam-obj-${cls}`, { type: "checkbox", name: "objects", value: cls }));
  const detector = h("select#cam-detector", { name: "object_detector" },
    DETECTORS.map(([value, label]) => h("option", { value }, label)));
  const size = h("select#cam-input-size", { name: "object_input_size" },
    INPUT_SIZES.map(([value, label]) => h("option", { value }, label)));
  // HOG finds people only: the other classes cannot be asked of it.
  const sync = () => {
    const hog = detector.value === "hog";
    for (const c of checks) {
      if (c.value === "person") continue;
      c.disabled = hog;
      if (hog) c.checked = false;
    }
    size.disabled = hog;
  };
  detector.addEventListener("change", sync);
  const el = h("fieldset.span2.objects-field#cam-objects",
    h("legend", "Objects to detect, track and count"),
    h("div.obj-checks", checks.map((c) => h("label.obj-check", c, swatch(c.value), c.value))),
    h("div.obj-settings",
      h("label", "Detector", detector),
      h("label", "Input size", size)),
    h("small.muted", "Lines, zones and dwell rules count each class apart; no class: faces only."));
  const values = () => ({
    objects: checks.filter((c) => c.checked).map((c) => c.value),
    object_detector: detector.value,
    object_input_size: size.value ? Number(size.value) : null,
  });
  return { el, values, sync };
}

// ---- events list -------------------------------------------------------------------------------

// A select of "all classes" or one class; onchange(value or "") when it changes.
export function classFilter(onchange) {
  const select = h("select#event-class", { title: "Object class", "aria-label": "Object class" },
    h("option", { value: "" }, "All classes"),
    OBJECT_CLASSES.map((cls) => h("option", { value: cls }, cls)));
  select.addEventListener("change", () => onchange(select.value));
  return select;
}

// ---- analytics ---------------------------------------------------------------------------------

const HOUR = 3600;
const METRICS = {
  crossings: { label: "Line crossings", of: (r) => r.line_in + r.line_out },
  entries: { label: "Zone entries", of: (r) => r.zone_enter },
  dwell: { label: "Dwell alerts", of: (r) => r.zone_dwell },
};

// The panel "Objects per class": stacked hourly bars (one colour per class) of the chosen count, a legend
// with each class's total, and a table of every count per class over the range.
export function classPanel() {
  let metric = "crossings";
  let rows = [];
  let first = 0;
  const chips = h("div.chips",
    Object.entries(METRICS).map(([key, m]) => h("button.chip", { dataset: { metric: key }, onclick: () => pick(key) }, m.label)));
  const box = h("div.chart-box");
  const legend = h("div.legend#class-legend");
  const body = h("tbody#class-rows");
  const el = h("div.panel.class-panel#class-panel",
    h("div.panel-head", h("div", h("h2", "Objects per class"), h("span.muted.small", "per hour, stacked by class")), chips),
    box, legend,
    h("div.table-wrap", h("table.table#class-table",
      h("thead", h("tr", h("th", "Class"), h("th.num", "Crossed in"), h("th.num", "Crossed out"),
        h("th.num", "Zone entries"), h("th.num", "Zone exits"), h("th.num", "Dwell alerts"))),
      body)));

  function pick(key) {
    metric = key;
    for (const c of chips.children) c.classList.toggle("active", c.dataset.metric === key);
    draw();
  }

  async function load(since, until) {
    const found = await guard(() => api("/analytics/classes", { query: { since_s: since, until_s: until } }));
    if (!found) return;
    first = since;
    rows = found;
    draw();
  }

  // Classes in a stable order: the usual ones first, then any other class the events name.
  function classes() {
    const seen = new Set(rows.map((r) => r.class));
    return [...OBJECT_CLASSES.filter((c) => seen.has(c)), ...[...seen].filter((c) => !OBJECT_CLASSES.includes(c)).sort()];
  }

  function draw() {
    const of = METRICS[metric].of;
    const buckets = Array.from({ length: 24 }, (_, j) => ({ t: first + j * HOUR, counts: {} }));
    for (const r of rows) {
      const b = buckets[Math.floor((r.hour_s - first) / HOUR)];
      if (b) b.counts[r.class] = (b.counts[r.class] || 0) + of(r);
    }
    const names = classes();
    clear(box, stackedChart(buckets, names.map((key) => ({ key, color: classColor(key) })), box.clientWidth || 600));
    const sum = (cls, f) => rows.filter((r) => r.class === cls).reduce((a, r) => a + f(r), 0);
    clear(legend, names.length
      ? names.map((cls) => h("span.legend-item", { dataset: { class: cls } },
        swatch(cls), h("span", cls), h("b.mono", fmtNum(sum(cls, of)))))
      : h("span.muted.small", "No object events yet: give a camera objects to count and a line or zone."));
    clear(body, names.length
      ? names.map((cls) => h("tr", { dataset: { class: cls } }, h("td", classBadge(cls)),
        ["line_in", "line_out", "zone_enter", "zone_exit", "zone_dwell"].map((k) => h("td.num", fmtNum(sum(cls, (r) => r[k]))))))
      : h("tr", h("td.empty-row", { colSpan: 6 }, "No object events.")));
  }

  pick(metric);
  return { el, load, draw };
}
