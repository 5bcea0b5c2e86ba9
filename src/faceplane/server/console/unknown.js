// Unknown faces: recurring strangers (clusters of faces that matched nobody) with their best shots, cameras
// and times, and the faces seen once. Operators name a cluster (a new person), add clusters or faces to
// someone, dismiss them (several at once with the checkboxes), and send photos as sightings: each face is
// recognised, or kept here as unknown. Every listing and action is audited by the server.

import { $, api, badge, busy, can, clear, fmtAgo, fmtTime, guard, h, icon, toast } from "./lib.js";

const RANGES = [["1", "last hour"], ["6", "last 6 hours"], ["24", "last 24 hours"], ["", "everything kept"]];
const ONCE_LIMIT = 60; // faces seen once, shown at most
const AUTO_REFRESH_MS = 30_000; // while the view is shown and nothing is selected or being edited

export const unknownView = (() => {
  let grid, onceGrid, bulkBar, bulkCount, cameraSelect, rangeSelect, orderSelect, results;
  let nameDialog, assignDialog;
  let timer = null;
  let cameras = new Set(); // every camera seen in a listing: the filter's options
  let clusters = [];
  const picked = { clusters: new Set(), faces: new Set() };

  function init(section) {
    cameraSelect = h("select#unknown-camera", { onchange: load }, h("option", { value: "" }, "all cameras"));
    rangeSelect = h("select#unknown-range", { onchange: load },
      RANGES.map(([v, label]) => h("option", { value: v, selected: v === "24" }, label)));
    orderSelect = h("select#unknown-order", { onchange: load },
      h("option", { value: "size" }, "most sightings first"), h("option", { value: "last_seen" }, "most recent first"));
    grid = h("div.cluster-grid#unknown-grid");
    onceGrid = h("div.face-grid#unknown-once");
    bulkCount = h("span#bulk-count", "0 selected");
    bulkBar = h("div.bulk-bar#unknown-bulk", { hidden: true },
      icon("user"), bulkCount,
      h("button.btn.small#bulk-assign", { onclick: () => openAssign(selection()) }, icon("plus"), "Add to person…"),
      h("button.btn.small.danger-hover#bulk-dismiss", { onclick: (ev) => dismiss(selection(), ev.currentTarget) },
        icon("trash"), "Dismiss"),
      h("button.btn.small.ghost#bulk-clear", { onclick: clearSelection }, "Clear selection"));
    results = h("ul.sighting-list#sighting-results");
    clear(section,
      h("div.unknown-toolbar",
        h("label", "Camera", cameraSelect), h("label", "Seen", rangeSelect), h("label", "Order", orderSelect),
        h("p.muted.small.unknown-hint", "Faces that matched nobody are grouped into recurring strangers as they "
          + "arrive, and deleted by retention (24 hours unless the server is set otherwise).")),
      can("operator") ? bulkBar : null,
      h("div.unknown-layout",
        h("div.unknown-main",
          h("div.panel",
            h("div.panel-head", h("h2", "Recurring strangers"), h("span.muted.small#unknown-count")),
            grid),
          h("div.panel",
            h("div.panel-head", h("h2", "Seen once"), h("span.muted.small", "in no cluster (yet)")),
            onceGrid)),
        can("operator") ? sightingPanel() : null));
    if (can("operator")) {
      nameDialog = nameDialogEl();
      assignDialog = assignDialogEl();
      section.append(nameDialog, assignDialog);
    }
  }

  function show(actions) {
    actions.append(h("button.btn.ghost#unknown-refresh", { title: "Refresh", onclick: () => load() }, icon("refresh")));
    load();
    timer = setInterval(() => {
      const editing = nameDialog?.open || assignDialog?.open;
      if (!editing && !picked.clusters.size && !picked.faces.size) load();
    }, AUTO_REFRESH_MS);
  }

  function hide() {
    clearInterval(timer);
    timer = null;
  }

  // ---- listing ---------------------------------------------------------------------------------

  function query() {
    const hours = rangeSelect.value;
    return {
      camera: cameraSelect.value || undefined,
      since_s: hours ? Date.now() / 1000 - Number(hours) * 3600 : undefined,
    };
  }

  async function load() {
    const q = query();
    const [found, once] = await Promise.all([
      guard(() => api("/unknown-clusters", { query: { ...q, order: orderSelect.value, best: 4, limit: 200 } })),
      guard(() => api("/unknown-faces", { query: { ...q, clustered: false, limit: ONCE_LIMIT } })),
    ]);
    if (!found || !once) return;
    clusters = found;
    // a selection that is gone (named, dismissed, re-clustered) is dropped
    const ids = new Set(found.map((c) => c.id));
    for (const id of picked.clusters) if (!ids.has(id)) picked.clusters.delete(id);
    renderClusters(found);
    renderOnce(once);
    for (const c of found) for (const cam of c.cameras) cameras.add(cam);
    for (const f of once) cameras.add(f.camera);
    renderCameraOptions();
    updateBulk();
  }

  function renderCameraOptions() {
    const current = cameraSelect.value;
    clear(cameraSelect, h("option", { value: "" }, "all cameras"),
      [...cameras].sort().map((c) => h("option", { value: c, selected: c === current }, c)));
  }

  function renderClusters(list) {
    $("#unknown-count").textContent = list.length ? `${list.length} cluster${list.length === 1 ? "" : "s"}` : "";
    clear(grid, list.length ? list.map(clusterCard)
      : h("div.empty.small-empty", icon("user", "big"), h("p", "No recurring stranger in this range."),
        h("p.muted.small", "A face seen at least twice forms a cluster within a few minutes.")));
  }

  function clusterCard(c) {
    const select = can("operator") ? h("input.cluster-select", {
      type: "checkbox", checked: picked.clusters.has(c.id), title: `Select cluster #${c.id}`,
      onchange: (ev) => { toggle(picked.clusters, c.id, ev.target.checked); card.classList.toggle("picked", ev.target.checked); },
    }) : null;
    const faces = h("div.cluster-faces", { hidden: true });
    const card = h(`article.cluster-card${picked.clusters.has(c.id) ? ".picked" : ""}`, { dataset: { cluster: c.id } },
      h("header.cluster-head", select,
        h("strong", `Stranger #${c.id}`),
        badge(`${c.size} sighting${c.size === 1 ? "" : "s"}`, "info", { class: "cluster-size" }),
        can("operator") ? h("button.btn.icon-btn.danger-hover.cluster-dismiss", {
          title: `Dismiss cluster #${c.id}`,
          onclick: (ev) => dismiss({ cluster_ids: [c.id], face_ids: [] }, ev.currentTarget),
        }, icon("trash")) : null),
      h("div.cluster-shots", c.best.map((f) => shot(f))),
      h("div.cluster-meta",
        h("div.cluster-cameras", c.cameras.map((cam) => badge(cam, "muted", { dataset: { camera: cam } }))),
        h("div.muted.small", { title: `${fmtTime(c.first_seen)} – ${fmtTime(c.last_seen)}` },
          `first ${fmtAgo(c.first_seen)} · last ${fmtAgo(c.last_seen)}`)),
      h("footer.cluster-actions",
        h("button.btn.small.ghost.cluster-expand", { onclick: (ev) => expand(c, faces, ev.currentTarget) },
          c.size > c.best.length ? `All ${c.size} faces` : "Faces"),
        can("operator") ? [
          h("button.btn.small.primary.cluster-name", { onclick: () => openName(c) }, "Name…"),
          h("button.btn.small.cluster-assign", { onclick: () => openAssign({ cluster_ids: [c.id], face_ids: [] }) },
            "Add to person…"),
        ] : null),
      faces);
    return card;
  }

  function shot(f, { selectable = false } = {}) {
    const img = h("img.face-shot", {
      src: f.thumbnail_url, alt: `unknown face #${f.id}`, loading: "lazy",
      title: `#${f.id} · ${f.camera} · ${fmtTime(f.seen_at)}${f.quality != null ? ` · quality ${f.quality.toFixed(2)}` : ""}`,
    });
    if (!selectable || !can("operator")) return img;
    const box = h("input.face-select", {
      type: "checkbox", checked: picked.faces.has(f.id), title: `Select face #${f.id}`,
      onchange: (ev) => { toggle(picked.faces, f.id, ev.target.checked); fig.classList.toggle("picked", ev.target.checked); },
    });
    const fig = h(`figure.face-card${picked.faces.has(f.id) ? ".picked" : ""}`, { dataset: { face: f.id } },
      img, box, h("figcaption.small", h("span", f.camera), h("span.muted", fmtAgo(f.seen_at))));
    return fig;
  }

  async function expand(c, box, button) {
    if (!box.hidden) {
      box.hidden = true;
      return;
    }
    await busy(button, async () => {
      const faces = await api("/unknown-faces", { query: { cluster_id: c.id, limit: 500 } });
      clear(box, faces.map((f) => shot(f, { selectable: true })));
      box.hidden = false;
    });
  }

  function renderOnce(list) {
    clear(onceGrid, list.length ? list.map((f) => shot(f, { selectable: true }))
      : h("p.muted.small.once-empty", "Nobody seen only once in this range."));
  }

  // ---- selection -------------------------------------------------------------------------------

  function toggle(set, id, on) {
    if (on) set.add(id);
    else set.delete(id);
    updateBulk();
  }

  function selection() {
    return { cluster_ids: [...picked.clusters], face_ids: [...picked.faces] };
  }

  function updateBulk() {
    if (!bulkBar) return;
    const n = picked.clusters.size, m = picked.faces.size;
    bulkBar.hidden = n + m === 0;
    const parts = [];
    if (n) parts.push(`${n} cluster${n === 1 ? "" : "s"}`);
    if (m) parts.push(`${m} face${m === 1 ? "" : "s"}`);
    bulkCount.textContent = `${parts.join(" and ")} selected`;
  }

  function clearSelection() {
    picked.clusters.clear();
    picked.faces.clear();
    for (const el of document.querySelectorAll("#view-unknown input.cluster-select, #view-unknown input.face-select")) {
      el.checked = false;
    }
    for (const el of document.querySelectorAll("#view-unknown .picked")) el.classList.remove("picked");
    updateBulk();
  }

  // ---- actions ---------------------------------------------------------------------------------

  function describe(sel) {
    const parts = [];
    if (sel.cluster_ids.length) parts.push(`${sel.cluster_ids.length} cluster(s)`);
    if (sel.face_ids.length) parts.push(`${sel.face_ids.length} face(s)`);
    return parts.join(" and ");
  }

  async function dismiss(sel, button) {
    if (!sel.cluster_ids.length && !sel.face_ids.length) return;
    if (!confirm(`Dismiss ${describe(sel)}? The faces are deleted and enrolled as nobody.`)) return;
    await busy(button, async () => {
      const res = await api("/unknown-faces/dismiss", { method: "POST", json: sel });
      toast(`${res.face_ids.length} face(s) dismissed`, { kind: "ok" });
      clearSelection();
      await load();
    });
  }

  function reportToast(report, what) {
    const p = report.person;
    const added = report.template_ids.length;
    if (p && added) {
      toast(`${p.name} (#${p.id}, ${p.collection}): ${added} face(s) ${what}`, { kind: "ok", title: "Enrolled" });
    }
    if (report.rejected.length) {
      toast(report.rejected.map((r) => `${r.source}: ${r.reasons.join("; ")}`).join(" · "), {
        kind: "error", title: `${report.rejected.length} face(s) refused`, timeout: 12000,
      });
    }
    if (report.duplicates.length) {
      toast(report.duplicates.map((d) => `${d.name} (#${d.person_id}, ${d.collection})`).join(", "), {
        kind: "info", title: "Also resembles", timeout: 12000,
      });
    }
  }

  async function collectionOptions(select) {
    const list = await guard(() => api("/collections"));
    if (!list) return [];
    const current = select.value;
    clear(select, list.length ? list.map((c) => h("option", { value: c.name, selected: c.name === current },
      c.watchlist ? `${c.name} (watchlist)` : c.name)) : h("option", { value: "" }, "no collection yet"));
    return list;
  }

  // name: one cluster becomes a new person
  let naming = null; // the cluster being named
  let collectionsSeen = [];

  function nameDialogEl() {
    const field = (label, input, cls = "") => h(`label${cls}`, label, input);
    const form = h("form.dialog-form#name-form", { method: "dialog" },
      h("header.dialog-head", h("h2#name-title", "Name this stranger"),
        h("button.btn.icon-btn", { type: "button", title: "Close", onclick: () => nameDialog.close() }, icon("x"))),
      h("div.cluster-shots.dialog-shots#name-shots"),
      h("div.form-grid",
        field("Collection", h("select#name-collection", { required: true, onchange: syncWatch })),
        field("Expires", h("input#name-expiry", { type: "date" })),
        field("Name", h("input#name-display", { required: true, maxlength: 200, placeholder: "display name" }), ".span2"),
        field("External id", h("input#name-external", { maxlength: 200, placeholder: "optional" })),
        field("Consent basis", h("input#name-consent", { maxlength: 100, placeholder: "e.g. consent" })),
        field("Purpose", h("input#name-purpose", { maxlength: 500, placeholder: "optional" }), ".span2"),
        h("p.muted.small.span2#name-note", "The cluster's faces become the person's templates and leave this page.")),
      h("footer.dialog-foot",
        h("button.btn.ghost", { type: "button", onclick: () => nameDialog.close() }, "Cancel"),
        h("button.btn.primary#name-submit", { type: "submit" }, "Enroll")));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      if (!form.reportValidity() || !naming) return;
      const value = (id) => $(id, form).value.trim();
      const body = { collection: value("#name-collection"), display_name: value("#name-display") };
      for (const [key, id] of [["external_id", "#name-external"], ["consent_basis", "#name-consent"],
        ["purpose", "#name-purpose"]]) if (value(id)) body[key] = value(id);
      if (value("#name-expiry")) body.expires_at = `${value("#name-expiry")}T23:59:59Z`;
      busy($("#name-submit", form), async () => {
        const report = await api(`/unknown-clusters/${naming.id}/name`, { method: "POST", json: body });
        nameDialog.close();
        form.reset();
        picked.clusters.delete(naming.id);
        reportToast(report, "enrolled from the cluster");
        await load();
      });
    });
    return h("dialog.dialog#name-dialog", form);
  }

  function syncWatch() {
    const coll = collectionsSeen.find((c) => c.name === $("#name-collection").value);
    const watched = !!coll?.watchlist;
    $("#name-purpose").required = $("#name-expiry").required = watched;
    $("#name-purpose").placeholder = watched ? "required: why watched" : "optional";
  }

  async function openName(c) {
    naming = c;
    $("#name-title").textContent = `Name stranger #${c.id} (${c.size} sightings)`;
    clear($("#name-shots"), c.best.map((f) => shot(f)));
    nameDialog.showModal();
    collectionsSeen = await collectionOptions($("#name-collection"));
    syncWatch();
    $("#name-display").focus();
  }

  // add to person: clusters and faces join an existing person
  let assigning = null;

  function assignDialogEl() {
    const form = h("form.dialog-form#assign-form", { method: "dialog" },
      h("header.dialog-head", h("h2#assign-title", "Add to a person"),
        h("button.btn.icon-btn", { type: "button", title: "Close", onclick: () => assignDialog.close() }, icon("x"))),
      h("div.form-grid",
        h("label", "Collection", h("select#assign-collection", { required: true, onchange: loadPeople })),
        h("label", "Person", h("select#assign-person", { required: true })),
        h("p.muted.small.span2", "Faces that match none of the person's photos (nor each other) are refused and stay here.")),
      h("footer.dialog-foot",
        h("button.btn.ghost", { type: "button", onclick: () => assignDialog.close() }, "Cancel"),
        h("button.btn.primary#assign-submit", { type: "submit" }, "Add")));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      if (!form.reportValidity() || !assigning) return;
      const body = { ...assigning, person_id: Number($("#assign-person", form).value) };
      busy($("#assign-submit", form), async () => {
        const report = await api("/unknown-faces/assign", { method: "POST", json: body });
        assignDialog.close();
        reportToast(report, "added");
        if (report.template_ids.length) clearSelection();
        await load();
      });
    });
    return h("dialog.dialog#assign-dialog", form);
  }

  async function loadPeople() {
    const coll = $("#assign-collection").value;
    const people = coll ? await guard(() => api(`/collections/${encodeURIComponent(coll)}/people`, { query: { limit: 1000 } })) : [];
    clear($("#assign-person"), (people || []).length
      ? people.map((p) => h("option", { value: String(p.id) }, `${p.name} (#${p.id})`))
      : h("option", { value: "" }, "nobody in this collection"));
  }

  async function openAssign(sel) {
    if (!sel.cluster_ids.length && !sel.face_ids.length) return;
    assigning = sel;
    $("#assign-title").textContent = `Add ${describe(sel)} to a person`;
    assignDialog.showModal();
    await collectionOptions($("#assign-collection"));
    await loadPeople();
  }

  // ---- sightings: photos checked against the gallery -------------------------------------------

  function sightingPanel() {
    const input = h("input#sighting-input", { type: "file", accept: "image/*", multiple: true });
    const camera = h("input#sighting-camera", { value: "upload", pattern: "[\\w.\\-]{1,64}", required: true, title: "letters, digits, _ . -" });
    const form = h("form.sighting-form#sighting-form", { onsubmit: (ev) => send(ev, input, camera) },
      h("label", "Photos", input), h("label", "Seen by", camera),
      h("button.btn.primary#sighting-submit", { type: "submit" }, icon("upload"), "Check"));
    return h("aside.panel.sighting-panel",
      h("div.panel-head", h("h2", "Check photos"), h("span.muted.small", "recognised, or kept here")),
      h("p.muted.small.sighting-hint", "Photos from a camera or a doorbell: each face is identified; a face that "
        + "matches nobody joins the unknown faces."),
      form, results);
  }

  async function send(ev, input, camera) {
    ev.preventDefault();
    if (!input.files.length || !ev.target.reportValidity()) return;
    const files = [...input.files];
    await busy($("#sighting-submit"), async () => {
      for (const file of files) {
        const form = new FormData();
        form.append("image", file, file.name);
        form.append("camera", camera.value.trim());
        const res = await api("/unknown-faces", { method: "POST", form });
        results.prepend(sightingItem(file.name, res));
      }
      input.value = "";
      await load();
    });
  }

  function sightingItem(name, res) {
    const faces = res.faces;
    return h("li.sighting", { dataset: { faces: faces.length } },
      h("span.mono.sighting-file", name),
      faces.length ? faces.map((f) => f.person
        ? h("span.sighting-face.known", { dataset: { person: f.person.person_id } }, icon("shield"),
          h("strong", f.person.name), h("span.muted", ` ${f.person.collection}`))
        : h("span.sighting-face.unknown", { dataset: { face: f.unknown_face_id } },
          badge("unknown", "muted"), h("span.muted", ` kept as #${f.unknown_face_id}`)))
        : h("span.muted", "no face found"));
  }

  return { init, show, hide };
})();
