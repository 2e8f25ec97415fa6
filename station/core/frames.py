"""The frame types every source and consumer share."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RawFrame:
    """One reading of every cell at (about) one instant, in the source's own units.

    `t` is seconds on a monotonic clock; `counts` is one value per configured cell, in
    config order (ADC counts for hardware and the simulator, newtons for a replay).
    """

    t: float
    counts: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class ForceFrame:
    """A calibrated frame with its centre of pressure.

    `x`/`y` are None when nobody is on the mat: the CoP is undefined, not zero.
    """

    t: float
    forces: tuple[float, ...]
    fz: float
    x: float | None
    y: float | None
