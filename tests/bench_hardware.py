"""Benchmark the HX711 path against the emulator: `nice python tests/bench_hardware.py`.

Prints:
1. clock-high time p50/p99/max and drop rate of the shared-clock reader in its own process
   (as the station runs it), idle and beside a CPU-loading neighbour, with and without the
   real-time priority (where this machine grants it);
2. misreads and drops of each reader with pulses stretched past 60 us, timed and untimed;
3. the time from a chip fault to the station naming it, per fault kind;
4. the per-frame CoP error during a backward walk on chips whose rates differ by +-2 %,
   with and without aligning the cells onto one instant;
5. the glitch filter's false-reject rate and the calibration through the emulated chips.

`--load chromium` makes the neighbour headless Chromium rendering the live kiosk of a
simulated station (the Pi's real neighbour); the default spins one busy process per core.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from hardware.simulator.mat import SimulatedMat  # noqa: E402
from station.cli import default_config_path  # noqa: E402
from station.core.calibrate import (  # noqa: E402
    Limits,
    Placement,
    check_still,
    fit_gains,
    residuals,
    standard_spots,
    tare,
)
from station.core.config import load_config  # noqa: E402
from station.core.signal_health import GlitchFilter  # noqa: E402
from tests.conftest import CHROMIUM_ARGS  # noqa: E402
from tests.hx711_scenarios import (  # noqa: E402
    FAULTS,
    cop_alignment,
    fault_to_named,
    misreads_under_stretch,
)


def _pulses_child(seconds: float, realtime: bool, conn) -> None:
    """In a fresh process, as the station's reader: four chips on one clock, timed."""
    from hardware.hx711 import SharedClockReader
    from hardware.hx711_emulator import HX711Emulator, shared_clock
    from hardware.realtime import RealtimeReport, claim_realtime

    report = claim_realtime() if realtime else RealtimeReport.not_asked()
    values = [1_234_567, -200_000, 300_000, -4_000_000]
    chips = [
        HX711Emulator(lambda t, c, g, v=v: v, rate_hz=80 * f)
        for v, f in zip(values, (1.0, 1.015, 0.99, 1.006), strict=True)
    ]
    clock = shared_clock(chips)
    reader = SharedClockReader(clock, [c.dout for c in chips])
    clock.record()
    frames = misreads = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        reading = reader.read()
        if reading is not None:
            frames += 1
            misreads += reading.codes != values
    highs = clock.high_times_us()
    conn.send((highs, frames, reader.dropped, misreads, report.summary()))


def pulses(seconds: float, realtime: bool) -> dict:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_pulses_child, args=(seconds, realtime, child))
    proc.start()
    highs, frames, dropped, misreads, granted = parent.recv()
    proc.join()
    highs = np.array(highs)
    return {
        "p50": float(np.percentile(highs, 50)),
        "p99": float(np.percentile(highs, 99)),
        "max": float(highs.max()),
        "over_45": int((highs > 45).sum()),
        "pulses": len(highs),
        "frames": frames,
        "dropped_pct": 100.0 * dropped / max(1, frames + dropped),
        "misreads": misreads,
        "granted": granted,
    }


