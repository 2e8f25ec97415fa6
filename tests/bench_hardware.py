"""Benchmark the HX711 readers against the emulator: `python tests/bench_hardware.py`.

Prints, for each reader: frames/s reached, timing jitter (SD of frame intervals), frames
dropped for a slow clock pulse, and CPU time per frame; then the glitch filter's false-reject
rate on clean simulated data and the calibration residuals through the emulated chips.
"""

from __future__ import annotations

import argparse
import functools
import resource
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from hardware.hx711 import AdafruitReader, SharedClockReader  # noqa: E402
from hardware.hx711_emulator import HX711Emulator, shared_clock  # noqa: E402
from hardware.hx711_source import ProcessReader, emulated_reader  # noqa: E402
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


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_reader(reader, frames: int) -> dict[str, float]:
    times = []
    cpu0 = cpu_s()
    while len(times) < frames:
        reading = reader.read(0.5)
        if reading is not None:
            times.append(reading.t)
    cpu = cpu_s() - cpu0
    dts = np.diff(times)
    dropped = getattr(reader, "dropped", 0)
    return {
        "frames_per_s": (len(times) - 1) / (times[-1] - times[0]),
        "jitter_ms": float(np.std(dts) * 1000),
        "interval_median_ms": float(np.median(dts) * 1000),
        "dropped_pct": 100.0 * dropped / (frames + dropped),
        "cpu_us_per_frame": cpu / frames * 1e6,
    }


def chips(n: int = 4):
    return [HX711Emulator(lambda t, c, g, k=k: 100_000 * (k + 1)) for k in range(n)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=400)
    args = parser.parse_args()
    cfg = load_config(default_config_path())
    rows = {}
    em = chips()
    adafruit = AdafruitReader([(c.dout, c.pd_sck) for c in em])
    rows["adafruit driver, 4 chips, separate clocks"] = run_reader(adafruit, args.frames)
    em = chips()
    shared = SharedClockReader(shared_clock(em), [c.dout for c in em])
    rows["shared clock, 4 chips, in process"] = run_reader(shared, args.frames)
    proc = ProcessReader(functools.partial(emulated_reader, cfg))
    rows["shared clock, reader process (station)"] = run_reader(proc, args.frames)
    proc.close()
    print(
        f"{'reader vs emulated HX711s':42s} {'frames/s':>9s} {'jitter ms':>10s} "
        f"{'dropped %':>10s} {'CPU us/frame':>13s}"
    )
    for name, r in rows.items():
        print(
            f"{name:42s} {r['frames_per_s']:9.1f} {r['jitter_ms']:10.2f} "
            f"{r['dropped_pct']:10.1f} {r['cpu_us_per_frame']:13.0f}"
        )

    sim = SimulatedMat(cfg.mat, cfg.source.sim)
    _, counts = sim.render(0, 80 * 600)
    filters = [GlitchFilter(int(400 * abs(g))) for g in sim.calibration.gains]
    rejected = sum(
        f.accept(int(c)) is None for row in counts for f, c in zip(filters, row, strict=True)
    )
    total = counts.size
    print(
        f"\nglitch filter on 10 min of clean simulated studio data: {rejected} of {total} "
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
        mean = check_still(
            np.array([next(frames).counts for _ in range(160)]), offsets, Limits().stable_rel
        )
        placements.append(Placement(spot, 20.0, mean))
    gains = fit_gains(cfg.mat, offsets, placements)
    true = source.inputs.sim.electronics.gains
    res = residuals(cfg.mat, offsets, gains, placements)
    print("\ncalibration through the emulated chips, 20 kg on 5 spots:")
    print(f"  gain error vs the true gains: max {100 * np.max(np.abs(gains / true - 1)):.4f} %")
    for r in res:
        print(f"  {r.label:22s} {r.mass_error_kg * 1000:+7.1f} g  {r.cop_error_mm:6.2f} mm")
    median_g = statistics.median(abs(r.mass_error_kg) for r in res) * 1000
    print(
        f"  median |mass error| {median_g:.1f} g, "
        f"max CoP error {max(r.cop_error_mm for r in res):.2f} mm"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
