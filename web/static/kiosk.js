// Kiosk live view: the mat to scale, the centre-of-pressure dot with a fading trail, and the
// member's weight. Data arrives by Server-Sent Events; the view reconnects by itself.
"use strict";

const TRAIL_SECONDS = 2.0;
const STALE_MS = 3000;        // no message for this long: the link is down, reconnect

const mat = JSON.parse(document.getElementById("mat-data").textContent);
// Started by the Pi's kiosk launcher (?kiosk=1): a touch screen, no mouse pointer.
if (new URLSearchParams(location.search).has("kiosk")) document.body.classList.add("kiosk");
const canvas = document.getElementById("mat");
const ctx = canvas.getContext("2d");
const el = {
  conn: document.getElementById("connection"),
  weight: document.getElementById("weight"),
  prompt: document.getElementById("prompt"),
  rate: document.getElementById("rate"),
  steps: document.getElementById("steps"),
};

// An optional short tone at each new foot contact (the kiosk URL's ?sound=1 turns it on).
const SOUND = new URLSearchParams(location.search).get("sound") === "1";
let audio = null;
function beep() {
  if (!SOUND) return;
  audio = audio || new AudioContext();
  const osc = audio.createOscillator();
  const gain = audio.createGain();
  osc.frequency.value = 660;
  gain.gain.value = 0.15;
  osc.connect(gain).connect(audio.destination);
  osc.start();
  osc.stop(audio.currentTime + 0.06);
}

function onStep(step) {
  if (!live.steps.has(step.index) && !step.retracted) beep();
  // Provisional first (within tens of ms of the contact), then final with its placement.
  if (step.retracted) live.steps.delete(step.index);
  else live.steps.set(step.index, step);
  showStepCount();
}

function showStepCount() {
  const n = live.steps.size;
  el.steps.textContent = String(n);
  document.getElementById("steps-unit").textContent = n === 1 ? "step" : "steps";
}

// --- exercises: the coach's view, the picker and the summary ------------------------------
const coachEl = {
  title: document.getElementById("exercise-title"),
  cue: document.getElementById("cue"),
  progress: document.getElementById("progress"),
  picker: document.getElementById("picker"),
  list: document.getElementById("exercise-list"),
  instructions: document.getElementById("instructions"),
  summary: document.getElementById("summary"),
  summaryTitle: document.getElementById("summary-title"),
  words: document.getElementById("summary-words"),
};
let exercises = [];

function showView(view) {
  // with sound on, the switch of shoulder in the head-turn exercise is heard as well as seen
  if (view.shoulder && live.exercise && live.exercise.shoulder && view.shoulder !== live.exercise.shoulder) {
    beep();
    setTimeout(beep, 180);
  }
  stanceCues(live.exercise, view);
  live.exercise = view;
  coachEl.title.textContent = view.phase === "idle" ? "" : view.title || "";
  coachEl.cue.textContent = view.phase === "idle" ? "" : view.cue || "";
  // one count on the screen: an exercise that counts paces replaces the plain step count
  document.querySelector(".steps").hidden = view.phase !== "idle";
  if (view.target) {
    const cadence = view.cadence_steps_per_min ? ` · ${view.cadence_steps_per_min} steps/min` : "";
    coachEl.progress.textContent = `${view.paces} / ${view.target} paces${cadence}`;
  }
  else if (view.seconds_left !== null && view.seconds_left !== undefined) {
    const back = view.rear_share !== null && view.rear_share !== undefined
      ? ` · back foot ${Math.round(100 * view.rear_share)} %` : "";
    coachEl.progress.textContent = `${view.seconds_left} s${back}`;
  }
  else coachEl.progress.textContent = "";
  showSway(view);
  if (view.phase === "idle") {
    renderPicker(view.exercise, view.chosen);
    showCarryOn(view.carry_on);
  }
  updatePicker();
}

// A member's walk over several passes: their paces so far are kept for a minute, and they
// go on by picking their name and the same exercise again (a choice holds for one visit).
function showCarryOn(carry) {
  const note = document.getElementById("carry-on");
  note.hidden = !carry || !carry.target;
  if (note.hidden) return;
  note.textContent = carry.resumes
    ? `Your walk goes on: ${carry.paces} / ${carry.target} paces so far. Step on to walk the rest.`
    : `Walk kept: ${carry.paces} / ${carry.target} paces. `
      + `To go on, pick your name and "${carry.title}" again.`;
}

