"""The HX711 mat as a frame source: readers, fault handling, glitch rejection, re-zero.

`--source hx711` reads real chips through lgpio (shared clock) or Blinka (Adafruit driver);
`--source emulated` runs the very same code against pin-level HX711 emulators whose inputs
come from the simulated member: a full dry run of the hardware path on any machine.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from station.core.alignment import FrameAligner
from station.core.calibration import Calibration
from station.core.config import MatConfig, StationConfig
from station.core.frames import RawFrame
from station.core.signal_health import CellFaultMonitor, GlitchFilter, RateMonitor, ZeroTracker

from .hx711 import ReaderTimeout, SharedClockReader
from .hx711_emulator import HX711Emulator, shared_clock
from .hx711_process import ProcessReader, ReaderStopped, hardware_reader
from .realtime import RealtimeReport
from .simulator.mat import SimulatedMat, cell_forces

GLITCH_MAX_JUMP_N = 400.0  # more than a person loads one cell in one frame


class HX711Source:
    """Frames from HX711 chips, with the health of every cell."""

    def __init__(
        self,
        mat: MatConfig,
        reader: Any,
        calibration: Calibration,
        name: str = "hx711",
        rezero: bool = True,
    ) -> None:
        self.mat = mat
        self.reader = reader
        self.name = name
        self._calibration = calibration
        n = len(mat.cells)
        counts_per_n = [abs(g) for g in calibration.gains]
        self.filters = [GlitchFilter(int(GLITCH_MAX_JUMP_N * g)) for g in counts_per_n]
        self.zero = ZeroTracker(n) if rezero else None
        self.rate = RateMonitor()
        self.monitor = CellFaultMonitor([c.name for c in mat.cells])
        self.aligner = FrameAligner(n)
        self.timeouts = 0
        self.calibration_state: dict[str, Any] = {}  # what `calibrate --check` last found
        # called (from the reading thread) whenever the set of faults changes, so the kiosk
        # hears of a fault at once even while no frames flow
        self.on_fault_change: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._tare_requested = False
        self._last_codes: list[int] | None = None
        self._dropped_seen = 0

    @property
    def calibration(self) -> Calibration:
        with self._lock:
            return self._calibration

    def request_tare(self) -> None:
        """Re-zero on the next still, empty moment (the panel's 3-second hold)."""
        self._tare_requested = True

    @property
    def faulty(self) -> list[str]:
        return [c.name for c in self.mat.cells if c.name in self.monitor.faults]

    def health(self) -> dict[str, Any]:
        faults = [self.monitor.faults[name] for name in self.faulty]
        return {
            "source": self.name,
            "state": "fault" if faults else "ok",
            "faulty_cells": [f.cell for f in faults],
            "faults": [f.__dict__ for f in faults],
            "problem": "; ".join(f.cause for f in faults),
            "realtime": getattr(self.reader, "realtime", RealtimeReport.not_asked()).as_dict(),
            "calibration": self.calibration_state,
            "frame_rate_hz": round(self.rate.rate_hz, 2),
            "jitter_ms": round(self.rate.jitter_ms, 3),
            "frames_dropped": getattr(self.reader, "dropped", 0),
            "read_timeouts": self.timeouts,
            "glitches_rejected": {
                c.name: f.rejected for c, f in zip(self.mat.cells, self.filters, strict=True)
            },
            "rezero_adjustments": self.zero.adjustments if self.zero else 0,
        }

    def close(self) -> None:
        close = getattr(self.reader, "close", None)
        if close is not None:
            close()

    def frames(self, realtime: bool = True) -> Iterator[RawFrame]:
        """Frames of trusted codes, every cell at the frame's instant; none while a cell is
        faulty (no session starts on a mat that cannot be measured)."""
        while True:
            before = set(self.monitor.faults)
            try:
                reading = self.reader.read()
            except ReaderStopped:
                return
            except ReaderTimeout as exc:
                self.timeouts += 1
                self.monitor.missing(exc.cells)
                self.aligner.reset()
                self._fault_changed(before)
                continue
            dropped = getattr(self.reader, "dropped", 0)
            if reading is None or dropped != self._dropped_seen:
                self._dropped_seen = dropped
                self.aligner.reset()  # a gap: do not interpolate across it
                if reading is None:
                    continue  # dropped: a clock pulse came too near the power-down limit
            self.monitor.update(reading.t, reading.codes)
            self._fault_changed(before)
            if self.monitor.faults:
                self.aligner.reset()
                continue
            codes = []
            for i, (code, f) in enumerate(zip(reading.codes, self.filters, strict=True)):
                kept = f.accept(code)
                if kept is None:
                    kept = self._last_codes[i] if self._last_codes else code
                codes.append(kept)
            self._last_codes = codes
            t, aligned = self.aligner.align(reading.sample_t or [reading.t] * len(codes), codes)
            self.rate.tick(t)
            self._rezero(t, aligned)
            yield RawFrame(t, tuple(float(c) for c in aligned))

    def _fault_changed(self, before: set[str]) -> None:
        if set(self.monitor.faults) != before:
            for callback in self.on_fault_change:
                callback()

    def _rezero(self, t: float, codes: list[float]) -> None:
        if self.zero is None:
            return
        cal = self.calibration
        fz = sum(cal.to_newtons(codes))
        if self._tare_requested:
            self.zero.rate = 1.0  # a requested tare takes the whole step at once
        new = self.zero.update(t, codes, fz, list(cal.offsets))
        if new is not None:
            with self._lock:
                self._calibration = Calibration(tuple(new), cal.gains)
            if self._tare_requested:
                self._tare_requested = False
                self.zero.rate = 0.05


class EmulatedInputs:
    """What the emulated chips measure: the simulated member, or known test masses.

    Cell counts for a moment are computed once and shared by every chip converting within
    0.1 ms of it (chips on separate oscillators each get their own instant).
    """

    def __init__(self, mat: MatConfig, sim: SimulatedMat) -> None:
        self.mat = mat
        self.sim = sim
        self.loads: list[tuple[float, float, float]] | None = None  # (kg, x, y) if set
        self.t0 = time.perf_counter()
        self._lock = threading.Lock()
        self._cache_t = -1.0
        self._cache: np.ndarray | None = None
        self._rng = np.random.default_rng(7)

    def counts(self, t: float, cell: int) -> float:
        with self._lock:
            if self._cache is None or abs(t - self._cache_t) > 0.0001:
                self._cache = self._compute(t - self.t0)
                self._cache_t = t
            return float(self._cache[cell])

    def _compute(self, t_sim: float) -> np.ndarray:
        if self.loads is not None:
            forces = np.zeros(len(self.mat.cells))
            for kg, x, y in self.loads:
                forces += cell_forces(
                    self.mat, np.array([kg * 9.80665]), np.array([x]), np.array([y])
                )[0]
        else:
            fz, x, y = self.sim.body_load(np.array([max(t_sim, 0.0)]))
            forces = cell_forces(self.mat, fz, x, y)[0]
        return self.sim.electronics.counts(forces[None, :], np.array([0.0125]), self._rng)[0]


# Emulated chips run on slightly different oscillators, as real ones do (datasheet: the
# rate is set by an on-chip oscillator; parts differ by a percent or two).
EMULATED_RATE_FACTORS = (1.0, 1.015, 0.99, 1.006, 0.985, 1.01)


def emulated_mat(config: StationConfig, keep_truth: bool = True) -> SimulatedMat:
    """The simulated member and electronics behind the emulated chips.

    Identical cells mounted alike all rise under load: the simulator's random gain signs
    (it models any wiring) would look like swapped A+/A- wires to the calibration.
    `keep_truth=False` forgets visits that are over: the running station's reader asks only
    for later instants and never for the truth, and runs for months.
    """
    sim = SimulatedMat(config.mat, config.source.sim, config.source.rate_hz, keep_truth)
    sim.electronics.gains = np.abs(sim.electronics.gains)
    return sim


def emulated_chips(
    config: StationConfig, rate_factors: tuple[float, ...] | None = None, keep_truth: bool = True
) -> tuple[EmulatedInputs, list[HX711Emulator], Any]:
    """Emulated HX711s on one clock line, fed by the simulated member (see emulated_mat)."""
    sim = emulated_mat(config, keep_truth)
    inputs = EmulatedInputs(config.mat, sim)
    factors = rate_factors or EMULATED_RATE_FACTORS
    chips = [
        HX711Emulator(
            lambda t, ch, g, i=i: inputs.counts(t, i),
            rate_hz=config.source.rate_hz * factors[i % len(factors)],
            name=c.name,
        )
        for i, c in enumerate(config.mat.cells)
    ]
    return inputs, chips, shared_clock(chips)


def emulated_reader(config: StationConfig) -> SharedClockReader:
    """The factory a reader process calls (the running station): chips and reader live there.

    Its simulated member forgets visits that are over (a station on `--source emulated` runs
    for months); in this process (calibration, tests) the member's truth stays readable.
    """
    _, chips, clock = emulated_chips(config, keep_truth=False)
    return SharedClockReader(clock, [c.dout for c in chips], rate_hz=config.source.rate_hz)


def build_emulated(
    config: StationConfig,
    calibration: Calibration | None = None,
    process: bool = False,
    rate_factors: tuple[float, ...] | None = None,
) -> HX711Source:
    """The hardware path on emulated chips: HX711s on one clock, fed by the simulator.

    process=True runs chips and reader in a child process (the station); in this process
    (calibration, tests) the chips and their inputs stay reachable as attributes.
    """
    true_calibration = emulated_mat(config).calibration
    if process:
        # emulated chips need no real-time priority (and it would not be polite to a
        # machine running other things): the report says "not asked"
        reader: Any = ProcessReader(functools.partial(emulated_reader, config), realtime=False)
        return HX711Source(config.mat, reader, calibration or true_calibration, name="emulated")
    inputs, chips, clock = emulated_chips(config, rate_factors)
    reader = SharedClockReader(clock, [c.dout for c in chips], rate_hz=config.source.rate_hz)
    source = HX711Source(config.mat, reader, calibration or true_calibration, name="emulated")
    source.inputs = inputs  # type: ignore[attr-defined]
    source.chips = chips  # type: ignore[attr-defined]
    source.clock = clock  # type: ignore[attr-defined]
    return source


def check_gpio(config: StationConfig) -> None:
    """Raise RuntimeError with a one-line reason where the configured reader has no GPIO."""
    if config.source.hx711.reader == "shared-clock":
        try:
            import lgpio  # noqa: F401
        except ImportError:
            raise RuntimeError("this machine has no GPIO (lgpio is not installed)") from None
        return
    try:
        import board  # noqa: F401
    except (ImportError, NotImplementedError, RuntimeError, AttributeError) as exc:
        raise RuntimeError(f"this machine has no GPIO for Blinka ({exc})") from None


def build_hardware(config: StationConfig, calibration: Calibration) -> HX711Source:
    """Real chips, read in their own process."""
    return HX711Source(
        config.mat, ProcessReader(functools.partial(hardware_reader, config)), calibration
    )
