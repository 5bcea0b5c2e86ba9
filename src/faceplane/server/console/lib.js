// Shared helpers of the console: the API client, DOM building, toasts, formatting, the session.

export const API = "/api/v1";
export const EVENT_KINDS = [
  "watchlist.start", "watchlist.update", "watchlist.end", "line.crossed",
  "zone.enter", "zone.exit", "zone.dwell", "visitor.new", "face.unknown",
];
const ROLES = ["viewer", "operator", "admin"];

// The signed-in principal ({name, role, kind}) or null; set by app.js.
export const session = { me: null, onUnauthorized: () => {} };

export function can(role) {
  return !!session.me && ROLES.indexOf(session.me.role) >= ROLES.indexOf(role);
}

export class ApiError extends Error {
  constructor(status, title, detail) {
    super(detail || title || `HTTP ${status}`);
    this.status = status;
    this.title = title;
    this.detail = detail;
  }
}

// fetch under /api/v1; JSON in and out; problem+json errors become ApiError; 401 signs out.
export async function api(path, { method = "GET", json, form, query, raw = false } = {}) {
  let url = API + path;
  if (query) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      for (const item of [].concat(v)) if (item !== undefined && item !== null && item !== "") qs.append(k, item);
    }
    const s = qs.toString();
    if (s) url += "?" + s;
  }
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (form) {
    init.body = form;
  }
  if (raw) init.cache = "no-store";
  let res;
  try {
    res = await fetch(url, init);
  } catch (err) {
    throw new ApiError(0, "NetworkError", `cannot reach the server (${err.message})`);
  }
  if (!res.ok) {
    let title = res.statusText, detail = "";
    try {
      const body = await res.json();
      title = body.title || title;
      detail = body.detail || "";
    } catch { /* not JSON */ }
    if (res.status === 401 && !path.startsWith("/auth/")) session.onUnauthorized();
    throw new ApiError(res.status, title, detail || `${res.status} ${title}`);
  }
  if (raw) return res;
  if (res.status === 204) return null;
  return res.json();
}

// ---- DOM ---------------------------------------------------------------------------------------

