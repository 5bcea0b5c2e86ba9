// A person's page (#/people/<id>): details an operator may edit, the face templates with their quality (move
// one to another person, remove a poor one), where and when the person was seen (their events, kept as long as
// retention allows), the watchlist status, and merging another person of the collection into this one.

import { ApiError, api, badge, busy, can, clear, fmtAgo, fmtTime, guard, h, icon, KIND_LABEL, kindClass, toast } from "./lib.js";

const EVENTS_SHOWN = 500; // the newest sightings listed; the per-camera summary counts these too

// Render person `id` into `box`; `onPerson(person)` is told whom it shows (the list then selects their collection).
export function personPage(box, id, { onPerson } = {}) {
  let person = null;
  let watched = false;
  let others = []; // the other people of the collection: merge and move targets

  async function load() {
    let p;
    try {
      p = await api(`/people/${id}`);
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 404) throw err;
      clear(box, backLink(), h("div.panel", h("div.empty", icon("people", "big"),
        h("p", `No person #${id}: erased, expired or merged into someone else.`))));
      return;
    }
    const coll = encodeURIComponent(p.collection);
    const [collections, people, templates, events] = await Promise.all([
      api("/collections"),
      api(`/collections/${coll}/people`, { query: { limit: 1000 } }),
      api(`/people/${id}/templates`),
      api("/events", { query: { person_id: id, limit: EVENTS_SHOWN } }),
    ]);
    person = p;
    watched = !!collections.find((c) => c.name === p.collection)?.watchlist;
    others = people.filter((x) => x.id !== p.id);
    onPerson?.(p);
    render(templates, events);
  }

  function backLink() {
    return h("a.btn.ghost#person-back", { href: "#/people" }, "← People");
  }

  function render(templates, events) {
    const p = person;
    clear(box,
      h("div.person-head",
        backLink(),
        h("h2#person-title", p.name),
        h("span.muted.mono", `#${p.id}`),
        h("span.muted", "in ", h("a", { href: "#/people" }, p.collection)),
        watched ? badge("watchlist · alerts on", "danger", { id: "person-watch" })
          : badge("not on a watchlist", "muted", { id: "person-watch" }),
        p.expires_at ? h("span.muted.small", `expires ${new Date(p.expires_at * 1000).toISOString().slice(0, 10)}`) : null),
      h("div.person-grid",
        h("div.person-col", detailsPanel(), can("operator") ? mergePanel() : null),
        h("div.person-col", templatesPanel(templates), sightingsPanel(events))));
  }

  // ---- details -----------------------------------------------------------------------------------------

  function field(label, id_, value, attrs = {}) {
    return h("label", label, h(`input#${id_}`, { value: value ?? "", disabled: !can("operator"), ...attrs }));
  }

  function detailsPanel() {
    const p = person;
    const day = p.expires_at ? new Date(p.expires_at * 1000).toISOString().slice(0, 10) : "";
    const form = h("form.person-form#person-form", { onsubmit: save },
      field("Name", "person-name", p.name, { required: true, maxlength: 200 }),
      field("External id", "person-external", p.external_id, { maxlength: 200, placeholder: "your system's id" }),
      h("div.form-row",
        field("Consent basis", "person-consent-basis", p.consent_basis, { maxlength: 100, placeholder: "e.g. contract" }),
        field("Consent source", "person-consent-source", p.consent_source, { maxlength: 200 }),
        field("Consent date", "person-consent-date", p.consent_date, { maxlength: 40, placeholder: "YYYY-MM-DD" })),
      h("div.form-row",
        field("Purpose", "person-purpose", p.purpose, {
          maxlength: 500, required: watched, placeholder: watched ? "required: why watched" : "optional",
        }),
        field("Expires", "person-expiry", day, {
          type: "date", required: watched, title: watched ? "watchlist entries need an expiry (at most a year)" : "",
        })),
      h("label", "Metadata (JSON object)", h("textarea#person-metadata", { rows: 3, disabled: !can("operator") },
        JSON.stringify(p.metadata || {}))),
      can("operator") ? h("div.form-row.end", h("button.btn.primary#person-save", { type: "submit" }, "Save changes")) : null);
    return h("div.panel",
      h("div.panel-head", h("h2", "Details"), h("span.muted.small", `enrolled ${p.created_at ? fmtTime(p.created_at) : "—"}`)),
      form);
  }

  // Only what changed is sent: a PATCH leaves the other fields as they are.
  async function save(ev) {
    ev.preventDefault();
    const p = person;
    const text = {
      name: "#person-name", external_id: "#person-external", consent_basis: "#person-consent-basis",
      consent_source: "#person-consent-source", consent_date: "#person-consent-date", purpose: "#person-purpose",
    };
    const body = {};
    for (const [key, sel] of Object.entries(text)) {
      const value = box.querySelector(sel).value.trim();
      if (value !== (p[key] ?? "")) body[key] = value === "" && key !== "name" ? null : value;
    }
    const day = box.querySelector("#person-expiry").value; // yyyy-mm-dd: the end of that day, UTC
    const before = p.expires_at ? new Date(p.expires_at * 1000).toISOString().slice(0, 10) : "";
    if (day !== before) body.expires_at = day ? `${day}T23:59:59Z` : null;
    let metadata;
    try {
      metadata = JSON.parse(box.querySelector("#person-metadata").value || "{}");
    } catch (err) {
      toast(`Metadata is not valid JSON: ${err.message}`, { kind: "error", title: "Not saved" });
      return;
    }
    if (JSON.stringify(metadata) !== JSON.stringify(p.metadata || {})) body.metadata = metadata;
    if (!Object.keys(body).length) {
      toast("Nothing changed.", { kind: "info" });
      return;
    }
    await busy(box.querySelector("#person-save"), async () => {
      const after = await api(`/people/${p.id}`, { method: "PATCH", json: body });
      toast(`${after.name} saved (${Object.keys(body).join(", ")})`, { kind: "ok" });
      await load();
    });
  }

  // ---- templates -----------------------------------------------------------------------------------------

  function templatesPanel(templates) {
    const cards = templates.map((t) => h("figure.tpl-card", { dataset: { template: t.id } },
      h("img", { src: t.thumbnail_url, alt: `template #${t.id}`, loading: "lazy" }),
      h("figcaption",
        h("span.mono", `#${t.id}`),
        h("span", { title: "quality 0..1 at enrollment" }, t.quality == null ? "quality —" : `quality ${t.quality.toFixed(2)}`),
        h("span.muted", fmtAgo(t.created_at))),
      can("operator") ? h("div.tpl-actions",
        h("select.tpl-move", { title: "Move this face to another person", onchange: (ev) => move(t, ev.target) },
          h("option", { value: "" }, "Move to…"),
          others.map((o) => h("option", { value: String(o.id) }, `#${o.id} ${o.name}`)),
          h("option", { value: "other" }, "Other person id…")),
        h("button.btn.icon-btn.danger-hover", { type: "button", title: "Remove this face", onclick: () => removeTemplate(t) },
          icon("trash"))) : null));
    return h("div.panel",
      h("div.panel-head", h("h2", `Faces (${templates.length})`),
        h("span.muted.small", "a face enrolled under the wrong person can be moved")),
      templates.length ? h("div.tpl-grid#person-templates", cards)
        : h("div.empty.small-empty", h("p.muted", "No face enrolled: this person cannot be recognised.")));
  }

  async function move(t, select) {
    let target = select.value;
    select.value = "";
    if (target === "other") target = (prompt("Move this face to person id:") || "").trim();
    if (!target) return;
    if (!/^\d+$/.test(target)) {
      toast(`"${target}" is not a person id`, { kind: "error" });
      return;
    }
    await guard(async () => {
      const moved = await api(`/templates/${t.id}`, { method: "PATCH", json: { person_id: Number(target) } });
      const name = moved.person.name;
      if (moved.looks_alike === false) {
        toast(`Face #${t.id} moved to ${name}, but it does not look like their other faces `
          + `(distance ${moved.distance.toFixed(2)} > ${moved.threshold.toFixed(2)}): check the move.`,
        { kind: "error", title: "Moved — please check", timeout: 12000 });
      } else {
        toast(`Face #${t.id} moved to ${name} (#${moved.person_id})`, { kind: "ok" });
      }
      await load();
    });
  }

  async function removeTemplate(t) {
    if (!confirm(`Remove face #${t.id} of ${person.name}? The person stays.`)) return;
    await guard(async () => {
      await api(`/templates/${t.id}`, { method: "DELETE" });
      toast(`Face #${t.id} removed`, { kind: "ok" });
      await load();
    });
  }

  // ---- sightings ------------------------------------------------------------------------------------------

  function sightingsPanel(events) {
    const cameras = new Map();
    for (const e of events) {
      const c = cameras.get(e.camera) || { camera: e.camera, count: 0, first: e.wall_s, last: e.wall_s };
      c.count += 1;
      c.first = Math.min(c.first, e.wall_s);
      c.last = Math.max(c.last, e.wall_s);
      cameras.set(e.camera, c);
    }
    const summary = [...cameras.values()].sort((a, b) => b.last - a.last);
    return h("div.panel",
      h("div.panel-head", h("h2", "Seen"),
        h("span.muted.small", "events are kept as long as retention allows; older sightings are gone")),
      events.length ? [
        h("div.table-wrap", h("table.table#person-cameras",
          h("thead", h("tr", h("th", "Camera"), h("th.num", "Events"), h("th", "First seen"), h("th", "Last seen"))),
          h("tbody", summary.map((c) => h("tr", { dataset: { camera: c.camera } },
            h("td", h("strong", c.camera)), h("td.num", String(c.count)),
            h("td.muted", fmtTime(c.first)), h("td", fmtTime(c.last), h("span.muted.small", ` · ${fmtAgo(c.last)}`))))))),
        h("ul.alert-list#person-events", events.slice(0, 50).map((e) => h("li.alert-item", { dataset: { event: e.id } },
          e.snapshot_url ? h("img.thumb", { src: e.snapshot_url, alt: "", loading: "lazy" }) : h("div.thumb.no-thumb", icon("camera")),
          h("div.alert-main",
            h("div.alert-title", badge(KIND_LABEL[e.kind] || e.kind, kindClass(e.kind)), h("span", e.camera)),
            h("div.alert-meta", e.distance != null ? h("span.mono", `distance ${e.distance.toFixed(3)}`) : null,
              e.dwell_s != null ? h("span", `${e.dwell_s.toFixed(1)} s on camera`) : null)),
          h("div.alert-time", h("span", fmtTime(e.wall_s)), h("span.muted", fmtAgo(e.wall_s)))))),
      ] : h("div.empty.small-empty", h("p.muted", "Not seen on any camera (within retention).")));
  }

  // ---- merge ----------------------------------------------------------------------------------------------

  function mergePanel() {
    const select = h("select#merge-select", h("option", { value: "" }, "Choose a person…"),
      others.map((o) => h("option", { value: String(o.id) }, `#${o.id} ${o.name} (${o.templates} faces)`)));
    return h("div.panel",
      h("div.panel-head", h("h2", "Merge a duplicate into ", h("span.accent", person.name))),
      h("div.merge-body",
        h("p.muted.small", `Their faces and sightings move to ${person.name} (#${person.id}); they are then deleted. `
          + `${person.name}'s details stay. Only people of ${person.collection} can be merged.`),
        h("div.form-row", select,
          h("button.btn#merge-submit", { type: "button", disabled: !others.length, onclick: (ev) => merge(select, ev.target) },
            "Merge"))));
  }

  async function merge(select, button) {
    const other = others.find((o) => String(o.id) === select.value);
    if (!other) {
      toast("Choose the person to merge into this one.", { kind: "error" });
      return;
    }
    if (!confirm(`Merge ${other.name} (#${other.id}) into ${person.name} (#${person.id})? `
      + `${other.name}'s faces and sightings move to ${person.name}, then #${other.id} is deleted.`)) return;
    await busy(button, async () => {
      const r = await api(`/people/${person.id}/merge`, { method: "POST", json: { merge_person_id: other.id } });
      toast(`${other.name} merged into ${r.person.name}: ${r.templates} face(s), ${r.events} event(s) moved`, { kind: "ok" });
      await load();
    });
  }

  return guard(load);
}