// The picker shows whenever nobody is on the mat and no summary is up, and stays until
// someone steps on: the times are kept for tests and the studio-day figures.
function updatePicker() {
  const idle = live.exercise && live.exercise.phase === "idle";
  const hide = !idle || Boolean(live.summary);
  if (coachEl.picker.hidden !== hide) {
    coachEl.picker.hidden = hide;
    if (hide) {
      live.pickerHiddenAt = performance.now();
      live.pickerHiddenFz = live.last ? live.last.fz : 0;  // someone on the mat by then?
    }
    else live.pickerShownAt = performance.now();
  }
}

// Side-to-side sway of this pass, against the member's usual (their earlier runs).
function showSway(view) {
  const meter = document.getElementById("sway-meter");
  const sway = view.lateral_sway_m;
  meter.hidden = sway === null || sway === undefined;
  if (meter.hidden) return;
  const usual = view.baseline_lateral_sway_m;
  const full = Math.max(0.04, 2 * (usual || 0.02));  // the track spans twice the usual
  document.getElementById("sway-bar").style.width = `${Math.min(100, (100 * sway) / full)}%`;
  const mark = document.getElementById("sway-usual");
  mark.hidden = !usual;
  if (usual) mark.style.left = `${(100 * usual) / full}%`;
  document.getElementById("sway-words").textContent = !usual ? `${(100 * sway).toFixed(1)} cm`
    : sway <= usual * 1.2 ? "steady, as usual" : "more than usual";
}

// Quiet stance is done with the eyes closed: every change is heard, not only seen (on by
// default for this exercise; ?sound=0 silences the kiosk). Tones by Web Audio, words by
// the browser's speech synthesis where it has a voice.
const QUIET = new URLSearchParams(location.search).get("sound") === "0";
function tone(freqs, ms = 220) {
  if (QUIET) return;
  try {
    audio = audio || new AudioContext();
    freqs.forEach((f, i) => {
      const osc = audio.createOscillator(), gain = audio.createGain();
      const at = audio.currentTime + i * (ms + 60) / 1000;
      osc.frequency.value = f;
      gain.gain.value = 0.2;
      osc.connect(gain).connect(audio.destination);
      osc.start(at);
      osc.stop(at + ms / 1000);
    });
  } catch (e) { /* no audio device: the words on the screen remain */ }
}
function say(text) {
  if (QUIET || !("speechSynthesis" in window)) return;
  speechSynthesis.cancel();
  speechSynthesis.speak(new SpeechSynthesisUtterance(text));
}
const STANCE_CUES = {
  open: { tones: [660], words: "Eyes open. Stand still." },
  closed: { tones: [440, 440], words: "Close your eyes. Stand still." },
  done: { tones: [523, 659, 784], words: "Open your eyes. Well done." },
};
function stanceCues(before, view) {
  if (view.exercise !== "quiet_stance" || !before || before.phase === view.phase) return;
  const cue = STANCE_CUES[view.phase];
  if (!cue) return;
  live.cues.push(view.phase);  // for tests: what was played, in order
  tone(cue.tones);
  say(cue.words);
}

// Simple drawings of each exercise, seen from above: the mat, footprints, which way to go.
const FOOT = (x, y, label) =>
  `<g><ellipse cx="${x}" cy="${y}" rx="16" ry="7" fill="#8fd3c2"/>` +
  `<text x="${x}" y="${y + 4}" font-size="10" text-anchor="middle" fill="#101418">${label}</text></g>`;
const MAT = `<rect x="5" y="20" width="230" height="70" rx="8" fill="#2b6e63" stroke="#8fd3c2" stroke-width="2"/>`;
const ARROW = (x1, x2, y) =>
  `<line x1="${x1}" y1="${y}" x2="${x2}" y2="${y}" stroke="#ffe066" stroke-width="4"/>` +
  `<polygon points="${x2},${y - 8} ${x2 - 12},${y} ${x2},${y + 8}" fill="#ffe066"/>`;
