// History charts with Chart.js, served from the station itself (no internet needed).
"use strict";
const runs = JSON.parse(document.getElementById("runs-data").textContent);

function chart(id, label, points) {
  const el = document.getElementById(id);
  if (!points.length) { el.replaceWith(Object.assign(document.createElement("p"), { textContent: "No data yet." })); return; }
  new Chart(el, {
    type: "line",
    data: { labels: points.map((p) => p.when.slice(0, 10)),
            datasets: [{ label, data: points.map((p) => p.value), borderColor: "#2b6e63",
                         backgroundColor: "#2b6e63", tension: 0.2 }] },
    options: { animation: false, plugins: { legend: { display: false } } },
  });
}
const pick = (key, scale = 1) => runs.filter((r) => r[key] !== null && r[key] !== undefined)
  .map((r) => ({ when: r.ended_at, value: r[key] * scale }));
chart("speed", "m/s", pick("speed_m_per_s"));
chart("step", "cm", pick("step_length_m", 100));
chart("romberg", "ratio", pick("romberg_mean_velocity"));

// a listener, not onclick="": the page's Content-Security-Policy runs no inline script
document.getElementById("print-button")?.addEventListener("click", () => window.print());
