// History charts with Chart.js, served from the station itself (no internet needed).
// Axes start at zero, and a band shows the member's usual range (their mean, give or take
// the day-to-day noise margin the summary uses), so noise never looks like progress.
"use strict";
const runs = JSON.parse(document.getElementById("runs-data").textContent);
// the noise margins of the summary's comparisons, from the station
const margins = JSON.parse(document.getElementById("margins-data").textContent);

function chart(id, unit, points, margin) {
  const el = document.getElementById(id);
  if (!points.length) { el.parentElement.replaceWith(Object.assign(document.createElement("p"), { textContent: "No data yet." })); return; }
  const mean = points.reduce((s, p) => s + p.value, 0) / points.length;
  const labels = points.map((p) => p.when);
  const band = (v) => labels.map(() => v);
  new Chart(el, {
    type: "line",
    data: { labels,
            datasets: [
              { label: unit, data: points.map((p) => p.value), borderColor: "#2b6e63",
                backgroundColor: "#2b6e63", tension: 0.2 },
              { label: "usual, high", data: band(mean + margin), borderWidth: 0, pointRadius: 0, fill: "+1",
                backgroundColor: "rgba(43, 110, 99, 0.15)" },
              { label: "usual, low", data: band(Math.max(0, mean - margin)), borderWidth: 0, pointRadius: 0 },
            ] },
    options: { animation: false, maintainAspectRatio: false, plugins: { legend: { display: false } },
               scales: { y: { beginAtZero: true, title: { display: true, text: unit } },
                         x: { ticks: { maxRotation: 0, autoSkip: true } } } },
  });
}
const pick = (key, scale = 1, keep = () => true) => runs
  .filter((r) => keep(r) && r[key] !== null && r[key] !== undefined)
  .map((r) => ({ when: r.when, value: r[key] * scale }));
// a walk-up's run saved here may have gone forwards (or the mat could not tell which way):
// it is no backward walking speed
const backward = (r) => !r.direction || r.direction === "backward";
chart("speed", "m/s", pick("speed_m_per_s", 1, backward), margins.speed_m_per_s);
chart("step", "cm", pick("step_length_m", 100), 100 * margins.step_length_m);
chart("romberg", "ratio", pick("romberg_mean_velocity"), margins.romberg_mean_velocity);

// a listener, not onclick="": the page's Content-Security-Policy runs no inline script
document.getElementById("print-button")?.addEventListener("click", () => window.print());

// On the kiosk a member's history is on a screen in a public room: after the unlock's idle
// time with nobody touching it, the page goes back to the mat (the station has locked it).
const returnS = Number(document.querySelector("[data-kiosk-return-s]")?.dataset.kioskReturnS || 0);
if (returnS > 0) {
  let timer = null;
  const restart = () => { clearTimeout(timer); timer = setTimeout(() => { window.location.href = "/"; }, returnS * 1000); };
  ["pointerdown", "keydown", "wheel", "touchstart", "scroll"].forEach((kind) =>
    window.addEventListener(kind, restart, { passive: true }));
  restart();
}