const DRAWINGS = {
  backward_walk: `<svg viewBox="0 0 240 110">${MAT}${FOOT(200, 45, "L")}${FOOT(160, 65, "R")}` +
    `${FOOT(120, 45, "L")}${FOOT(80, 65, "R")}${ARROW(190, 30, 102)}</svg>`,
  head_turns: `<svg viewBox="0 0 240 110">${MAT}${FOOT(180, 45, "L")}${FOOT(140, 65, "R")}` +
    `${FOOT(100, 45, "L")}${FOOT(60, 65, "R")}${ARROW(190, 30, 102)}</svg>`,
  warrior: `<svg viewBox="0 0 240 110">${MAT}${FOOT(170, 50, "F")}${FOOT(70, 60, "B")}` +
    `<line x1="70" y1="22" x2="70" y2="88" stroke="#ffe066" stroke-width="3" stroke-dasharray="6 4"/></svg>`,
  quiet_stance: `<svg viewBox="0 0 240 110">${MAT}${FOOT(120, 47, "L")}${FOOT(120, 63, "R")}</svg>`,
};

// Nothing looks pressed until someone taps: a visit nobody chose for is a walk-up's (the
// default exercise is shown, but which way they walk is left to the mat to tell).
function renderPicker(selected, chosen) {
  // the drawings are this page's own constant markup, never data from a request
  document.getElementById("drawing").innerHTML = DRAWINGS[selected] || "";
  coachEl.list.replaceChildren(...exercises.map((ex) => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = ex.title;  // textContent: names and titles are never parsed as HTML
    b.setAttribute("aria-pressed", String(Boolean(chosen) && ex.key === selected));
    b.dataset.key = ex.key;
    b.addEventListener("click", () => choose(ex.key));
    return b;
  }));
  const ex = exercises.find((e) => e.key === selected);
  coachEl.instructions.replaceChildren(...(ex ? ex.instructions : []).map((line) => {
    const li = document.createElement("li");
    li.textContent = line;
    return li;
  }));
}

const CSRF = document.querySelector('meta[name="csrf-token"]').content;
function post(url, body) {
  // every POST carries the page's CSRF token
  return fetch(url, { method: "POST", headers: { "Content-Type": "application/json", "X-CSRFToken": CSRF },
                      body: JSON.stringify(body || {}) });
}

// A choice (who, which exercise) is for the next visit only: the station forgets it when
// that visit ends, or after a minute if nobody steps on.
async function choose(key) {
  const r = await post("/api/kiosk/select", { exercise: key, member_id: live.member ? live.member.id : null });
  if (r.ok) { showView((await r.json()).view); live.choicesShown += 1; }
  else if (r.status === 403 && live.member) {  // the unlock ended (idle): go on as a guest
    live.exercise = null;
    setMember(null);
    choose(key);
  }
}

const claimEl = {
  box: document.getElementById("claim"), button: document.getElementById("claim-button"),
  members: document.getElementById("claim-members"), result: document.getElementById("claim-result"),
};

function showSummary(result) {
  live.summary = result;
  coachEl.summaryTitle.textContent = result.title;
  coachEl.words.replaceChildren(...result.words.map((line) => {
    const li = document.createElement("li");
    li.textContent = line;
    return li;
  }));
  coachEl.words.hidden = false;
  // the session's quality mark, in the station's words ("good", "noisy: check the floor")
  const quality = document.getElementById("summary-quality");
  quality.textContent = result.quality ? `Data quality: ${result.quality.words}` : "";
  quality.dataset.mark = result.quality ? result.quality.mark : "";
  quality.hidden = !result.quality;
  claimEl.box.hidden = true;
  claimEl.result.textContent = "";
  // a guest's run can be kept by its member for a short while: name, then PIN. The station
  // gives a member's own run no claim time, and a studio with no members has nobody to keep it.
  const claimS = live.memberCount === 0 ? 0 : result.claim_left_s || 0;
  claimEl.button.hidden = claimS <= 0;
  clearTimeout(live.claimTimer);
  if (claimS > 0) live.claimTimer = setTimeout(() => { claimEl.button.hidden = true; closeClaim(); }, claimS * 1000);
  coachEl.summary.hidden = false;
  updatePicker();
  // back to the start screen by itself, for the next member
  clearTimeout(live.summaryTimer);
  live.summaryTimer = setTimeout(closeSummary, Math.max(60, claimS) * 1000);
}