// h("div.card#main", {onclick, title, dataset: {...}}, child, ...): text children are text nodes
// (never HTML), so names and sources coming from the API cannot inject markup.
export function h(spec, attrs, ...children) {
  if (attrs === null || typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs)) {
    children.unshift(attrs);
    attrs = {};
  }
  const [, tag = "div", rest = ""] = spec.match(/^([a-z0-9-]*)(.*)$/i);
  const el = document.createElement(tag || "div");
  for (const part of rest.match(/[.#][^.#]+/g) || []) {
    if (part[0] === ".") el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "class") el.className += " " + v;
    else if (k === "html") el.innerHTML = v; // only for static markup (icons)
    else if (k === "style") el.style.cssText = v; // CSSOM: a style attribute would break the CSP (no inline styles)
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// Inline SVG icons (stroke icons drawn for this console).
const ICONS = {
  live: '<rect x="2" y="5" width="14" height="14" rx="2"/><path d="M16 10l6-4v12l-6-4z"/>',
  alerts: '<path d="M6 8a6 6 0 0 1 12 0c0 7 3 8 3 8H3s3-1 3-8"/><path d="M10 20a2 2 0 0 0 4 0"/>',
  people: '<circle cx="9" cy="8" r="4"/><path d="M2 21v-1a6 6 0 0 1 6-6h2a6 6 0 0 1 6 6v1"/><path d="M16 4a4 4 0 0 1 0 8M22 21v-1a6 6 0 0 0-4-5.6"/>',
  analytics: '<path d="M3 3v18h18"/><rect x="7" y="12" width="3" height="6"/><rect x="12" y="8" width="3" height="10"/><rect x="17" y="5" width="3" height="13"/>',
  audit: '<path d="M9 4h6l1 2h3v15H5V6h3z"/><path d="M9 12h6M9 16h6"/>',
  keys: '<circle cx="7.5" cy="15.5" r="4.5"/><path d="M10.7 12.3 20 3M16 7l3 3M14 9l2 2"/>',
  logout: '<path d="M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4M16 17l5-5-5-5M21 12H9"/>',
  plus: '<path d="M12 5v14M5 12h14"/>',
  trash: '<path d="M3 6h18M8 6V4h8v2M6 6l1 15h10l1-15"/>',
  refresh: '<path d="M21 12a9 9 0 1 1-3-6.7L21 8"/><path d="M21 3v5h-5"/>',
  upload: '<path d="M12 16V4M7 9l5-5 5 5"/><path d="M4 16v4h16v-4"/>',
  user: '<circle cx="12" cy="8" r="4"/><path d="M4 21a8 8 0 0 1 16 0"/>',
  unknown: '<circle cx="10" cy="8" r="4"/><path d="M3 21a7 7 0 0 1 11-5.7"/><path d="M17 14.5a2.5 2.5 0 1 1 3 2.4c-.6.2-1 .7-1 1.3v.3M19 21.5v.01"/>',
  x: '<path d="M6 6l12 12M18 6 6 18"/>',
  copy: '<rect x="8" y="8" width="13" height="13" rx="2"/><path d="M16 8V5a2 2 0 0 0-2-2H5a2 2 0 0 0-2 2v9a2 2 0 0 0 2 2h3"/>',
  shield: '<path d="M12 2 4 5v6c0 5 3.4 9.7 8 11 4.6-1.3 8-6 8-11V5z"/>',
  camera: '<path d="M3 7h4l2-3h6l2 3h4v13H3z"/><circle cx="12" cy="13" r="4"/>',
};

export function icon(name, cls = "") {
  const span = document.createElement("span");
  span.className = "icon " + cls;
  span.innerHTML = `<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="1.8"
    stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">${ICONS[name] || ""}</svg>`;
  return span;
}

// ---- toasts ------------------------------------------------------------------------------------

export function toast(message, { kind = "info", title, timeout = 6000 } = {}) {
  let box = $("#toasts");
  const t = h(`div.toast.${kind}`, { role: kind === "error" ? "alert" : "status" },
    h("div.toast-body", title ? h("strong", title) : null, h("span.toast-msg", message)),
    h("button.toast-close", { title: "Dismiss", onclick: () => t.remove() }, icon("x")));
  box.append(t);
  while (box.children.length > 5) box.firstChild.remove();
  if (timeout) setTimeout(() => t.remove(), timeout);
  return t;
}

export function toastError(err) {
  if (err instanceof ApiError) {
    if (err.status === 401 && session.me === null) return;
    toast(err.detail, { kind: "error", title: `${err.title}${err.status ? ` (${err.status})` : ""}`, timeout: 9000 });
  } else {
    console.error(err);
    toast(String(err && err.message ? err.message : err), { kind: "error", title: "Error", timeout: 9000 });
  }
}

// Run an async action, showing any error as a toast; returns its result or undefined.
export async function guard(fn) {
  try {
    return await fn();
  } catch (err) {
    toastError(err);
    return undefined;
  }
}

// Disable a button while an action runs.
export async function busy(button, fn) {
  button.disabled = true;
  button.classList.add("busy");
  try {
    return await guard(fn);
  } finally {
    button.disabled = false;
    button.classList.remove("busy");
  }
}

// ---- formatting --------------------------------------------------------------------------------

const pad = (n) => String(n).padStart(2, "0");

export function fmtTime(unixS) {
  const d = new Date(unixS * 1000);
  const now = new Date();
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  if (d.toDateString() === now.toDateString()) return time;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

export function fmtAgo(unixS) {
  const s = Math.max(0, Date.now() / 1000 - unixS);
  if (s < 5) return "just now";
  if (s < 60) return `${Math.floor(s)} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export const fmtNum = (n) => (n ?? 0).toLocaleString("en-US");

export const KIND_LABEL = {
  "watchlist.start": "Watchlist hit",
  "watchlist.update": "Watchlist update",
  "watchlist.end": "Watchlist left",
  "line.crossed": "Line crossed",
  "zone.enter": "Zone enter",
  "zone.exit": "Zone exit",
  "zone.dwell": "Dwell alert",
  "visitor.new": "New visitor",
  "face.unknown": "Unknown face",
};

// Severity class of an event kind (badge colour).
export function kindClass(kind) {
  if (kind.startsWith("watchlist.")) return kind === "watchlist.end" ? "warn" : "danger";
  if (kind.startsWith("zone.") || kind === "line.crossed") return "warn";
  if (kind === "face.unknown") return "muted";
  return "info";
}

export function badge(text, cls = "muted", attrs = {}) {
  return h(`span.badge.${cls}`, attrs, text);
}

// A small tiny event emitter for cross-view messages (live events, stream status).
export const bus = new EventTarget();
export const emit = (type, detail) => bus.dispatchEvent(new CustomEvent(type, { detail }));
export const on = (type, fn) => bus.addEventListener(type, (e) => fn(e.detail));
