// Kiosk live view: the mat to scale, the centre-of-pressure dot with a fading trail, and the
// member's weight. Data arrives by Server-Sent Events; the view reconnects by itself.
"use strict";

const GRAVITY = 9.80665;
const TRAIL_SECONDS = 2.0;
const STALE_MS = 3000;        // no message for this long: the link is down, reconnect
const ON_MAT_N = 50;          // below this the CoP is undefined: nobody on the mat

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
const SOUND = new URLSearchParams(location.search).has("sound");
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
  el.steps.textContent = String(live.steps.size);
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
  live.exercise = view;
  coachEl.title.textContent = view.title || "";
  coachEl.cue.textContent = view.cue || "";
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
  const idle = view.phase === "idle" && !live.summary;
  coachEl.picker.hidden = !idle || (live.last && live.last.fz >= ON_MAT_N);
  if (idle) renderPicker(view.exercise);
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
    `${FOOT(120, 45, "L")}${FOOT(80, 65, "R")}${ARROW(190, 30, 102)}` +
    `<text x="120" y="14" font-size="12" fill="#f4f4f0" text-anchor="middle">face this way &#8594; walk back &#8592;</text></svg>`,
  head_turns: `<svg viewBox="0 0 240 110">${MAT}${FOOT(180, 45, "L")}${FOOT(140, 65, "R")}` +
    `${FOOT(100, 45, "L")}${FOOT(60, 65, "R")}${ARROW(190, 30, 102)}` +
    `<text x="120" y="14" font-size="12" fill="#f4f4f0" text-anchor="middle">look left 4, then right 4</text></svg>`,
  warrior: `<svg viewBox="0 0 240 110">${MAT}${FOOT(170, 50, "F")}${FOOT(70, 60, "B")}` +
    `<line x1="70" y1="22" x2="70" y2="88" stroke="#ffe066" stroke-width="3" stroke-dasharray="6 4"/>` +
    `<text x="120" y="14" font-size="12" fill="#f4f4f0" text-anchor="middle">back heel on the mark, hold</text></svg>`,
  quiet_stance: `<svg viewBox="0 0 240 110">${MAT}${FOOT(120, 47, "L")}${FOOT(120, 63, "R")}` +
    `<text x="120" y="14" font-size="12" fill="#f4f4f0" text-anchor="middle">feet together, stand still</text></svg>`,
};