function closeSummary() {
  live.doneAt = performance.now();
  live.summary = null;
  coachEl.summary.hidden = true;
  closeClaim();
  updatePicker();
}
document.getElementById("summary-done").addEventListener("click", closeSummary);

claimEl.button.addEventListener("click", async () => {
  const r = await fetch("/api/members");
  if (!r.ok) return;
  const data = await r.json();
  claimEl.members.replaceChildren(...data.members.map((m) => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = m.name;  // never parsed as HTML
    b.addEventListener("click", () => askPin(m, "claim"));
    return b;
  }));
  coachEl.words.hidden = true;
  claimEl.button.hidden = true;
  claimEl.box.hidden = false;
});

function closeClaim() {
  claimEl.box.hidden = true;
  coachEl.words.hidden = false;
  if (pinAction === "claim") hidePin();
}

async function claim(m, pin) {
  const r = await post(`/api/members/${m.id}/claim`, { pin });
  const body = await r.json();
  if (r.ok) {
    hidePin();
    claimEl.box.hidden = true;
    coachEl.words.hidden = false;
    claimEl.result.textContent = `Saved to ${body.saved.member}'s history.`;
    live.claimed = body.saved;
    return;
  }
  pinFailed(r.status, body);
}

// --- members: pick your name, your PIN, your history ---------------------------------------
const pinEl = {
  pad: document.getElementById("pinpad"), dots: document.getElementById("pin-dots"),
  error: document.getElementById("pin-error"), prompt: document.getElementById("pin-prompt"),
  home: document.querySelector(".who"),
};
let pinFor = null;
let pinAction = "unlock";
let pinDigits = "";

async function loadMembers() {
  const r = await fetch("/api/members");
  if (!r.ok) return;
  const data = await r.json();
  live.memberCount = data.members.length;
  if (live.memberCount === 0) claimEl.button.hidden = true;
  const list = document.getElementById("member-list");
  const guest = { id: null, name: "Guest", has_pin: false };
  list.replaceChildren(...[guest, ...data.members].map((m) => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = m.name;  // never parsed as HTML
    b.setAttribute("aria-pressed", String((live.member ? live.member.id : null) === m.id));
    b.addEventListener("click", () => pickMember(m));
    return b;
  }));
}

function pickMember(m) {
  pinEl.error.textContent = "";
  if (m.id === null) { setMember(null); post("/api/members/lock"); return; }
  if (!m.has_pin) { unlock(m, null); return; }
  askPin(m, "unlock");
}

function askPin(m, action) {
  if (!m.has_pin && action === "claim") { claim(m, null); return; }
  pinFor = m;
  pinAction = action;
  pinDigits = "";
  pinEl.error.textContent = "";
  pinEl.prompt.textContent = `${m.name}: your PIN`;
  pinEl.dots.textContent = "";
  // one PIN pad, where it is needed: the picker's "who" column or the summary's claim box
  (action === "claim" ? claimEl.box : pinEl.home).appendChild(pinEl.pad);
  document.getElementById("member-list").hidden = action === "unlock";
  claimEl.members.hidden = action === "claim";
  // while a guest types their PIN to claim, the pad takes the summary's actions' place
  document.querySelector(".summary-actions").hidden = action === "claim";
  pinEl.pad.hidden = false;
}

function hidePin() {
  pinEl.pad.hidden = true;
  document.getElementById("member-list").hidden = false;
  claimEl.members.hidden = false;
  document.querySelector(".summary-actions").hidden = false;
  pinFor = null;
}

function pinFailed(status, body) {
  pinDigits = "";
  pinEl.dots.textContent = "";
  // 429: the station says how long to wait ("Try again in 4 minutes.")
  pinEl.error.textContent = status === 429 ? body.detail || "Too many tries. Please wait a few minutes."
    : status === 403 ? `Wrong PIN (${body.attempts_left} tries left)` : body.detail || "Not possible now.";
}

async function unlock(m, pin) {
  const r = await post(`/api/members/${m.id}/unlock`, { pin });
  const body = await r.json();
  if (r.ok) { hidePin(); setMember(body.member); return; }
  pinFailed(r.status, body);
}

