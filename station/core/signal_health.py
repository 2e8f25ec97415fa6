"""Per-cell guards on raw ADC codes: glitch rejection, drift re-zero, and timing health.

Pure logic on numbers, shared by the HX711 source and its tests.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from dataclasses import dataclass, field

SATURATED = (0x7FFFFF, -0x800000)
BIT_PATTERNS = (0, -1)  # all zeros / all ones on the wire


class GlitchFilter:
    """Rejects single-sample glitches in one cell's codes, causally (no added latency).

    A code is rejected when it jumps further from the last accepted code than a person can
    load one cell in one frame (`max_jump` counts: about 400 N at 80 frames/s), or when it is
    a saturation or all-zeros/all-ones pattern that the previous code was nowhere near. A real
    change of level persists: after `accept_after` rejections in a row that agree with each
    other, the new level is accepted.
    """

    def __init__(self, max_jump: int, accept_after: int = 3) -> None:
        self.max_jump = max_jump
        self.accept_after = accept_after
        self.last: int | None = None
        self.rejected = 0
        self.accepted = 0
        self._pending: list[int] = []

    def accept(self, code: int) -> int | None:
        """The code to use, or None to reject this sample (hold the previous value)."""
        if self.last is None:
            self.last = code
            self.accepted += 1
            return code
        jump = abs(code - self.last)
        suspicious = jump > self.max_jump or (
            code in SATURATED + BIT_PATTERNS and jump > self.max_jump / 8
        )
        if not suspicious:
            self._pending.clear()
            self.last = code
            self.accepted += 1
            return code
        if self._pending and abs(code - self._pending[-1]) <= self.max_jump / 8:
            self._pending.append(code)
        else:
            self._pending = [code]
        if len(self._pending) >= self.accept_after:
            self._pending.clear()
            self.last = code
            self.accepted += 1
            return code
        self.rejected += 1
        return None


@dataclass
class ZeroTracker:
    """Follows slow drift of the empty mat's offsets; never moves while anyone is on it.

    Fed raw codes and the total force computed with the current offsets. Once the mat has
    been empty (|Fz| below `empty_n`) and still (per-cell spread small) for `settle_s`, the
    offsets move a small step (`rate`) towards the current mean codes.
    """

    cells: int
    empty_n: float = 20.0
    still_counts: float = 400.0
    settle_s: float = 2.0
    rate: float = 0.05
    _window: deque = field(default_factory=lambda: deque(maxlen=400))
    _since: float | None = None
    adjustments: int = 0

    def update(
        self, t: float, codes: list[float], fz: float, offsets: list[float]
    ) -> list[float] | None:
        """New offsets when a re-zero step is due, else None."""
        if abs(fz) > self.empty_n:
            self._window.clear()
            self._since = None
            return None
        if self._since is None:
            self._since = t
        self._window.append(codes)
        if t - self._since < self.settle_s or len(self._window) < 20:
            return None
        n = len(self._window)
        new = []
        for i in range(self.cells):
            values = [w[i] for w in self._window]
            mean = sum(values) / n
            sd = math.sqrt(sum((v - mean) ** 2 for v in values) / n)
            if sd > self.still_counts:
                return None  # something is moving on or near the mat
            new.append(offsets[i] + self.rate * (mean - offsets[i]))
        self._window.clear()
        self._since = t
        self.adjustments += 1
        return new


@dataclass
class RateMonitor:
    """Frames per second and timing jitter over the last few seconds."""

    window_s: float = 5.0
    _times: deque = field(default_factory=deque)

    def tick(self, t: float) -> None:
        self._times.append(t)
        while self._times and self._times[0] < t - self.window_s:
            self._times.popleft()

    @property
    def rate_hz(self) -> float:
        if len(self._times) < 2:
            return 0.0
        return (len(self._times) - 1) / (self._times[-1] - self._times[0])

    @property
    def jitter_ms(self) -> float:
        """Standard deviation of the frame intervals."""
        if len(self._times) < 3:
            return 0.0
        times = list(self._times)
        dts = [b - a for a, b in itertools.pairwise(times)]
        mean = sum(dts) / len(dts)
        return 1000.0 * math.sqrt(sum((d - mean) ** 2 for d in dts) / len(dts))


FULL_SCALE = (0x7FFFFF, -0x800000)


@dataclass(frozen=True)
class CellFault:
    """A cell the station cannot trust, with what to check, in words for staff."""

    cell: str
    kind: str  # missing, stuck_low, stuck_high, full_scale, flat
    cause: str


def describe_fault(cell: str, kind: str) -> CellFault:
    causes = {
        "missing": f"{cell}: its HX711 never says it is ready: check the DT wire and the "
        f"board's power (VCC, VDD, GND) of {cell}",
        "stuck_low": f"{cell}: reads exactly 0, its data line is stuck low: check the DT wire "
        f"of {cell} (broken, or touching GND) and that its board has power",
        "stuck_high": f"{cell}: reads all ones, its data line is stuck high: check the DT wire "
        f"of {cell} and its board's GND",
        "full_scale": f"{cell}: at full scale, the load cell's signal is out of range: check "
        f"the A+/A- and E+/E- wires of {cell}, or the cell is overloaded or damaged",
        "flat": f"{cell}: the same reading every time, with none of the usual noise: its chip "
        f"is not converting: check the power and the DT wire of {cell}",
    }
    return CellFault(cell, kind, causes[kind])


class CellFaultMonitor:
    """Names cells whose raw codes cannot come from a working load cell and HX711.

    A working chip always shows noise (about 40 counts rms at gain 128), so a code that stays
    exactly the same for `window_s` is a fault, named by its value: 0 (DT stuck low), -1 (DT
    stuck high mid-read), full scale (a bridge wire open), anything else (a chip that stopped
    converting). Cells that never become ready are reported by the reader (`missing`).
    Half a second of identical codes at 80 frames/s is 40 equal readings: impossible for a
    live chip, and leaves time to name the fault within a second.
    """

    def __init__(self, names: list[str], window_s: float = 0.5, min_frames: int = 4) -> None:
        self.names = names
        self.window_s = window_s
        self.min_frames = min_frames
        self._since: list[float | None] = [None] * len(names)
        self._value: list[int | None] = [None] * len(names)
        self._count = [0] * len(names)
        self.faults: dict[str, CellFault] = {}

    def missing(self, cells: list[int]) -> None:
        """The reader timed out on these cells (the others were not read: unknown)."""
        for i in cells:
            self.faults[self.names[i]] = describe_fault(self.names[i], "missing")

    def update(self, t: float, codes: list[int]) -> None:
        for i, code in enumerate(codes):
            name = self.names[i]
            if code != self._value[i]:
                self._value[i], self._since[i], self._count[i] = code, t, 1
            else:
                self._count[i] += 1
            since = self._since[i]
            assert since is not None
            if self._count[i] >= self.min_frames and t - since >= self.window_s:
                if code == 0:
                    kind = "stuck_low"
                elif code == -1:
                    kind = "stuck_high"
                elif code in FULL_SCALE:
                    kind = "full_scale"
                else:
                    kind = "flat"
                self.faults[name] = describe_fault(name, kind)
            elif self._count[i] == 1:
                self.faults.pop(name, None)  # it changed: alive (a missing chip answered)
