// The console shell: login, role-aware navigation (hash routes), the live event stream, the clock.

import { alertsView, liveView } from "./live.js";
import { peopleView } from "./people.js";
import { unknownView } from "./unknown.js";
import { analyticsView, auditView, keysView } from "./admin.js";
import { verifyView } from "./verify.js";
import {
  $, API, EVENT_KINDS, api, busy, can, clear, emit, guard, h, icon, on, session, toast,
} from "./lib.js";

const VIEWS = {
  live: { label: "Live", icon: "live", role: "viewer", view: liveView },
  alerts: { label: "Alerts", icon: "alerts", role: "viewer", view: alertsView },
  people: { label: "People", icon: "people", role: "viewer", view: peopleView },
  unknown: { label: "Unknown faces", icon: "unknown", role: "viewer", view: unknownView },
  analytics: { label: "Analytics", icon: "analytics", role: "viewer", view: analyticsView },
  verify: { label: "Verify", icon: "shield", role: "operator", view: verifyView },
  audit: { label: "Audit", icon: "audit", role: "admin", view: auditView },
  keys: { label: "API keys", icon: "keys", role: "admin", view: keysView },
};

let current = null; // name of the shown view
const started = new Set(); // views whose init() ran
let stream = null;
let unseenAlerts = 0;

// ---- login / logout ----------------------------------------------------------------------------

function showLogin(message) {
  session.me = null;
  closeStream();
  if (current) VIEWS[current].view.hide?.();
  current = null;
  // Views are rebuilt at the next login: the next user may have another role.
  for (const name of started) clear($(`#view-${name}`)).hidden = true;
  started.clear();
  $("#boot").hidden = true;
  $("#shell").hidden = true;
  $("#login").hidden = false;
  const err = $("#login-error");
  err.hidden = !message;
  err.textContent = message || "";
  $("#login-user").focus();
}

async function signedIn(me) {
  session.me = me;
  $("#boot").hidden = true;
  $("#login").hidden = true;
  $("#shell").hidden = false;
  clear($("#whoami"), icon("user"), h("span", me.name), h(`span.badge.role-${me.role}`, me.role));
  buildNav();
  openStream();
  if (!location.hash || location.hash === "#/login") location.hash = "#/live";
  else route();
}

session.onUnauthorized = () => {
  if (session.me) showLogin("Your session has ended; please sign in again.");
};

$("#login-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  busy($("#login-submit"), async () => {
    try {
      const me = await api("/auth/login", {
        method: "POST", json: { username: $("#login-user").value.trim(), password: $("#login-pass").value },
      });
      $("#login-pass").value = "";
      await signedIn(me);
    } catch (err) {
      $("#login-error").hidden = false;
      $("#login-error").textContent = err.detail || String(err);
      throw err;
    }
  });
});

$("#logout").append(icon("logout"), h("span", "Sign out"));
$("#logout").addEventListener("click", () => guard(async () => {
  await api("/auth/logout", { method: "POST" });
  location.hash = "";
  showLogin();
}));

// ---- navigation --------------------------------------------------------------------------------

function buildNav() {
  const nav = clear($("#nav"));
  for (const [name, v] of Object.entries(VIEWS)) {
    if (!can(v.role)) continue;
    nav.append(h("a.nav-item", { href: `#/${name}`, dataset: { view: name } },
      icon(v.icon), h("span", v.label),
      name === "alerts" ? h("span.nav-count#alert-count", { hidden: true }) : null,
      v.role === "admin" ? h("span.nav-tag", "admin") : null));
  }
}

function route() {
  if (!session.me) return;
  let name = (location.hash.match(/^#\/([\w-]+)/) || [])[1];
  if (!VIEWS[name] || !can(VIEWS[name].role)) {
    location.hash = "#/live";
    return;
  }
  // Only the verify page's own document (/verify) may use the camera (Permissions-Policy): the views move
  // between the two documents by loading the other one with the same hash.
  const page = name === "verify" ? "/verify" : "/";
  if (location.pathname !== page) {
    location.replace(page + location.hash);
    return;
  }
  if (current === name) return;
  if (current) {
    VIEWS[current].view.hide?.();
    $(`#view-${current}`).hidden = true;
  }
  current = name;
  const { view, label } = VIEWS[name];
  const section = $(`#view-${name}`);
  $("#view-title").textContent = label;
  clear($("#view-actions"));
  if (!started.has(name)) {
    view.init(section);
    started.add(name);
  }
  section.hidden = false;
  view.show?.($("#view-actions"));
  for (const a of document.querySelectorAll(".nav-item")) a.classList.toggle("active", a.dataset.view === name);
  if (name === "alerts") setUnseen(0);
}

window.addEventListener("hashchange", route);

// ---- live event stream (Server-Sent Events) ----------------------------------------------------

function setStreamStatus(state, label) {
  const el = $("#stream-status");
  el.className = `stream-status ${state}`;
  el.querySelector(".label").textContent = label;
  emit("stream-status", state);
}

function openStream() {
  closeStream();
  setStreamStatus("connecting", "Connecting to events…");
  stream = new EventSource(`${API}/events/stream`);
  stream.onopen = () => setStreamStatus("on", "Event stream live");
  stream.onerror = () => {
    if (!stream) return;
    if (stream.readyState === EventSource.CLOSED) {
      setStreamStatus("off", "Event stream offline");
      // The browser gave up (e.g. 401 or server restart): check the session, then reconnect.
      setTimeout(() => session.me && api("/auth/me").then(() => session.me && openStream(), () => {}), 3000);
    } else {
      setStreamStatus("connecting", "Reconnecting…");
    }
  };
  const deliver = (msg) => {
    let event;
    try {
      event = JSON.parse(msg.data);
    } catch {
      return;
    }
    emit("event", event);
    if (event.kind === "watchlist.start") {
      if (current !== "alerts") setUnseen(unseenAlerts + 1);
      const who = event.person_name || `person #${event.person_id}`;
      toast(`${who} (${event.collection}) on camera ${event.camera}`, {
        kind: "alert", title: "Watchlist hit", timeout: 8000,
      });
    }
  };
  for (const kind of EVENT_KINDS) stream.addEventListener(kind, deliver);
  stream.onmessage = deliver; // events without a name
}

function closeStream() {
  if (stream) stream.close();
  stream = null;
}

function setUnseen(n) {
  unseenAlerts = n;
  const el = $("#alert-count");
  if (!el) return;
  el.hidden = n === 0;
  el.textContent = n > 99 ? "99+" : String(n);
}

on("open-alerts", () => { location.hash = "#/alerts"; });

// ---- clock, version, boot ----------------------------------------------------------------------

function tick() {
  const d = new Date();
  $("#clock").textContent = d.toLocaleTimeString("en-GB", { hour12: false });
}
setInterval(tick, 1000);
tick();

fetch(`${API}/health`).then((r) => r.json()).then((v) => {
  $("#version").textContent = `faceplane ${v.version}`;
}).catch(() => {});

api("/auth/me").then(signedIn, () => showLogin());
