"""The HX711 mat as a frame source: readers, fault handling, glitch rejection, re-zero.

`--source hx711` reads real chips through lgpio (shared clock) or Blinka (Adafruit driver);
`--source emulated` runs the very same code against pin-level HX711 emulators whose inputs
come from the simulated member: a full dry run of the hardware path on any machine.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from station.core.calibration import Calibration
from station.core.config import MatConfig, StationConfig
from station.core.frames import RawFrame
from station.core.signal_health import GlitchFilter, RateMonitor, ZeroTracker

from .hx711 import AdafruitReader, ReaderTimeout, SharedClockReader
from .hx711_emulator import HX711Emulator, shared_clock
from .simulator.mat import SimulatedMat, cell_forces

READ_TIMEOUT_S = 0.25  # 20 conversion periods: a chip silent this long is faulty
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
        self.faulty: list[str] = []
        self.timeouts = 0
        self._lock = threading.Lock()
        self._tare_requested = False
        self._last_codes: list[int] | None = None

    @property
    def calibration(self) -> Calibration:
        with self._lock:
            return self._calibration

    def request_tare(self) -> None:
        """Re-zero on the next still, empty moment (the panel's 3-second hold)."""
        self._tare_requested = True

    def health(self) -> dict[str, Any]:
        return {
            "source": self.name,
            "state": "fault" if self.faulty else "ok",
            "faulty_cells": list(self.faulty),
            "frame_rate_hz": round(self.rate.rate_hz, 2),
            "jitter_ms": round(self.rate.jitter_ms, 3),
            "frames_dropped": getattr(self.reader, "dropped", 0),
            "read_timeouts": self.timeouts,
            "glitches_rejected": {
                c.name: f.rejected for c, f in zip(self.mat.cells, self.filters, strict=True)
            },
            "rezero_adjustments": self.zero.adjustments if self.zero else 0,
        }

    def frames(self, realtime: bool = True) -> Iterator[RawFrame]:
        names = [c.name for c in self.mat.cells]
        while True:
            try:
                reading = self.reader.read(READ_TIMEOUT_S)
            except ReaderTimeout as exc:
                self.timeouts += 1
                self.faulty = [names[i] for i in exc.cells]
                continue
            if reading is None:
                continue  # dropped: a clock pulse came too near the power-down limit
            self.faulty = []
            codes = []
            for i, (code, f) in enumerate(zip(reading.codes, self.filters, strict=True)):
                kept = f.accept(code)
                if kept is None:
                    kept = self._last_codes[i] if self._last_codes else code
                codes.append(kept)
            self._last_codes = codes
            self.rate.tick(reading.t)
            self._rezero(reading.t, codes)
            yield RawFrame(reading.t, tuple(float(c) for c in codes))

    def _rezero(self, t: float, codes: list[int]) -> None:
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

    Cell counts for a moment are computed once and shared by every chip converting then.
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
            if self._cache is None or abs(t - self._cache_t) > 0.002:
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


def build_emulated(config: StationConfig, calibration: Calibration | None = None) -> HX711Source:
    """The hardware path on emulated chips: four HX711s on one clock, fed by the simulator."""
    sim = SimulatedMat(config.mat, config.source.sim, config.source.rate_hz)
    inputs = EmulatedInputs(config.mat, sim)
    chips = [
        HX711Emulator(
            lambda t, ch, g, i=i: inputs.counts(t, i), rate_hz=config.source.rate_hz, name=c.name
        )
        for i, c in enumerate(config.mat.cells)
    ]
    clock = shared_clock(chips)
    reader = SharedClockReader(clock, [c.dout for c in chips])
    source = HX711Source(config.mat, reader, calibration or sim.calibration, name="emulated")
    source.inputs = inputs  # type: ignore[attr-defined]
    source.chips = chips  # type: ignore[attr-defined]
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
    """Real chips. Raises RuntimeError with a one-line reason where there is no GPIO."""
    hw = config.source.hx711
    if hw.reader == "shared-clock":
        try:
            from .hx711 import LgpioPins

            pins = LgpioPins(hw.clock_gpio, hw.data_gpios)
        except ImportError:
            raise RuntimeError("no GPIO here (lgpio is not installed)") from None
        reader: Any = SharedClockReader(pins.clock, pins.data, hw.gain, read_all=pins.read_all)
    else:
        try:
            import board
            import digitalio
        except (ImportError, NotImplementedError, RuntimeError) as exc:
            raise RuntimeError(f"no GPIO here ({exc})") from None
        pairs = []
        for data_gpio, clock_gpio in zip(hw.data_gpios, hw.clock_gpios, strict=True):
            data = digitalio.DigitalInOut(getattr(board, f"D{data_gpio}"))
            data.direction = digitalio.Direction.INPUT
            clock = digitalio.DigitalInOut(getattr(board, f"D{clock_gpio}"))
            clock.direction = digitalio.Direction.OUTPUT
            pairs.append((data, clock))
        reader = AdafruitReader(pairs, hw.gain)
    return HX711Source(config.mat, reader, calibration)