function setMember(member) {
  live.member = member;
  const links = document.getElementById("member-links");
  links.hidden = !member;
  document.getElementById("qr").hidden = true;
  if (member) document.getElementById("history-link").href = `/history/${member.id}`;
  loadMembers();
  if (member && live.exercise) choose(live.exercise.exercise);
}

// The station ended the choice (the visit ended, or nobody stepped on): back to "Guest".
function onSelection(event) {
  live.lockEpoch = event.epoch;
  hidePin();
  setMember(null);
}

document.querySelectorAll(".keys [data-digit]").forEach((b) => b.addEventListener("click", () => {
  if (pinDigits.length < 8) pinDigits += b.dataset.digit;
  pinEl.dots.textContent = "•".repeat(pinDigits.length);
}));
document.getElementById("pin-back").addEventListener("click", () => {
  pinDigits = pinDigits.slice(0, -1);
  pinEl.dots.textContent = "•".repeat(pinDigits.length);
});
document.getElementById("pin-ok").addEventListener("click", () => {
  if (!pinFor) return;
  if (pinAction === "claim") claim(pinFor, pinDigits);
  else unlock(pinFor, pinDigits);
});
document.getElementById("pin-cancel").addEventListener("click", hidePin);
document.getElementById("qr-close").addEventListener("click", () => {
  document.getElementById("qr").hidden = true;
  document.getElementById("member-list").hidden = false;
  // while the QR was up the station kept nobody's choice for the mat: back at the picker,
  // the member's choice stands again
  if (live.member && live.keptChoice) choose(live.keptChoice);
});
document.getElementById("share-button").addEventListener("click", async () => {
  if (!live.member) return;
  live.keptChoice = live.exercise ? live.exercise.exercise : null;
  const r = await post(`/api/members/${live.member.id}/share`);
  if (!r.ok) return;
  const body = await r.json();
  // the SVG is made by the station (segno) from its own public address: safe to insert
  document.getElementById("qr-code").innerHTML = body.qr_svg;
  document.getElementById("qr-note").textContent =
    `Scan with your phone on the studio network. Works until ${body.until}.`;
  live.shareUrl = body.url;
  document.getElementById("member-list").hidden = true;
  document.getElementById("qr").hidden = false;
});

async function loadKiosk() {
  loadMembers();
  try {
    const r = await fetch("/api/kiosk");
    const k = await r.json();
    exercises = k.exercises || [];
    if (k.summary) showSummary({ ...k.summary, claim_left_s: k.claim_left_s });
    if (k.view) showView(k.view);
  } catch (e) { /* the stream's reconnect brings the station back */ }
}

function showSupport(supported) {
  live.supported = supported;
  document.getElementById("wall-note").hidden = !supported;
}

function onSession(event) {
  showSupport(false);  // a visit starts or ends: no hand on the wall yet
  if (event.event === "ended") {
    live.steps.clear();  // the visit is over: its count lives on in the summary, not here
    showStepCount();
  }
  if (event.event === "started") {
    live.steps.clear();
    showStepCount();
    // the next person is on the mat: the last one's summary is theirs, not this one's
    if (live.summary) closeSummary();
  }
}

// Exposed for tests and the benchmark: what arrived and how late.
const live = {
  frames: 0, trail: [], latencies: [], last: null, connection: "connecting",
  onMatSince: null, dotScreen: null, steps: new Map(), exercise: null, summary: null,
  memberCount: null, member: null, supported: false, cues: [], pickerShownAt: null, pickerHiddenAt: null,
  doneAt: null, viewMessages: 0, choicesShown: 0,
  // the page's own renderers, for the layout test's screens
  render: { showView: (v) => showView(v), showSummary: (r) => showSummary(r), showSupport: (s) => showSupport(s) },
};
window.balanceStation = live;

function setConnection(state) {
  live.connection = state;
  el.conn.className = "conn conn-" + state;
  el.conn.textContent = { live: "Live", connecting: "Connecting…", reconnecting: "Reconnecting…" }[state];
}

