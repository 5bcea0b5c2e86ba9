// People: collections (with the watchlist switch), the people of one collection, enrollment by
// dragging photos onto a drop zone, and the enrollment report (rejected photos, likely duplicates).
// #/people/<id> shows one person's page instead (person.js).

import { $, api, badge, busy, can, clear, fmtNum, guard, h, icon, toast } from "./lib.js";
import { personPage } from "./person.js";
import { importPanel } from "./imports.js";
import { collectionThreshold } from "./thresholds.js";

export const peopleView = (() => {
  let collList, peoplePanel, selected = null;
  let files = []; // queued photos for enrollment
  let collections = [];
  let panelFor; // the collection the people panel shows (undefined: not built)
  let watchBadge, peopleRows;
  let listLayout, personBox, routed = null; // the list, one person's page, the hash last shown

  function init(section) {
    collList = h("ul.coll-list#collections");
    const createForm = can("operator")
      ? h("form.inline-form#collection-form", { onsubmit: createCollection },
        h("input#collection-name", { placeholder: "new collection, e.g. staff", required: true, pattern: "[\\w.\\-]{1,64}", title: "letters, digits, _ . -" }),
        h("input#collection-desc", { placeholder: "description (optional)", maxlength: 500 }),
        h("button.btn.primary#collection-create", { type: "submit" }, icon("plus"), "Create"))
      : null;
    peoplePanel = h("div.people-panel#people-panel");
    listLayout = h("div.people-layout",
      h("div.panel.coll-panel",
        h("div.panel-head", h("h2", "Collections"), h("span.muted.small", "watchlists raise alerts")),
        createForm, collList),
      peoplePanel);
    personBox = h("div.person-page#person-page", { hidden: true });
    clear(section, listLayout, personBox);
    renderPeoplePanel();
    // app.js routes between views; between the list and a person page (same view) the hash changes here
    window.addEventListener("hashchange", () => !section.hidden && location.hash !== routed && route());
  }

  function show(actions) {
    actions.append(h("button.btn.ghost", { title: "Refresh", onclick: () => route() }, icon("refresh")));
    route();
  }

  function route() {
    routed = location.hash;
    const id = (location.hash.match(/^#\/people\/(\d+)/) || [])[1];
    listLayout.hidden = !!id;
    personBox.hidden = !id;
    if (id) {
      clear(personBox, h("div.muted", "Loading…"));
      personPage(personBox, Number(id), { onPerson: (p) => { selected = p.collection; } });
    } else {
      loadCollections();
    }
  }

  async function loadCollections() {
    const list = await guard(() => api("/collections"));
    if (!list) return;
    collections = list;
    if (selected && !list.some((c) => c.name === selected)) selected = null;
    if (!selected && list.length) selected = list[0].name;
    renderCollections();
    if (panelFor !== selected) renderPeoplePanel();
    else if (selected) {
      updateWatchBadge();
      loadPeople(peopleRows);
    }
  }

  function updateWatchBadge() {
    const coll = collections.find((c) => c.name === selected);
    watchBadge.className = `badge ${coll?.watchlist ? "danger" : "muted"}`;
    watchBadge.textContent = coll?.watchlist ? "watchlist · alerts on" : "no alerts";
    const purpose = $("#enroll-purpose"), expiry = $("#enroll-expiry");
    if (purpose) {
      purpose.required = expiry.required = watched();
      purpose.placeholder = watched() ? "required: why watched" : "optional";
    }
  }

  function renderCollections() {
    clear(collList, collections.length ? collections.map((c) => {
      const sw = h("input.switch", {
        type: "checkbox", checked: c.watchlist, disabled: !can("operator"),
        title: c.watchlist ? "Watchlist: alerts on" : "Not a watchlist",
        dataset: { collection: c.name },
        onclick: (ev) => ev.stopPropagation(),
        onchange: (ev) => setWatchlist(c, ev.target),
      });
      return h(`li.coll-item${c.name === selected ? ".selected" : ""}`, {
        dataset: { name: c.name }, tabindex: 0,
        onclick: () => { selected = c.name; renderCollections(); renderPeoplePanel(); },
      },
      h("div.coll-main",
        h("div.coll-name", h("strong", c.name), c.watchlist ? badge("WATCHLIST", "danger") : null),
        h("div.muted.small", `${fmtNum(c.people)} people · ${fmtNum(c.templates)} templates`,
          c.description ? ` · ${c.description}` : "")),
      h("label.switch-label", { onclick: (ev) => ev.stopPropagation() }, sw, h("span", "watch")));
    }) : h("li.empty.small-empty", h("p.muted", "No collections yet.")));
  }

  async function createCollection(ev) {
    ev.preventDefault();
    const name = $("#collection-name").value.trim();
    const description = $("#collection-desc").value.trim();
    await busy($("#collection-create"), async () => {
      await api("/collections", { method: "POST", json: { name, description } });
      toast(`Collection ${name} created`, { kind: "ok" });
      $("#collection-name").value = "";
      $("#collection-desc").value = "";
      selected = name;
      await loadCollections();
    });
  }

  async function setWatchlist(c, input) {
    const on = input.checked;
    const res = await guard(() => api(`/collections/${encodeURIComponent(c.name)}/watchlist`, {
      method: "PUT", json: { watchlist: on },
    }));
    if (!res) {
      input.checked = !on;
      return;
    }
    toast(on ? `${c.name} is now a watchlist: sightings raise alerts` : `${c.name} is no longer a watchlist`,
      { kind: "info" });
    await loadCollections();
  }

  // ---- the selected collection -----------------------------------------------------------------

  function renderPeoplePanel() {
    if (!peoplePanel) return;
    panelFor = selected;
    if (!selected) {
      clear(peoplePanel, h("div.panel", h("div.empty", icon("people", "big"),
        h("p", "Create a collection to enroll people."))));
      return;
    }
    const table = h("tbody#people-rows");
    peopleRows = table;
    watchBadge = h("span.badge");
    updateWatchBadge();
    clear(peoplePanel,
      h("div.panel",
        h("div.panel-head", h("h2", "People in ", h("span.accent", selected)), watchBadge),
        collectionThreshold(selected),
        h("div.table-wrap", h("table.table.people-table",
          h("thead", h("tr", h("th", "ID"), h("th", "Name"), h("th", "External id"), h("th.num", "Templates"),
            h("th", "Consent"), h("th", "Expires"), h("th", ""))),
          table))),
      can("operator") ? enrollPanel() : null,
      can("operator") ? importPanel(selected, { watched: watched(), onDone: () => loadCollections() }) : null);
    loadPeople(table);
  }

  async function loadPeople(tbody) {
    const people = await guard(() => api(`/collections/${encodeURIComponent(selected)}/people`, { query: { limit: 1000 } }));
    if (!people) return;
    const existing = $("#enroll-person");
    if (existing) {
      clear(existing, h("option", { value: "" }, "New person"),
        people.map((p) => h("option", { value: String(p.id) }, `#${p.id} ${p.name}`)));
    }
    clear(tbody, people.length ? people.map((p) => h("tr", { dataset: { person: p.id } },
      h("td.mono", `#${p.id}`), h("td", h("a.person-link", { href: `#/people/${p.id}`, title: "Open the person's page" },
        h("strong", p.name))), h("td.muted", p.external_id || "—"),
      h("td.num", String(p.templates)), h("td.muted", p.consent_basis || "—"),
      h("td.muted", { title: p.purpose || "" }, p.expires_at ? new Date(p.expires_at * 1000).toISOString().slice(0, 10) : "—"),
      h("td.actions", can("operator")
        ? h("button.btn.icon-btn.danger-hover", { title: `Delete ${p.name}`, onclick: () => removePerson(p) }, icon("trash"))
        : null)))
      : h("tr", h("td.empty-row", { colSpan: 6 }, "Nobody enrolled yet — drop photos below.")));
  }

  async function removePerson(p) {
    if (!confirm(`Delete ${p.name} (#${p.id}) and all their templates?`)) return;
    await guard(async () => {
      await api(`/people/${p.id}`, { method: "DELETE" });
      toast(`${p.name} deleted`, { kind: "ok" });
      await loadCollections();
    });
  }

  // ---- enrollment ------------------------------------------------------------------------------

  function watched() {
    return !!collections.find((c) => c.name === selected)?.watchlist;
  }

  function enrollPanel() {
    files = [];
    const input = h("input#enroll-input", {
      type: "file", accept: "image/*", multiple: true, hidden: true,
      onchange: () => { addFiles(input.files); input.value = ""; },
    });
    const zone = h("div.dropzone#dropzone", {
      tabindex: 0, role: "button", "aria-label": "Drop photos here or click to choose",
      onclick: () => input.click(),
      onkeydown: (ev) => (ev.key === "Enter" || ev.key === " ") && input.click(),
      ondragenter: (ev) => { ev.preventDefault(); zone.classList.add("over"); },
      ondragover: (ev) => { ev.preventDefault(); ev.dataTransfer.dropEffect = "copy"; zone.classList.add("over"); },
      ondragleave: () => zone.classList.remove("over"),
      ondrop: (ev) => { ev.preventDefault(); zone.classList.remove("over"); addFiles(ev.dataTransfer.files); },
    },
    icon("upload", "big"),
    h("p", h("strong", "Drop photos here"), " or click to choose"),
    h("p.muted.small", "One face per photo, frontal, well lit. JPEG, PNG, WebP…"),
    input);
    const form = h("form.enroll-form#enroll-form", { onsubmit: enroll },
      h("div.thumbs#enroll-thumbs"),
      h("div.form-row",
        h("label", "Name", h("input#enroll-name", { placeholder: "display name", maxlength: 200 })),
        h("label", "Add to", h("select#enroll-person", h("option", { value: "" }, "New person"))),
        h("label", "Consent basis", h("input#enroll-consent", { placeholder: "optional, e.g. employment", maxlength: 100 })),
        h("label", "Purpose", h("input#enroll-purpose", {
          placeholder: watched() ? "required: why watched" : "optional", maxlength: 500, required: watched(),
        })),
        h("label", "Expires", h("input#enroll-expiry", { type: "date", required: watched(),
          title: watched() ? "watchlist entries need an expiry (at most a year)" : "optional: deleted on that day" })),
        h("button.btn.primary#enroll-submit", { type: "submit", disabled: true }, icon("upload"), "Enroll")));
    return h("div.panel.enroll-panel",
      h("div.panel-head", h("h2", "Enroll into ", h("span.accent", selected))),
      h("div.enroll-body", zone, form),
      h("div.enroll-report#enroll-report", { hidden: true }));
  }

  function addFiles(list) {
    for (const f of list) {
      if (f.type && !f.type.startsWith("image/")) {
        toast(`${f.name}: not an image`, { kind: "error" });
        continue;
      }
      files.push(f);
    }
    renderThumbs();
  }

  function renderThumbs() {
    const box = $("#enroll-thumbs");
    clear(box, files.map((f, i) => {
      const url = URL.createObjectURL(f);
      return h("figure.thumb-card", { title: f.name },
        h("img", { src: url, alt: f.name, onload: () => URL.revokeObjectURL(url) }),
        h("figcaption", f.name),
        h("button.thumb-remove", { type: "button", title: "Remove", onclick: () => { files.splice(i, 1); renderThumbs(); } },
          icon("x")));
    }));
    $("#enroll-submit").disabled = files.length === 0;
    $("#dropzone").classList.toggle("has-files", files.length > 0);
  }

  async function enroll(ev) {
    ev.preventDefault();
    const name = $("#enroll-name").value.trim();
    const personId = $("#enroll-person").value;
    if (!name && !personId) {
      toast("Give the person a name (or pick an existing person to add photos to).", { kind: "error", title: "Name needed" });
      $("#enroll-name").focus();
      return;
    }
    const form = new FormData();
    for (const f of files) form.append("images", f, f.name);
    if (name) form.append("display_name", name);
    if (personId) form.append("person_id", personId);
    const consent = $("#enroll-consent").value.trim();
    if (consent) form.append("consent_basis", consent);
    const purpose = $("#enroll-purpose").value.trim();
    if (purpose) form.append("purpose", purpose);
    const expiry = $("#enroll-expiry").value; // yyyy-mm-dd: the end of that day, UTC
    if (expiry) form.append("expires_at", `${expiry}T23:59:59Z`);
    const coll = selected;
    await busy($("#enroll-submit"), async () => {
      const report = await api(`/collections/${encodeURIComponent(coll)}/people`, { method: "POST", form });
      showReport(report, files.map((f) => f.name));
      files = [];
      renderThumbs();
      $("#enroll-name").value = "";
      if (report.person) toast(`${report.person.name} enrolled (#${report.person.id})`, { kind: "ok" });
      await loadCollections();
    });
  }

  let lastReport = null;

  function showReport(report, names) {
    if (names) lastReport = { report, names };
    const box = $("#enroll-report");
    if (!box || !lastReport) return;
    const { names: sources } = lastReport;
    const label = (src) => {
      const m = /^image #(\d+)$/.exec(src);
      return m && sources[Number(m[1]) - 1] ? `${sources[Number(m[1]) - 1]} (${src})` : src;
    };
    const p = report.person;
    box.hidden = false;
    clear(box,
      h("h3", "Enrollment report"),
      p
        ? h("div.report-line.ok", icon("shield"), h("span", h("strong", p.name), ` #${p.id} in ${p.collection}: `,
          `${report.template_ids.length} template(s) added, ${p.templates} in total`))
        : h("div.report-line.danger", icon("x"), h("span", "Nobody enrolled: no usable photo.")),
      report.rejected.length
        ? h("div.report-block", h("h4", `Rejected photos (${report.rejected.length})`),
          h("ul.report-list#enroll-rejected", report.rejected.map((r) =>
            h("li", h("span.mono", label(r.source)), h("span.reasons", r.reasons.join("; "))))))
        : h("div.report-line.muted", "No photo rejected."),
      report.duplicates.length
        ? h("div.report-block.warn", h("h4", "Possible duplicates — already enrolled?"),
          h("ul.report-list#enroll-duplicates", report.duplicates.map((d) =>
            h("li", h("strong", d.name), h("span.muted", ` #${d.person_id} in ${d.collection}`),
              h("span.mono", ` distance ${d.distance.toFixed(3)}`)))))
        : null);
  }

  return { init, show };
})();
