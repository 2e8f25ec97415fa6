"""HX711 scenarios shared by the tests and tests/bench_hardware.py (which prints figures).

Everything here runs the station's real readers and source against the pin-level emulator.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

import numpy as np

from hardware.hx711 import AdafruitReader, SharedClockReader, busy_wait_us
from hardware.hx711_emulator import HX711Emulator, shared_clock
from station.core.config import SimConfig, StationConfig
from station.core.cop import CopCalculator

TRUE_CODES = [1_234_567, -200_000, 300_000, -4_000_000]


def constant(value: float):
    return lambda t, channel, gain: value


class StretchingPin:
    """A data pin whose every `every`-th read takes `stretch_us` more: a scheduling hiccup
    in the middle of a clock-high pulse (the reader samples DOUT while the clock is high)."""

    def __init__(self, pin: Any, every: int, stretch_us: float = 80.0) -> None:
        self._pin = pin
        self.every = every
        self.stretch_us = stretch_us
        self.reads = 0

    @property
    def value(self) -> Any:
        self.reads += 1
        if self.every and self.reads % self.every == 0:
            busy_wait_us(self.stretch_us)
        return self._pin.value


def stretched_reader(kind: str, every: int, max_high_us: float = 45.0, gain: int = 128):
    """Four chips (datasheet 60 us power-down) read by `kind` with stretched pulses."""
    chips = [HX711Emulator(constant(v), name=f"c{i}") for i, v in enumerate(TRUE_CODES)]
    if kind == "shared-clock":
        clock = shared_clock(chips)
        clock.record()
        pins = [StretchingPin(c.dout, every) for c in chips]
        reader: Any = SharedClockReader(clock, pins, gain=gain, max_high_us=max_high_us)
        return chips, [clock], reader
    pins = [(StretchingPin(c.dout, every), c.pd_sck) for c in chips]
    for c in chips:
        c.pd_sck.record()
    reader = AdafruitReader(pins, gain=gain, max_high_us=max_high_us)
    return chips, [c.pd_sck for c in chips], reader


def misreads_under_stretch(
    kind: str, readings: int, every: int = 700, max_high_us: float = 45.0
) -> dict[str, float]:
    """Readings attempted, how many came back wrong (misreads) and how many were dropped."""
    chips, clocks, reader = stretched_reader(kind, every, max_high_us)
    wrong = good = 0
    for _ in range(readings):
        reading = reader.read()
        if reading is None:
            continue
        if reading.codes == TRUE_CODES:
            good += 1
        else:
            wrong += 1
    highs = [h for clock in clocks for h in clock.high_times_us()[1:]]  # [0]: start-up reset
    return {
        "readings": readings,
        "returned": good + wrong,
        "misreads": wrong,
        "dropped": reader.dropped,
        "pulses_over_60us": sum(h > 60.0 for h in highs),
        "power_downs": sum(c.stats.power_downs for c in chips),
    }


@dataclasses.dataclass
class AlignmentRun:
    after_mm: np.ndarray  # aligned frame vs the true CoP at the frame's instant
    before_mm: np.ndarray  # codes as read vs the true CoP when the clock train began
    before_best_mm: np.ndarray  # codes as read vs the true CoP at the mean conversion instant
    spread_ms: np.ndarray  # per frame, latest minus earliest conversion instant


def cop_alignment(
    config: StationConfig, rate_factors: tuple[float, ...], walk_s: float = 3.0
) -> AlignmentRun:
    """A backward walk on emulated chips whose oscillators differ; per-frame CoP errors."""
    from hardware.hx711_source import build_emulated

    cfg = dataclasses.replace(
        config, source=dataclasses.replace(config.source, sim=SimConfig(scenario="backward"))
    )
    source = build_emulated(cfg, rate_factors=rate_factors)
    source.zero = None
    reader = source.reader
    raw: list[Any] = []
    real_read = reader.read

    def read_and_keep(timeout_s=None):
        reading = real_read(timeout_s)
        if reading is not None:
            raw.append(reading)
        return reading

    reader.read = read_and_keep
    inputs = source.inputs
    sim = inputs.sim
    sim.body_load(np.array([0.0, 60.0]))  # plan the visit, then start near its walk
    walk = next(s for s in sim.segments if s.kind == "walk")
    inputs.t0 -= walk.t_start_s - 0.2
    frames = []
    start = time.monotonic()
    for frame in source.frames():
        frames.append(frame)
        if frame.t - start > min(walk_s, walk.t_end_s - walk.t_start_s):
            break
    cal = source.calibration
    cop = CopCalculator(cfg.mat)

    def xy(counts):
        f = cop.update(0.0, cal.to_newtons(counts))
        return np.array([f.x, f.y], dtype=float)

    def truth(ts):
        _, x, y = sim.body_load(np.asarray(ts) - inputs.t0)
        return np.column_stack([x, y])

    by_t = {round(min(r.sample_t), 9): r for r in raw}
    after, before, best, spread = [], [], [], []
    skip = 3  # the first frames after start-up have no previous conversion to interpolate from
    for frame in frames[skip:]:
        reading = by_t.get(round(frame.t, 9))
        if reading is None:
            continue
        got_after = xy(frame.counts)
        got_before = xy(reading.codes)
        t_true = truth([frame.t, reading.t, float(np.mean(reading.sample_t))])
        after.append(np.hypot(*(got_after - t_true[0])))
        before.append(np.hypot(*(got_before - t_true[1])))
        best.append(np.hypot(*(got_before - t_true[2])))
        spread.append(1000 * (max(reading.sample_t) - min(reading.sample_t)))
    return AlignmentRun(
        1000 * np.array(after), 1000 * np.array(before), 1000 * np.array(best), np.array(spread)
    )


FAULTS = {
    "missing": lambda chip: setattr(chip, "stuck_busy", True),
    "stuck_low": lambda chip: setattr(chip, "dout_stuck_low", True),
    "flat": lambda chip: setattr(chip, "signal", constant(123_456)),
    "full_scale": lambda chip: setattr(chip, "signal", constant(9e6)),
}


def fault_to_named(config: StationConfig, kind: str, cell: int = 2) -> tuple[float, dict]:
    """Seconds from a fault's start to the source naming it, and the health then."""
    from hardware.hx711_source import build_emulated

    source = build_emulated(config)
    named = threading.Event()
    source.on_fault_change.append(lambda: source.faulty and named.set())
    frames = source.frames()
    for _ in range(5):
        next(frames)
    stop = threading.Event()

    def pump():
        for _ in frames:
            if stop.is_set():
                return

    chip = source.chips[cell]
    healthy = (chip.signal, chip.stuck_busy, chip.dout_stuck_low)
    FAULTS[kind](chip)
    t0 = time.monotonic()
    worker = threading.Thread(target=pump, daemon=True)
    worker.start()
    named.wait(5.0)
    took = time.monotonic() - t0
    health = source.health()
    stop.set()
    chip.signal, chip.stuck_busy, chip.dout_stuck_low = healthy  # frames flow: pump ends
    worker.join(5)
    assert not worker.is_alive(), "the reading thread did not stop"
    return took, health