function onFrames(frames) {
  const now = Date.now() / 1000;
  for (const f of frames) {
    live.frames += 1;
    live.latencies.push(now - f.w);
    if (live.latencies.length > 5000) live.latencies.shift();
    if (f.x !== null) live.trail.push(f);
    // the station says whether somebody is on (f.kg: their weight, null while nobody is)
    if (f.kg !== null) { if (live.onMatSince === null) live.onMatSince = f.t; }
    else live.onMatSince = null;
    live.last = f;
  }
  const tNow = live.last.t;
  while (live.trail.length && live.trail[0].t < tNow - TRAIL_SECONDS) live.trail.shift();
  updateReadout();
}

function updateReadout() {
  // The station's number (one second's mean while somebody is on): shown, never recomputed.
  if (live.last && live.last.kg !== null) {
    el.weight.textContent = live.last.kg.toFixed(1);
    el.prompt.textContent = "On the mat";
  } else {
    el.weight.textContent = "–";
    el.prompt.textContent = "Step on the mat to begin";
  }
}

let source = null;
let lastMessage = 0;

function connect() {
  if (source) source.close();
  source = new EventSource("/api/stream");
  lastMessage = Date.now();
  source.onerror = () => {
    setConnection(live.frames ? "reconnecting" : "connecting");
    if (source.readyState === EventSource.CLOSED) setTimeout(connect, 1000);
  };
  source.addEventListener("frames", (e) => {
    lastMessage = Date.now();
    setConnection("live");
    onFrames(JSON.parse(e.data));
  });
  source.addEventListener("status", (e) => {
    lastMessage = Date.now();
    const s = JSON.parse(e.data);
    live.status = s;
    if (s.state === "fault") {
      // e.g. "back_left: reads exactly 0 ...: check the DT wire of back_left": staff know
      // which cable to check
      el.prompt.textContent = "Mat fault: please call staff";
      el.rate.textContent = s.error || "";
      return;
    }
    el.rate.textContent = s.frame_rate_hz ? `${Math.round(s.frame_rate_hz)} readings per second` : "";
    // `balance-station calibrate --check` found the mat drifted: staff should recalibrate
    const cal = s.health && s.health.calibration;
    if (cal && cal.needs_recalibration) el.rate.textContent = "Mat needs recalibrating: please tell staff";
    // the live screen keeps working while the disk refuses writes; staff must know
    const notSaving = Boolean(s.store && s.store.state === "failing");
    el.rate.classList.toggle("warn", notSaving);
    if (notSaving) el.rate.textContent = "Not saving sessions (storage problem): please call staff";
  });
  source.addEventListener("session", (e) => { lastMessage = Date.now(); onSession(JSON.parse(e.data)); });
  source.addEventListener("step", (e) => { lastMessage = Date.now(); onStep(JSON.parse(e.data)); });
  // the station found part of the weight going into the wall (or no longer)
  source.addEventListener("support", (e) => { lastMessage = Date.now(); showSupport(JSON.parse(e.data).supported); });
  source.addEventListener("exercise", (e) => { lastMessage = Date.now(); live.viewMessages += 1; showView(JSON.parse(e.data)); });
  source.addEventListener("selection", (e) => { lastMessage = Date.now(); onSelection(JSON.parse(e.data)); });
  source.addEventListener("exercise_summary", (e) => {
    lastMessage = Date.now();
    showSummary(JSON.parse(e.data));
  });
  source.onopen = () => { lastMessage = Date.now(); loadKiosk(); };
}

setInterval(() => {
  if (Date.now() - lastMessage > STALE_MS) {
    setConnection("reconnecting");
    connect();
  }
}, 1000);

// --- drawing ------------------------------------------------------------------------------

function layout() {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  // room around the mat for the load rings on the corner cells, so none is cut off
  const ring = Math.max(10, Math.min(40, 0.12 * h));
  const margin = 10 + ring;
  const scale = Math.min((w - 2 * margin) / mat.length_m, (h - 2 * margin) / mat.width_m);
  // Mat frame to screen: x to the right, y up (seen from above, the mat frame of docs/design.md).
  return { dpr, scale, ring, cx: w / 2, cy: h / 2 };
}

function toScreen(L, x, y) {
  return [L.cx + x * L.scale, L.cy - y * L.scale];
}

