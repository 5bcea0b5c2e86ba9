// Verify: the webcam capture page of trusted verification. It starts a liveness session, shows each
// challenge ("Turn your head to your left"...) over a mirrored preview, sends frames with their
// capture times until the server decides, then asks /verify-live (face-pay, 1:1: is this the account
// holder?) or /identify-live (door, 1:N: who is it, may they pass now?) and shows the decision.
// Admins may fix the challenges for demos and tests: #/verify?challenges=turn_right,open_mouth

import { $, api, badge, busy, can, clear, guard, h, icon, toast } from "./lib.js";

// Frames are sent at most this wide: wider costs server time; at 640 px the mouth and eye landmarks of a
// face at arm's length were too coarse for the mouth challenge on the shared clip.
const FRAME_WIDTH = 960;

export const verifyView = (() => {
  let video, canvas, prompt, steps, result, startButton, modeSelect, personInput, collectionSelect;
  let stream = null;
  let running = false;

  function init(section) {
    video = h("video#verify-video.verify-video", { autoplay: true, muted: true, playsInline: true });
    canvas = document.createElement("canvas");
    prompt = h("div#verify-prompt.verify-prompt", "Start a check, then follow the instructions.");
    steps = h("ol#verify-steps.verify-steps");
    result = h("div#verify-result.verify-result");
    modeSelect = h("select#verify-mode", { onchange: syncMode },
      h("option", { value: "door" }, "Door: who is it, may they pass? (1:N)"),
      h("option", { value: "pay" }, "Face-pay: is it the account holder? (1:1)"));
    personInput = h("input#verify-person", { type: "number", min: 1, placeholder: "person id", hidden: true });
    collectionSelect = h("select#verify-collection", h("option", { value: "" }, "all collections"));
    startButton = h("button.btn.primary#verify-start", { onclick: () => busy(startButton, run) },
      icon("camera"), "Start check");
    clear(section, h("div.verify-layout",
      h("div.panel.verify-stage",
        h("div.verify-frame", video, h("div.verify-oval")),
        prompt, steps),
      h("div.panel.verify-side",
        h("div.panel-head", h("h2", "Trusted verification")),
        h("p.muted.small", "A live person follows random challenges; a photo or a replayed video cannot. "
          + "Each decision is audited with its evidence frames."),
        h("label", "Check", modeSelect),
        h("label", "Collection", collectionSelect),
        h("label#verify-person-label", { hidden: true }, "Account (person id)", personInput),
        startButton, result)));
  }

  async function show() {
    const list = await guard(() => api("/collections"));
    if (!list) return;
    const chosen = collectionSelect.value;
    clear(collectionSelect, h("option", { value: "" }, "all collections"),
      list.map((c) => h("option", { value: c.name, selected: c.name === chosen }, c.name)));
  }

  function hide() {
    running = false;
    stopCamera();
  }

  function syncMode() {
    const pay = modeSelect.value === "pay";
    personInput.hidden = !pay;
    $("#verify-person-label").hidden = !pay;
    collectionSelect.parentElement.hidden = pay;
  }

  function stopCamera() {
    if (stream) for (const track of stream.getTracks()) track.stop();
    stream = null;
    video.srcObject = null;
  }

  function fixedChallenges() {
    const q = new URLSearchParams(location.hash.split("?")[1] || "");
    return q.get("challenges") && can("admin") ? q.get("challenges").split(",") : undefined;
  }

  async function run() {
    if (modeSelect.value === "pay" && !(Number(personInput.value) >= 1)) {
      toast("Enter the person id of the account holder", { kind: "error" });
      return;
    }
    clear(result);
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: 960 }, height: { ideal: 540 } }, audio: false,
      });
    } catch (err) {
      prompt.textContent = `No camera: ${err.message}`;
      return;
    }
    video.srcObject = stream;
    await video.play();
    running = true;
    try {
      const challenges = fixedChallenges();
      const session = await api("/liveness/sessions", { method: "POST", json: challenges ? { challenges } : {} });
      const status = await capture(session);
      if (status) await decide(status);
    } finally {
      running = false;
      stopCamera();
    }
  }

  // Frames go one at a time (the next is taken when the answer arrives), each with its capture time.
  async function capture(session) {
    const t0 = performance.now();
    let status = session;
    renderStatus(status);
    while (running && !status.decided) {
      const blob = await grab();
      const form = new FormData();
      form.append("image", blob, "frame.jpg");
      form.append("nonce", session.nonce);
      form.append("t_s", ((performance.now() - t0) / 1000).toFixed(3));
      status = await api(`/liveness/sessions/${session.session_id}/frames`, { method: "POST", form });
      renderStatus(status);
    }
    return running ? status : null;
  }

  function grab() {
    const w = Math.min(FRAME_WIDTH, video.videoWidth || FRAME_WIDTH);
    const ht = Math.round(((video.videoHeight || 540) * w) / (video.videoWidth || FRAME_WIDTH));
    canvas.width = w;
    canvas.height = ht;
    canvas.getContext("2d").drawImage(video, 0, 0, w, ht);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.9));
  }

  function renderStatus(s) {
    prompt.textContent = s.decided ? (s.passed ? "Done: checking who you are…" : "Check failed") : (s.prompt || "");
    prompt.className = `verify-prompt ${s.decided ? (s.passed ? "ok" : "bad") : ""}`;
    clear(steps, s.challenges.map((c) => h(`li.${s.completed.includes(c) ? "done" : c === s.current ? "now" : "todo"}`,
      { dataset: { challenge: c } }, c.replace("_", " "))));
  }

  async function decide(status) {
    const pay = modeSelect.value === "pay";
    const decision = pay
      ? await api("/verify-live", { method: "POST", json: { session_id: status.session_id, person_id: Number(personInput.value) } })
      : await api("/identify-live", {
        method: "POST",
        json: { session_id: status.session_id, collections: collectionSelect.value ? [collectionSelect.value] : [] },
      });
    const who = decision.name ? `${decision.name} (${decision.collection})`
      : decision.liveness.passed ? "nobody enrolled" : "identity not checked";
    clear(result, h(`div.decision.${decision.allowed ? "ok" : "bad"}#verify-decision`,
      { dataset: { allowed: String(decision.allowed) } },
      h("div.decision-title", decision.allowed ? (pay ? "Payment approved" : "Access granted")
        : (pay ? "Payment refused" : "Access refused")),
      h("div", who),
      decision.distance !== null
        ? h("div.muted.small", `distance ${decision.distance.toFixed(3)} (threshold ${decision.threshold.toFixed(3)})`) : null,
      h("div.muted.small", `liveness: ${decision.liveness.passed ? "live" : "not live"}`
        + (decision.liveness.passive_score !== null ? `, passive score ${decision.liveness.passive_score.toFixed(2)}` : "")),
      decision.reasons.length ? h("ul.reasons", decision.reasons.map((r) => h("li", r))) : null,
      can("admin") && decision.evidence.length
        ? h("div.evidence", decision.evidence.map((url) => h("a", { href: url, target: "_blank" },
          h("img", { src: url, alt: url.split("/").pop(), loading: "lazy" }))))
        : badge(`${decision.evidence.length} evidence frames kept`)));
    prompt.textContent = decision.allowed ? "Verified" : "Refused";
  }

  return { init, show, hide };
})();
