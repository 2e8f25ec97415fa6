"""Benchmark the station: `python tests/bench.py [--seconds 60]`.

Prints, as medians over repeats where it makes sense:
- the streaming path's cost per frame (calibration + CoP + presence + step detector +
  running sway), the same without calibration and presence (the measurement core alone),
  and the offline analysis speed (x real time) over 10 simulated minutes (also the best run of
  each, the figure to compare on a shared machine);
- frames/s through core + store;
- the live station at 80 frames/s with one headless Chromium kiosk connected: frames/s
  sustained, CPU % of the station process (over the whole run, and the median of 5-second
  windows), database bytes per minute of session, and the latency from a frame's timestamp
  to its arrival in the browser (median and p95). `--live-only` runs just this part.
Needs the test extras (playwright, psutil) and Debian's chromium.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import psutil  # noqa: E402

from hardware.simulator.mat import SimulatedMat  # noqa: E402
from station.cli import default_config_path  # noqa: E402
from station.core.config import load_config  # noqa: E402
from station.core.cop import CopCalculator  # noqa: E402
from station.core.presence import PresenceTracker  # noqa: E402
from station.core.report import analyse  # noqa: E402
from station.core.steps import StepDetector  # noqa: E402
from station.core.sway import RunningSway  # noqa: E402
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, start_station  # noqa: E402


def bench_core(frames: int = 80 * 600, repeats: int = 5) -> dict[str, float]:
    """The streaming path per frame, and the offline analysis of the same 10 minutes."""
    cfg = load_config(default_config_path())
    source = SimulatedMat(cfg.mat, cfg.source.sim)
    times, counts = source.render(0, frames)
    rows = [tuple(r) for r in counts.tolist()]
    stamps = times.tolist()
    calibration = source.calibration
    per_frame, measure_only, offline = [], [], []
    for _ in range(repeats):
        cop = CopCalculator(cfg.mat)
        presence = PresenceTracker(cfg.session)
        steps = StepDetector()
        sway = RunningSway()
        start = time.perf_counter()
        for t, row in zip(stamps, rows, strict=True):
            f = cop.update(t, calibration.to_newtons(row))
            presence.update(f.t, f.fz)
            steps.update(f.t, f.fz, f.x, f.y)
            sway.update(f.t, f.x, f.y)
        per_frame.append((time.perf_counter() - start) / frames)
        forces = calibration.to_newtons_batch(counts)
        cop = CopCalculator(cfg.mat)
        steps = StepDetector()
        sway = RunningSway()
        force_rows = [tuple(r) for r in forces.tolist()]
        start = time.perf_counter()
        for t, row in zip(stamps, force_rows, strict=True):
            f = cop.update(t, row)
            steps.update(f.t, f.fz, f.x, f.y)
            sway.update(f.t, f.x, f.y)
        measure_only.append((time.perf_counter() - start) / frames)
        start = time.perf_counter()
        analyse(times, forces, cfg.mat)
        offline.append(time.perf_counter() - start)
    seconds = frames / 80.0
    return {
        "streaming_us_per_frame": statistics.median(per_frame) * 1e6,
        "cop_steps_sway_us_per_frame": statistics.median(measure_only) * 1e6,
        "offline_analysis_x_realtime": seconds / statistics.median(offline),
        # the best run: on a shared machine the others' load only ever slows a run down
        "cop_steps_sway_us_per_frame_best": min(measure_only) * 1e6,
        "offline_analysis_x_realtime_best": seconds / min(offline),
    }


def bench_store(seconds: float = 300.0) -> dict[str, float]:
    from station.acquisition import Acquisition
    from station.live import LiveHub
    from station.store import StoreWriter

    cfg = load_config(default_config_path())
    with tempfile.TemporaryDirectory() as tmp:
        source = SimulatedMat(cfg.mat, cfg.source.sim)
        writer = StoreWriter(Path(tmp) / "b.db")
        frames = int(seconds * 80)
        acq = Acquisition(cfg, source, writer, LiveHub(), realtime=False, max_frames=frames)
        start = time.perf_counter()
        writer.start()
        acq.start()
        acq.join()
        writer.stop()
        writer.join()
        elapsed = time.perf_counter() - start
    return {"fast_frames_per_s": frames / elapsed, "fast_realtime_factor": seconds / elapsed}


def bench_live(seconds: float) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        st = start_station(db)
        proc = psutil.Process(st.proc.pid)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 800, "height": 480})
                page.goto(st.url)
                page.wait_for_function("() => window.balanceStation.connection === 'live'")
                page.evaluate("() => { window.balanceStation.latencies.length = 0; }")
                frames0 = page.evaluate("() => window.balanceStation.frames")
                cpu0 = sum(proc.cpu_times()[:2])
                wall0 = time.monotonic()
                # sample latencies and the station's CPU every 5 s (the page keeps 5000)
                latencies: list[float] = []
                cpu_windows: list[float] = []
                deadline = wall0 + seconds
                while time.monotonic() < deadline:
                    cpu_a, wall_a = sum(proc.cpu_times()[:2]), time.monotonic()
                    page.wait_for_timeout(min(5000, max(0.0, deadline - time.monotonic()) * 1000))
                    latencies += page.evaluate("() => window.balanceStation.latencies.splice(0)")
                    window_s = time.monotonic() - wall_a
                    if window_s > 1.0:
                        cpu = sum(proc.cpu_times()[:2]) - cpu_a
                        cpu_windows.append(100.0 * cpu / window_s)
                wall = time.monotonic() - wall0
                cpu = sum(proc.cpu_times()[:2]) - cpu0
                frames = page.evaluate("() => window.balanceStation.frames") - frames0
                browser.close()
        finally:
            st.stop()
        import sqlite3

        con = sqlite3.connect(db)
        session_s = con.execute("select coalesce(sum(duration_s), 0) from summaries").fetchone()[0]
        con.close()
        size = db.stat().st_size
    lat_ms = np.array(latencies) * 1000.0
    return {
        "live_seconds": wall,
        "browser_frames_per_s": frames / wall,
        "station_cpu_percent": 100.0 * cpu / wall,
        "station_cpu_percent_median_5s": statistics.median(cpu_windows),
        "station_cpu_windows": len(cpu_windows),
        "latency_median_ms": float(np.median(lat_ms)),
        "latency_p95_ms": float(np.percentile(lat_ms, 95)),
        "db_bytes_per_session_minute": size / (session_s / 60.0) if session_s else float("nan"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="live run length")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    parser.add_argument(
        "--core-only", action="store_true", help="the measurement core and offline analysis only"
    )
    parser.add_argument(
        "--live-only", action="store_true", help="only the live station with one kiosk viewer"
    )
    parser.add_argument(
        "--cpu-time",
        action="store_true",
        help="time the core by this process's CPU time (steadier on a loaded machine)",
    )
    args = parser.parse_args()
    results: dict = {}
    if not args.live_only:
        wall_clock = time.perf_counter
        if args.cpu_time:
            time.perf_counter = time.process_time  # type: ignore[assignment]
        results.update(bench_core())
        time.perf_counter = wall_clock  # the live figures are wall-clock latencies
    if not args.core_only:
        if not args.live_only:
            results.update(bench_store())
        results.update(bench_live(args.seconds))
        results["cpu_percent_per_core_of_2"] = results["station_cpu_percent"] / 2
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    print(f"{'figure':40s} value")
    for key, value in results.items():
        print(f"{key:40s} {value:10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