function draw() {
  const L = layout();
  ctx.setTransform(L.dpr, 0, 0, L.dpr, 0, 0);
  ctx.clearRect(0, 0, canvas.clientWidth, canvas.clientHeight);
  const [x0, y0] = toScreen(L, -mat.length_m / 2, mat.width_m / 2);
  const mw = mat.length_m * L.scale, mh = mat.width_m * L.scale;
  ctx.fillStyle = getComputedStyle(document.documentElement).getPropertyValue("--mat");
  ctx.strokeStyle = "#8fd3c2";
  ctx.lineWidth = 3;
  ctx.beginPath();
  ctx.roundRect(x0, y0, mw, mh, Math.min(mh * 0.06, 16));
  ctx.fill();
  ctx.stroke();
  // centre lines, faint
  ctx.strokeStyle = "rgba(255,255,255,0.18)";
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(x0, L.cy); ctx.lineTo(x0 + mw, L.cy);
  ctx.moveTo(L.cx, y0); ctx.lineTo(L.cx, y0 + mh);
  ctx.stroke();
  // load cells, with their share of the load as a ring
  const last = live.last;
  mat.cells.forEach((c, i) => {
    const [sx, sy] = toScreen(L, c.x_m, c.y_m);
    ctx.fillStyle = "#c9d1d9";
    ctx.fillRect(sx - 6, sy - 6, 12, 12);
    if (last && last.kg !== null) {
      const share = Math.max(0, last.f[i] / last.fz);
      ctx.strokeStyle = "rgba(255,255,255,0.55)";
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(sx, sy, 8 + share * L.ring, 0, 2 * Math.PI);
      ctx.stroke();
    }
  });
  // footprints: right filled, left outlined, each with its letter (not colour alone); a foot
  // the station could not name is a grey dashed outline with "?"
  for (const step of live.steps.values()) {
    const [fx, fy] = toScreen(L, step.x, step.y);
    const rx = 0.12 * L.scale, ry = 0.045 * L.scale;
    ctx.beginPath();
    ctx.ellipse(fx, fy, rx, ry, 0, 0, 2 * Math.PI);
    ctx.lineWidth = 3;
    if (step.foot === "right") {
      ctx.fillStyle = "rgba(255, 159, 110, 0.85)";
      ctx.fill();
    } else if (step.foot === "left") {
      ctx.strokeStyle = "rgba(124, 196, 255, 0.95)";
      ctx.stroke();
    } else {
      ctx.setLineDash([6, 5]);
      ctx.strokeStyle = "rgba(200, 205, 210, 0.9)";
      ctx.stroke();
      ctx.setLineDash([]);
    }
    ctx.fillStyle = step.foot === "right" ? "#101418" : "#dff1ff";
    ctx.font = `bold ${Math.max(12, Math.round(ry * 1.3))}px sans-serif`;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillText(step.foot === "left" ? "L" : step.foot === "right" ? "R" : "?", fx, fy);
  }
  // trail, older points fainter
  const trail = live.trail;
  if (trail.length > 1) {
    const tEnd = trail[trail.length - 1].t;
    ctx.lineWidth = 4;
    ctx.lineCap = "round";
    for (let i = 1; i < trail.length; i++) {
      const age = (tEnd - trail[i].t) / TRAIL_SECONDS;
      ctx.strokeStyle = `rgba(255, 196, 0, ${Math.max(0, 0.9 * (1 - age))})`;
      const [ax, ay] = toScreen(L, trail[i - 1].x, trail[i - 1].y);
      const [bx, by] = toScreen(L, trail[i].x, trail[i].y);
      ctx.beginPath(); ctx.moveTo(ax, ay); ctx.lineTo(bx, by); ctx.stroke();
    }
  }
  if (last && last.x !== null) {
    const [dx, dy] = toScreen(L, last.x, last.y);
    ctx.fillStyle = "#ffd400";
    ctx.strokeStyle = "#101418";
    ctx.lineWidth = 3;
    ctx.beginPath(); ctx.arc(dx, dy, 14, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
    live.dotScreen = [dx, dy];
  } else {
    live.dotScreen = null;
  }
  requestAnimationFrame(draw);
}

connect();
requestAnimationFrame(draw);
