"""A quality mark for one session: can its numbers be trusted, and if not, what to check.

A session on a noisy floor, with lost frames, a stuck cell or a mat that needs recalibrating
looks as authoritative as a clean one unless something says so. From the session's frames
and what the runtime knows (the calibration's age and last check-weight drift, the source's
own counts of dropped and held frames and faulty cells), this names the worst problem in
plain words. Each measure that cannot be taken (no empty-mat frames, a source that keeps no
counts, a mat never checked) is `None` and marks nothing: no guess.

Marks, worst first (`MARKS`): a faulty cell, recalibrate, frames lost, noisy, readings off
the mat, good.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .thresholds import EMPTY_MAT_N, ON_MAT_N

if TYPE_CHECKING:  # config.py reads QualityLimits from here: no import back at run time
    from .config import MatConfig

# (mark, plain words for the member and teacher), worst first
MARKS = (
    ("cell_fault", "faulty cell: check the wiring"),
    ("recalibrate", "recalibrate the mat"),
    ("frames_lost", "frames lost: check the cables"),
    ("noisy", "noisy: check the floor"),
    ("off_mat", "readings off the mat: check the calibration"),
    ("good", "good"),
)
WORDS = dict(MARKS)


@dataclass(frozen=True)
class QualityLimits:
    """The quality mark's limits: the config's `[quality]` table (station/default_config.toml)."""

    noise_n: float = 1.0  # sd of the empty mat's total force; a good mat shows 0.05-0.5 N
    missing_share: float = 0.02  # frames lost or held (a glitch replaced by the last value)
    flat_s: float = 0.5  # a cell's reading identical this long under load: stuck or clipped
    drift_pct: float = 1.0  # check-weight gain drift (calibrate --check's own limit)
    calibration_age_days: float = 365.0  # older than a year with no check since: recalibrate
    off_mat_share: float = 0.01  # loaded frames with the CoP outside the platform
    off_mat_margin_m: float = 0.01  # the CoP this far beyond the platform's edge: off it


# what counts as somebody on the mat and as the empty mat: the station's own thresholds
# (thresholds.py), not limits of the mark, so every report measures the same frames
LOADED_N = ON_MAT_N
IDLE_N = EMPTY_MAT_N
MIN_IDLE_FRAMES = 40  # half a second at 80 frames/s: enough to show the mat's noise


def session_quality(
    t: np.ndarray,
    fz: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    forces: np.ndarray | None,
    mat: MatConfig | None,
    *,
    calibration: dict[str, Any] | None = None,
    source: dict[str, Any] | None = None,
    limits: QualityLimits | None = None,
) -> dict[str, Any]:
    """The report's `quality`: a mark, its words, every problem found and the measures.

    `calibration`: `calibrated`, `age_days`, `checked_since` (bool), `gain_drift_pct` (a
    number or per-cell numbers), `needs_recalibration`. `source`: the source's counts over
    this session, `frames_dropped`, `frames_held`, and its `faulty_cells`.
    """
    meter = QualityMeter(mat, limits)
    fz = np.asarray(fz, dtype=float)
    meter.feed(t, fz, x, y, forces)
    return meter.mark(longest_idle_run(fz), calibration=calibration, source=source)


class QualityMeter:
    """The quality mark's measures over frames fed a chunk at a time, in order.

    A whole recording is one chunk (session_quality); `analyze` feeds a long file in parts
    (station/analysis.py) and gets the same mark. What is kept between chunks is small: the
    frame intervals counted to the microsecond, two counts, and each cell's open run of
    identical readings.
    """

    def __init__(self, mat: MatConfig | None, limits: QualityLimits | None = None) -> None:
        self.mat = mat
        self.limits = limits or QualityLimits()
        self.frames = 0
        self.intervals_us: Counter[int] = Counter()
        self.loaded = 0
        self.off_mat = 0
        self.flat: set[str] = set()
        self._last_t: float | None = None
        self._last_forces: np.ndarray | None = None
        self._same_since: list[float | None] = []  # per cell: when its identical run began

    def feed(
        self,
        t: np.ndarray,
        fz: np.ndarray,
        x: np.ndarray,
        y: np.ndarray,
        forces: np.ndarray | None = None,
    ) -> None:
        t = np.asarray(t, dtype=float)
        fz = np.asarray(fz, dtype=float)
        if not len(t):
            return
        lim = self.limits
        times = t if self._last_t is None else np.concatenate([[self._last_t], t])
        self.intervals_us.update(np.round(np.diff(times) * 1e6).astype(np.int64).tolist())
        loaded = fz >= LOADED_N
        if self.mat is not None:
            self.loaded += int(np.count_nonzero(loaded))
            half_l = self.mat.length_m / 2 + lim.off_mat_margin_m
            half_w = self.mat.width_m / 2 + lim.off_mat_margin_m
            with np.errstate(invalid="ignore"):
                off = (np.abs(np.asarray(x)[loaded]) > half_l) | (
                    np.abs(np.asarray(y)[loaded]) > half_w
                )
            self.off_mat += int(np.count_nonzero(off))
        if forces is not None and self.mat is not None:
            self._watch_flat_cells(times, loaded, np.asarray(forces, dtype=float))
        self.frames += len(t)
        self._last_t = float(t[-1])

    def _watch_flat_cells(self, times: np.ndarray, loaded: np.ndarray, forces: np.ndarray) -> None:
        """Cells whose reading does not move at all under load: stuck, or clipped at full scale.

        A working load cell and ADC always show noise, so an identical value for half a
        second while someone stands on the mat cannot be a measurement.
        """
        assert self.mat is not None
        first_chunk = self._last_forces is None
        rows = forces if first_chunk else np.vstack([self._last_forces, forces])
        if first_chunk:
            self._same_since = [None] * len(self.mat.cells)
            loaded = loaded[1:]  # the first frame has none before it to equal
        for i, cell in enumerate(self.mat.cells):
            same = (np.diff(rows[:, i]) == 0) & loaded  # same[j]: rows j and j+1 equal
            edges = np.diff(np.concatenate([[0], same.astype(np.int8), [0]]))
            starts = np.flatnonzero(edges == 1)
            ends = np.flatnonzero(edges == -1)  # exclusive
            for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
                began = self._same_since[i] if a == 0 and self._same_since[i] is not None else None
                began = float(times[a]) if began is None else began
                if float(times[b]) - began >= self.limits.flat_s:  # rows a..b hold one value
                    self.flat.add(cell.name)
                self._same_since[i] = began if b == len(same) else None
            if not len(starts) or ends[-1] != len(same):
                self._same_since[i] = None
        self._last_forces = forces[-1:].copy()

    def missing_frames(self) -> int:
        """Frames the clock says should be there and are not (gaps over 1.5 frame periods).

        The frame period is the recording's own median interval, so a stored session
        analysed again counts the same gaps as the station did live.
        """
        if sum(self.intervals_us.values()) < 2:
            return 0
        period = median_of_counts(self.intervals_us)
        if period <= 0:
            return 0
        return int(
            sum(
                (round(us / period) - 1) * count
                for us, count in self.intervals_us.items()
                if us / period > 1.5
            )
        )

    def mark(
        self,
        idle_fz: np.ndarray | None,
        *,
        calibration: dict[str, Any] | None = None,
        source: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The mark from what was fed; `idle_fz` is the total force over the longest run of
        empty-mat frames (longest_idle_run), for the mat's own noise."""
        lim = self.limits
        n = self.frames
        problems: list[str] = []

        noise_n = idle_noise_n(idle_fz) if idle_fz is not None else None
        if noise_n is not None and noise_n > lim.noise_n:
            problems.append("noisy")

        gaps = self.missing_frames()
        source = source or {}
        dropped = int(source.get("frames_dropped") or 0)
        held = int(source.get("frames_held") or 0)
        missing = gaps + dropped + held
        missing_share = missing / (n + gaps + dropped) if n else 0.0
        if missing_share > lim.missing_share:
            problems.append("frames_lost")

        faulty = sorted(set(source.get("faulty_cells") or []) | self.flat)
        if faulty:
            problems.append("cell_fault")

        age_days, drift_pct = None, None
        if calibration is not None:
            age_days = calibration.get("age_days")
            drift_pct = _worst(calibration.get("gain_drift_pct"))
            old = (
                age_days is not None
                and age_days > lim.calibration_age_days
                and not calibration.get("checked_since")
            )
            if (
                not calibration.get("calibrated", True)
                or calibration.get("needs_recalibration")
                or (drift_pct is not None and drift_pct > lim.drift_pct)
                or old
            ):
                problems.append("recalibrate")

        off_share = self.off_mat / self.loaded if self.mat is not None and self.loaded else None
        if off_share is not None and off_share > lim.off_mat_share:
            problems.append("off_mat")

        order = [m for m, _ in MARKS]
        problems.sort(key=order.index)
        mark = problems[0] if problems else "good"
        return {
            "mark": mark,
            "words": WORDS[mark],
            "problems": problems,
            "noise_n": _round(noise_n, 4),
            "frames_missing": missing,
            "missing_share": round(missing_share, 5),
            "faulty_cells": faulty,
            "calibration_age_days": _round(age_days, 1),
            "gain_drift_pct": _round(drift_pct, 3),
            "cop_off_mat_share": _round(off_share, 5),
        }


