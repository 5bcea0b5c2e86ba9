// "Import photos" on the people page: a zip with one folder per person (Ada_Lovelace/1.jpg) goes to
// POST /imports; its progress and its report (what was refused and why) are polled from GET /imports/{id}.
// The last import into the collection is shown again when the page is opened (it may still be running:
// imports carry on in the server, also across restarts).

import { $, api, badge, busy, clear, fmtNum, fmtTime, guard, h, icon, toast } from "./lib.js";

const POLL_MS = 1000;
const NOT_ENROLLED = ["refused", "duplicate", "skipped"];
const OUTCOME_CLASS = { refused: "danger", duplicate: "warn", skipped: "muted" };

// The panel for one collection. watched: it is a watchlist (purpose and expiry required);
// onDone: called once when an import shown here finishes (the people list changed).
export function importPanel(collection, { watched = false, onDone = () => {} } = {}) {
  const file = h("input#import-file", { type: "file", accept: ".zip,application/zip" });
  const form = h("form.enroll-form#import-form", { onsubmit: submit },
    h("div.form-row",
      h("label", "Zip of photos", file),
      h("label", "Consent basis", h("input#import-consent", { placeholder: "optional, e.g. employment", maxlength: 100 })),
      h("label", "Consent source", h("input#import-source", { placeholder: "optional, e.g. HR export", maxlength: 200 })),
      h("label", "Purpose", h("input#import-purpose", {
        placeholder: watched ? "required: why watched" : "optional", maxlength: 500, required: watched,
      })),
      h("label", "Expires", h("input#import-expiry", { type: "date", required: watched,
        title: watched ? "watchlist entries need an expiry (at most a year)" : "optional: deleted on that day" })),
      h("button.btn.primary#import-submit", { type: "submit" }, icon("upload"), "Import")));
  const report = h("div.enroll-report.import-report#import-report", { hidden: true });
  const panel = h("div.panel.import-panel#import-panel",
    h("div.panel-head", h("h2", "Import photos into ", h("span.accent", collection)),
      h("span.muted.small", "a zip, one folder per person: Ada_Lovelace/1.jpg — every photo passes the quality gate")),
    h("div.import-body", form),
    report);
  let shown = null, notified = false, timer = null;

  async function submit(ev) {
    ev.preventDefault();
    const chosen = file.files[0];
    if (!chosen) {
      toast("Choose a zip of photos first.", { kind: "error", title: "No file" });
      return;
    }
    const data = new FormData();
    data.append("archive", chosen, chosen.name);
    data.append("collection", collection);
    for (const [field, id] of [["consent_basis", "#import-consent"], ["consent_source", "#import-source"],
      ["purpose", "#import-purpose"]]) {
      const value = $(id, panel).value.trim();
      if (value) data.append(field, value);
    }
    const expiry = $("#import-expiry", panel).value; // yyyy-mm-dd: the end of that day, UTC
    if (expiry) data.append("expires_at", `${expiry}T23:59:59Z`);
    await busy($("#import-submit", panel), async () => {
      const job = await api("/imports", { method: "POST", form: data });
      toast(`Import #${job.id} of ${job.archive_name}: ${fmtNum(job.counts.total)} files`, { kind: "ok" });
      file.value = "";
      follow(job.id);
    });
  }

  function follow(id) {
    shown = id;
    notified = false;
    clearTimeout(timer);
    poll();
  }

  async function poll() {
    const id = shown;
    const job = await guard(() => api(`/imports/${id}`, { query: { outcome: NOT_ENROLLED, limit: 500 } }));
    if (!job || id !== shown) return;
    render(job);
    if (job.status === "queued" || job.status === "running") {
      timer = setTimeout(() => panel.isConnected && poll(), POLL_MS); // stops when the page moved on
    } else if (!notified) {
      notified = true;
      if (job.status === "done") {
        toast(`Import #${job.id}: ${job.counts.enrolled} photos of ${job.counts.people} people enrolled`, { kind: "ok" });
      }
      onDone(job);
    }
  }

  async function resume(id) {
    await guard(() => api(`/imports/${id}/resume`, { method: "POST" }));
    follow(id);
  }

  function render(job) {
    const c = job.counts;
    const processed = c.total - c.pending;
    const state = { queued: "waiting", running: "running", done: "done", failed: "stopped" }[job.status];
    report.hidden = false;
    clear(report,
      h("div.report-line#import-status", { dataset: { status: job.status } },
        badge(state, job.status === "done" ? "ok" : job.status === "failed" ? "danger" : "info"),
        h("span", h("strong", `Import #${job.id}`), ` of ${job.archive_name} · ${fmtTime(job.created_at)} · `,
          `${fmtNum(processed)} of ${fmtNum(c.total)} files`)),
      h("progress.import-progress#import-progress", { max: Math.max(c.total, 1), value: processed }),
      h("div.report-line.ok#import-counts",
        `${c.people} people · ${c.enrolled} photos enrolled · ${c.refused} refused · ${c.duplicate} duplicate · ${c.skipped} skipped`),
      job.status === "failed"
        ? h("div.report-line.danger", icon("x"), h("span#import-error", job.error),
          h("button.btn#import-resume", { type: "button", onclick: () => resume(job.id) }, icon("refresh"), "Resume"))
        : null,
      Object.keys(job.reasons).length
        ? h("div.report-line.muted.small#import-reasons",
          Object.entries(job.reasons).map(([reason, n]) => h("span.badge.muted", `${reason}: ${n}`)))
        : null,
      job.files.length
        ? h("div.report-block.warn", h("h4", `Not enrolled (${job.files.length})`),
          h("ul.report-list#import-refused", job.files.map((f) =>
            h("li", { dataset: { outcome: f.outcome } }, badge(f.outcome, OUTCOME_CLASS[f.outcome] || "muted"),
              h("span.mono", f.file), h("span.reasons", f.reasons.join("; "))))))
        : job.status === "done" ? h("div.report-line.muted", "Every photo was enrolled.") : null,
      job.warnings.length
        ? h("div.report-block", h("h4", `Enrolled, but check them (${job.warnings.length})`),
          h("ul.report-list#import-warnings", job.warnings.map((f) =>
            h("li", badge("enrolled", "ok"), h("span.mono", f.file), h("span.muted", f.reasons.join("; "))))))
        : null);
  }

  // the last import into this collection, if any (perhaps still running)
  guard(async () => {
    const [last] = await api("/imports", { query: { collection, limit: 1 } });
    if (last && shown === null) {
      notified = last.status === "done" || last.status === "failed"; // finished before: nothing changed now
      shown = last.id;
      poll();
    }
  });
  return panel;
}