class Neighbour:
    """A CPU-loading neighbour: busy processes, or Chromium rendering the live kiosk."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.procs: list[subprocess.Popen] = []
        self.tmp = tempfile.TemporaryDirectory()

    def __enter__(self) -> Neighbour:
        if self.kind == "spin":
            spin = "import numpy as np\nwhile True: np.linalg.svd(np.random.rand(120, 120))"
            for _ in range(os.cpu_count() or 2):
                self.procs.append(subprocess.Popen([sys.executable, "-c", spin]))
            return self
        station = subprocess.Popen(
            [sys.executable, "-m", "station.cli", "run", "--port", "0", "--db",
             str(Path(self.tmp.name) / "s.db")],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO,
        )  # fmt: skip
        self.procs.append(station)
        port = re.search(r":(\d+)/", station.stdout.readline()).group(1)
        self.procs.append(
            subprocess.Popen(
                ["/usr/bin/chromium", *CHROMIUM_ARGS, f"http://127.0.0.1:{port}/?kiosk=1"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        )  # fmt: skip
        return self

    def __exit__(self, *exc) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            proc.wait(30)
        self.tmp.cleanup()


def section_pulses(seconds: float, load: str) -> None:
    print(f"1. clock-high time, shared-clock reader in its own process, {seconds:g} s each")
    print(
        f"   {'condition':34s} {'p50 us':>7s} {'p99 us':>7s} {'max us':>8s} {'>45us':>6s} "
        f"{'frames':>7s} {'drop %':>7s} {'misreads':>8s}  real-time"
    )
    rows = [("idle, normal priority", False, None), ("idle, real-time", True, None)]
    rows += [(f"{load} neighbour, normal priority", False, load)]
    rows += [(f"{load} neighbour, real-time", True, load)]
    for name, realtime, neighbour in rows:
        if neighbour:
            with Neighbour(neighbour):
                time.sleep(3.0)  # benchmark only: let the neighbour get busy first
                r = pulses(seconds, realtime)
        else:
            r = pulses(seconds, realtime)
        print(
            f"   {name:34s} {r['p50']:7.1f} {r['p99']:7.1f} {r['max']:8.1f} {r['over_45']:6d} "
            f"{r['frames']:7d} {r['dropped_pct']:7.2f} {r['misreads']:8d}  {r['granted']}"
        )


def section_stretched(readings: int) -> None:
    print(f"\n2. pulses stretched by 80 us (1 read in 700), {readings} readings per reader")
    print(f"   {'reader':34s} {'>60us':>6s} {'returned':>9s} {'misreads':>9s} {'dropped':>8s}")
    for kind in ("shared-clock", "adafruit"):
        for label, limit in (("timed (drops > 45 us)", 45.0), ("untimed (before)", 1e9)):
            r = misreads_under_stretch(kind, readings, every=700, max_high_us=limit)
            print(
                f"   {kind + ', ' + label:34s} {r['pulses_over_60us']:6d} {r['returned']:9d} "
                f"{r['misreads']:9d} {r['dropped']:8d}"
            )


def section_faults(cfg, repeats: int) -> None:
    print(f"\n3. fault to named (source health), {repeats} runs each: median / max")
    for kind in FAULTS:
        took = [fault_to_named(cfg, kind)[0] for _ in range(repeats)]
        print(f"   {kind:12s} {statistics.median(took):.2f} s / {max(took):.2f} s")


def section_alignment(cfg, walk_s: float) -> None:
    factors = (1.02, 0.98, 1.02, 0.98)
    run = cop_alignment(cfg, factors, walk_s)
    frames = len(run.after_mm)
    print(f"\n4. CoP error during a backward walk, chips at {factors} x 80 SPS ({frames} frames)")
    print(
        f"   conversion instants within a frame: median spread {np.median(run.spread_ms):.1f} ms, "
        f"max {run.spread_ms.max():.1f} ms"
    )
    for label, err in (
        ("before: codes as read, at the train's time", run.before_mm),
        ("before: codes as read, at their mean instant", run.before_best_mm),
        ("after: aligned onto the frame's instant", run.after_mm),
    ):
        p50, p95 = np.percentile(err, [50, 95])
        print(f"   {label:46s} median {p50:5.2f} mm  p95 {p95:5.2f} mm  max {err.max():5.1f} mm")


def section_filter_and_calibration(cfg) -> None:
    sim = SimulatedMat(cfg.mat, cfg.source.sim)
    _, counts = sim.render(0, 80 * 600)
    filters = [GlitchFilter(int(400 * abs(g))) for g in sim.calibration.gains]
    rejected = sum(
        f.accept(int(c)) is None for row in counts for f, c in zip(filters, row, strict=True)
    )
    total = counts.size
    print(
        f"\n5. glitch filter on 10 min of clean simulated studio data: {rejected} of {total} "
        f"samples rejected ({100 * rejected / total:.4f} %)"
    )
    from hardware.hx711_source import build_emulated

    source = build_emulated(cfg)
    source.zero = None
    frames = source.frames()
    source.inputs.loads = []
    offsets = tare(np.array([next(frames).counts for _ in range(160)]))
    placements = []
    for spot in standard_spots(cfg.mat)[:5]:
        source.inputs.loads = [(20.0, spot.x_m, spot.y_m)]
        for _ in range(20):
            next(frames)
        mean = check_still(
            np.array([next(frames).counts for _ in range(160)]), offsets, Limits().stable_rel
        )
        placements.append(Placement(spot, 20.0, mean))
    gains = fit_gains(cfg.mat, offsets, placements)
    true = source.inputs.sim.electronics.gains
    res = residuals(cfg.mat, offsets, gains, placements)
    print("   calibration through the emulated chips, 20 kg on 5 spots:")
    print(f"   gain error vs the true gains: max {100 * np.max(np.abs(gains / true - 1)):.4f} %")
    median_g = statistics.median(abs(r.mass_error_kg) for r in res) * 1000
    print(
        f"   median |mass error| {median_g:.1f} g, "
        f"max CoP error {max(r.cop_error_mm for r in res):.2f} mm"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per pulse condition")
    parser.add_argument("--load", choices=["spin", "chromium"], default="spin")
    parser.add_argument("--readings", type=int, default=1500, help="per stretched-pulse run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per fault kind")
    parser.add_argument("--walk-s", type=float, default=3.0)
    parser.add_argument("--pulses-only", action="store_true", help="section 1 only")
    args = parser.parse_args()
    cfg = load_config(default_config_path())
    print(f"machine: {os.cpu_count()} CPUs; figures depend on what else runs on it\n")
    section_pulses(args.seconds, args.load)
    if args.pulses_only:
        return 0
    section_stretched(args.readings)
    section_faults(cfg, args.repeats)
    section_alignment(cfg, args.walk_s)
    section_filter_and_calibration(cfg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
