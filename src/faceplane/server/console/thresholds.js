// Match thresholds next to what they mean ("about 1 in 100 strangers would be named"), for the
// collection panel and the add-camera form, and "Not this person" on a watchlist alert.

import { api, busy, can, clear, guard, h, icon, toast } from "./lib.js";

// Target shares of strangers named, as the forms offer them ("" = the default).
const TARGETS = [["", "Default"], ["0.1", "1 in 10"], ["0.01", "1 in 100"], ["0.001", "1 in 1,000"], ["0.0001", "1 in 10,000"]];

function targetSelect(id, current) {
  const select = h(`select#${id}`, TARGETS.map(([v, label]) => h("option", { value: v }, label)));
  const known = TARGETS.some(([v]) => v && Number(v) === current);
  if (current && !known) select.append(h("option", { value: String(current) }, `FPIR ${current}`));
  select.value = current ? (known ? TARGETS.find(([v]) => Number(v) === current)[0] : String(current)) : "";
  return select;
}

function meaningText(t) {
  return `${t.meaning} · distance ${t.distance.toFixed(3)} over ${t.people} ${t.people === 1 ? "person" : "people"}`;
}

// The threshold of one collection: a target FPIR (operators may change it) and its meaning.
export function collectionThreshold(name) {
  const meaning = h("span.muted.small.threshold-meaning#threshold-meaning", "…");
  const select = targetSelect("threshold-fpir", null);
  select.disabled = !can("operator");
  const box = h("div.threshold-row#collection-threshold", h("label", "Match threshold ", select), meaning);
  let pinned = false;

  async function load() {
    const all = await guard(() => api("/thresholds"));
    const t = all && all.find((x) => x.scope === "collection" && x.name === name);
    if (!t) return;
    const fresh = targetSelect("threshold-fpir", t.setting_fpir);
    select.replaceChildren(...fresh.childNodes);
    select.value = fresh.value;
    pinned = t.source === "settings";
    select.disabled = !can("operator") || pinned || t.setting_distance != null;
    select.title = pinned ? "set in the settings file" : t.setting_distance != null ? "an explicit distance is set" : "";
    meaning.textContent = meaningText(t);
  }

  select.addEventListener("change", async () => {
    const fpir = select.value ? Number(select.value) : null;
    const t = await guard(() => api(`/collections/${encodeURIComponent(name)}/threshold`, {
      method: "PUT", json: fpir ? { fpir } : {},
    }));
    if (t) {
      meaning.textContent = meaningText(t);
      toast(`${name}: ${t.meaning}`, { kind: "ok" });
    } else {
      await load();
    }
  });
  load();
  return box;
}

// The add-camera form's threshold field: {el, values()} like the form's other field groups.
export function cameraThreshold() {
  const select = targetSelect("cam-match-fpir", null);
  const meaning = h("small.muted#cam-match-meaning", "the gallery's default");
  select.addEventListener("change", async () => {
    if (!select.value) {
      meaning.textContent = "the gallery's default";
      return;
    }
    const t = await guard(() => api("/thresholds/preview", { query: { fpir: select.value } }));
    if (t) meaning.textContent = meaningText(t);
  });
  return {
    el: h("label.span2", "Match threshold (strangers named)", select, meaning),
    values: () => (select.value ? { match_fpir: Number(select.value) } : {}),
    reset: () => { select.value = ""; meaning.textContent = "the gallery's default"; },
  };
}

// "Not this person" on a watchlist alert: records its faces as negatives and shows the template that
// made the match, with a button to remove it when it is a bad enrollment photo.
export function notThisPerson(e, box) {
  if (!can("operator") || !e.kind.startsWith("watchlist.") || e.person_id == null) return null;
  const button = h("button.btn.danger-hover#not-this-person", { type: "button" }, icon("x"), "Not this person");
  button.addEventListener("click", () => busy(button, async () => {
    const made = await api(`/alerts/${e.id}/not-this-person`, { method: "POST", json: {} });
    toast(`${e.person_name || "This person"} will not be named for this face again`, { kind: "ok" });
    const templates = new Map(made.filter((c) => c.template).map((c) => [c.template.id, c.template]));
    clear(box, h("p.small", `${made.length} face(s) recorded as not ${e.person_name || `#${e.person_id}`}. `,
      "The enrolled photo that matched:"),
    [...templates.values()].map((t) => h("figure.thumb-card.matched-template", { dataset: { template: t.id } },
      h("img", { src: t.thumbnail_url, alt: `template ${t.id}` }),
      h("figcaption", `#${t.id} · quality ${t.quality != null ? t.quality.toFixed(2) : "—"}`),
      h("button.btn.ghost.small", { type: "button", onclick: (ev) => removeTemplate(t, ev.target) }, "Remove this photo"))));
    button.disabled = true;
  }));
  return button;
}

async function removeTemplate(t, button) {
  if (!confirm(`Remove enrolled photo #${t.id}? The person keeps their other photos.`)) return;
  await busy(button, async () => {
    await api(`/templates/${t.id}`, { method: "DELETE" });
    toast(`Photo #${t.id} removed`, { kind: "ok" });
    button.closest("figure").remove();
  });
}
