// Hourly bar charts in SVG: one series (barChart) or one stacked series per object class (stackedChart).
// Drawn at the container's pixel width; colours and sizes through SVG attributes (no inline styles: CSP).

const SVG = "http://www.w3.org/2000/svg";
const H = 150, PAD_L = 34, PAD_R = 8, PAD_T = 10, PAD_B = 22;

export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children) el.append(c);
  return el;
}

export function niceMax(v) {
  if (v <= 4) return 4;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const hourLabel = (t) => String(new Date(t * 1000).getHours()).padStart(2, "0");

// The frame of a chart: grid lines with their values, and the hour ticks under the buckets.
function frame(n, max, width, ticks) {
  const W = Math.max(320, width);
  const plotW = W - PAD_L - PAD_R, plotH = H - PAD_T - PAD_B;
  const bw = plotW / n;
  const svg = s("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img" });
  for (let i = 0; i <= 4; i++) {
    const y = PAD_T + plotH - (plotH * i) / 4;
    svg.append(s("line", { x1: PAD_L, x2: W - PAD_R, y1: y, y2: y, class: i ? "grid" : "axis" }));
    const t = s("text", { x: PAD_L - 6, y: y + 3, class: "tick", "text-anchor": "end" });
    t.textContent = String(Math.round((max * i) / 4));
    svg.append(t);
  }
  ticks.forEach((time, i) => {
    const last = i === n - 1;
    if ((i % 3 === 0 && n - 1 - i >= 3) || last) {
      const x = PAD_L + i * bw;
      const t = s("text", { x: last ? W - PAD_R : x + bw / 2, y: H - 6, class: "tick", "text-anchor": last ? "end" : "middle" });
      t.textContent = last ? "now" : `${hourLabel(time)}:00`;
      svg.append(t);
    }
  });
  const at = (i) => PAD_L + i * bw;
  const height = (count) => (plotH * count) / max;
  return { svg, bw, plotH, at, height, bottom: PAD_T + plotH };
}

function tip(text) {
  const title = s("title");
  title.textContent = text;
  return title;
}

// A bar chart of hourly buckets [{t, count}].
export function barChart(buckets, color, width) {
  const max = niceMax(Math.max(0, ...buckets.map((b) => b.count)));
  const f = frame(buckets.length, max, width, buckets.map((b) => b.t));
  buckets.forEach((b, i) => {
    const hh = hourLabel(b.t);
    const text = `${hh}:00–${hh}:59 · ${b.count}`;
    f.svg.append(s("rect", { x: f.at(i), y: PAD_T, width: f.bw, height: f.plotH, class: "hover" }, tip(text)));
    if (b.count > 0) {
      const bh = f.height(b.count);
      f.svg.append(s("rect", {
        x: f.at(i) + f.bw * 0.15, y: f.bottom - bh, width: f.bw * 0.7, height: Math.max(1, bh), rx: 2, fill: color, class: "bar",
      }, tip(text)));
    }
  });
  return f.svg;
}

// Stacked bars of hourly buckets [{t, counts: {car: 3, person: 1}}], one colour per series [{key, color}],
// stacked in the order of the series.
export function stackedChart(buckets, series, width) {
  const total = (b) => series.reduce((a, sr) => a + (b.counts[sr.key] || 0), 0);
  const max = niceMax(Math.max(0, ...buckets.map(total)));
  const f = frame(buckets.length, max, width, buckets.map((b) => b.t));
  buckets.forEach((b, i) => {
    const hh = hourLabel(b.t);
    const parts = series.filter((sr) => b.counts[sr.key]).map((sr) => `${sr.key} ${b.counts[sr.key]}`);
    const text = `${hh}:00–${hh}:59 · ${parts.length ? parts.join(", ") : "0"}`;
    f.svg.append(s("rect", { x: f.at(i), y: PAD_T, width: f.bw, height: f.plotH, class: "hover" }, tip(text)));
    let y = f.bottom;
    for (const sr of series) {
      const n = b.counts[sr.key] || 0;
      if (!n) continue;
      const bh = Math.max(1, f.height(n));
      y -= bh;
      f.svg.append(s("rect", {
        x: f.at(i) + f.bw * 0.15, y, width: f.bw * 0.7, height: bh, fill: sr.color, class: "bar", "data-class": sr.key,
      }, tip(`${hh}:00–${hh}:59 · ${sr.key} ${n}`)));
    }
  });
  return f.svg;
}