function renderPicker(selected) {
  // the drawings are this page's own constant markup, never data from a request
  document.getElementById("drawing").innerHTML = DRAWINGS[selected] || "";
  coachEl.list.replaceChildren(...exercises.map((ex) => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = ex.title;  // textContent: names and titles are never parsed as HTML
    b.setAttribute("aria-pressed", String(ex.key === selected));
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

async function choose(key) {
  const r = await post("/api/kiosk/select", { exercise: key, member_id: live.member ? live.member.id : null });
  if (r.ok) showView((await r.json()).view);
}

function showSummary(result) {
  live.summary = result;
  coachEl.summaryTitle.textContent = result.title;
  coachEl.words.replaceChildren(...result.words.map((line) => {
    const li = document.createElement("li");
    li.textContent = line;
    return li;
  }));
  coachEl.summary.hidden = false;
  coachEl.picker.hidden = true;
  // back to the start screen by itself after a minute, for the next member
  clearTimeout(live.summaryTimer);
  live.summaryTimer = setTimeout(() => document.getElementById("summary-done").click(), 60000);
}

document.getElementById("summary-done").addEventListener("click", () => {
  live.summary = null;
  coachEl.summary.hidden = true;
  if (live.exercise) choose(live.exercise.exercise);
});

// --- members: pick your name, your PIN, your history ---------------------------------------
const pinEl = {
  pad: document.getElementById("pinpad"), dots: document.getElementById("pin-dots"),
  error: document.getElementById("pin-error"), prompt: document.getElementById("pin-prompt"),
};
let pinFor = null;
let pinDigits = "";

async function loadMembers() {
  const r = await fetch("/api/members");
  if (!r.ok) return;
  const data = await r.json();
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
  pinFor = m;
  pinDigits = "";
  pinEl.prompt.textContent = `${m.name}: your PIN`;
  pinEl.dots.textContent = "";
  pinEl.pad.hidden = false;
}

async function unlock(m, pin) {
  const r = await post(`/api/members/${m.id}/unlock`, { pin });
  const body = await r.json();
  if (r.ok) { pinEl.pad.hidden = true; setMember(body.member); return; }
  pinDigits = "";
  pinEl.dots.textContent = "";
  pinEl.error.textContent = r.status === 429 ? "Too many tries. Please wait a few minutes."
    : `Wrong PIN (${body.attempts_left} tries left)`;
}

function setMember(member) {
  live.member = member;
  const links = document.getElementById("member-links");
  links.hidden = !member;
  document.getElementById("qr").hidden = true;
  if (member) document.getElementById("history-link").href = `/history/${member.id}`;
  loadMembers();
  if (live.exercise) choose(live.exercise.exercise);
}

document.querySelectorAll(".keys [data-digit]").forEach((b) => b.addEventListener("click", () => {
  if (pinDigits.length < 8) pinDigits += b.dataset.digit;
  pinEl.dots.textContent = "•".repeat(pinDigits.length);
}));
document.getElementById("pin-back").addEventListener("click", () => {
  pinDigits = pinDigits.slice(0, -1);
  pinEl.dots.textContent = "•".repeat(pinDigits.length);
});
document.getElementById("pin-ok").addEventListener("click", () => { if (pinFor) unlock(pinFor, pinDigits); });
document.getElementById("share-button").addEventListener("click", async () => {
  if (!live.member) return;
  const r = await post(`/api/members/${live.member.id}/share`);
  if (!r.ok) return;
  const body = await r.json();
  const qr = document.getElementById("qr");
  // the SVG is made by the station (segno) from its own URL: safe to insert
  qr.innerHTML = body.qr_svg;
  const note = document.createElement("p");
  note.textContent = "Scan with your phone on the studio network. The link works for 15 minutes.";
  qr.appendChild(note);
  qr.hidden = false;
});

async function loadKiosk() {
  loadMembers();
  try {
    const r = await fetch("/api/kiosk");
    const k = await r.json();
    exercises = k.exercises || [];
    if (k.summary) showSummary(k.summary);
    if (k.view) showView(k.view);
  } catch (e) { /* the stream's reconnect brings the station back */ }
}

function onSession(event) {
  if (event.event === "started") {
    live.steps.clear();
    el.steps.textContent = "0";
  }
}

// Exposed for tests and the benchmark: what arrived and how late.
const live = {
  frames: 0, trail: [], recent: [], latencies: [], last: null, connection: "connecting",
  onMatSince: null, dotScreen: null, steps: new Map(), exercise: null, summary: null,
  member: null,
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
    live.recent.push(f);
    if (f.x !== null) live.trail.push(f);
    if (f.fz >= ON_MAT_N) { if (live.onMatSince === null) live.onMatSince = f.t; }
    else live.onMatSince = null;
    live.last = f;
  }
  const tNow = live.last.t;
  while (live.trail.length && live.trail[0].t < tNow - TRAIL_SECONDS) live.trail.shift();
  while (live.recent.length && live.recent[0].t < tNow - 1.0) live.recent.shift();
  updateReadout();
}

function updateReadout() {
  // One second's mean: a steady number to read, not the bounce of every step.
  const loaded = live.recent.filter((f) => f.fz >= ON_MAT_N);
  if (live.last && live.last.fz >= ON_MAT_N && loaded.length) {
    const meanN = loaded.reduce((s, f) => s + f.fz, 0) / loaded.length;
    el.weight.textContent = (meanN / GRAVITY).toFixed(1);
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
      // e.g. "no reading from cell(s) back_left": staff know which cable to check
      el.prompt.textContent = "Mat fault: please call staff";
      el.rate.textContent = s.error || "";
      return;
    }
    el.rate.textContent = s.frame_rate_hz ? `${Math.round(s.frame_rate_hz)} readings per second` : "";
  });
  source.addEventListener("session", (e) => { lastMessage = Date.now(); onSession(JSON.parse(e.data)); });
  source.addEventListener("step", (e) => { lastMessage = Date.now(); onStep(JSON.parse(e.data)); });
  source.addEventListener("exercise", (e) => { lastMessage = Date.now(); showView(JSON.parse(e.data)); });
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
  const margin = 0.04 * Math.min(w, h) + 8;
  const scale = Math.min((w - 2 * margin) / mat.length_m, (h - 2 * margin) / mat.width_m);
  // Mat frame to screen: x to the right, y up (seen from above, the mat frame of docs/design.md).
  return { dpr, scale, cx: w / 2, cy: h / 2 };
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
    if (last && last.fz >= ON_MAT_N) {
      const share = Math.max(0, last.f[i] / last.fz);
      ctx.strokeStyle = "rgba(255,255,255,0.55)";
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(sx, sy, 8 + share * 40, 0, 2 * Math.PI);
      ctx.stroke();
    }
  });
  // footprints: right filled, left outlined, each with its letter (not colour alone)
  for (const step of live.steps.values()) {
    const [fx, fy] = toScreen(L, step.x, step.y);
    const rx = 0.12 * L.scale, ry = 0.045 * L.scale;
    ctx.beginPath();
    ctx.ellipse(fx, fy, rx, ry, 0, 0, 2 * Math.PI);
    ctx.lineWidth = 3;
    if (step.foot === "right") {
      ctx.fillStyle = "rgba(255, 159, 110, 0.85)";
      ctx.fill();
    } else {
      ctx.strokeStyle = "rgba(124, 196, 255, 0.95)";
      ctx.stroke();
    }
    ctx.fillStyle = step.foot === "right" ? "#101418" : "#dff1ff";
    ctx.font = `bold ${Math.max(12, Math.round(ry * 1.3))}px sans-serif`;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillText(step.foot === "left" ? "L" : step.foot === "right" ? "R" : "•", fx, fy);
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