def longest_idle_run(fz: np.ndarray) -> np.ndarray | None:
    """The total force over the longest run of empty-mat frames (the first of equal ones),
    or None when it is too short to show the mat's noise."""
    idle = np.concatenate([[False], np.asarray(fz) < IDLE_N, [False]])
    edges = np.flatnonzero(np.diff(idle.astype(np.int8)))
    starts, ends = edges[::2], edges[1::2]
    if not len(starts):
        return None
    k = int(np.argmax(ends - starts))
    if ends[k] - starts[k] < MIN_IDLE_FRAMES:
        return None
    return np.asarray(fz)[starts[k] : ends[k]]


def idle_noise_n(idle_fz: np.ndarray) -> float:
    """The empty mat's noise (sd of its total force, N) from its frames.

    Taken from frame-to-frame differences with a median (robust: the run's edges, where a
    foot comes or goes, and the mat's slow drift do not count as noise); for white noise
    the sd of a difference is sqrt(2) times the noise's.
    """
    steps = np.diff(idle_fz)
    mad = float(np.median(np.abs(steps - np.median(steps))))
    return 1.4826 * mad / np.sqrt(2.0)


def median_of_counts(counts: Counter[int]) -> float:
    """The median of values given as value -> how often (the mean of the middle two), as
    np.median gives it for the values written out."""
    total = sum(counts.values())
    if total == 0:
        return 0.0
    middle = ((total - 1) // 2, total // 2)
    found: list[int] = []
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        while len(found) < 2 and middle[len(found)] < seen:
            found.append(value)
        if len(found) == 2:
            break
    return (found[0] + found[1]) / 2


def _worst(drift: float | dict[str, float] | Sequence[float] | None) -> float | None:
    if drift is None:
        return None
    if isinstance(drift, dict):
        drift = list(drift.values())
    if isinstance(drift, int | float):
        return abs(float(drift))
    return max((abs(float(v)) for v in drift), default=None)


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


def worst_quality(marks: list[dict[str, Any] | None]) -> dict[str, Any] | None:
    """One exercise over several visits: the worst visit's mark and words."""
    order = [m for m, _ in MARKS]
    known = [q for q in marks if q and q.get("mark") in WORDS]
    if not known:
        return None
    worst = min(known, key=lambda q: order.index(q["mark"]))
    return {"mark": worst["mark"], "words": worst["words"]}
