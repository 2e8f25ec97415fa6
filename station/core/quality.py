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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

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
    noise_n: float = 1.0  # sd of the empty mat's total force; a good mat shows 0.05-0.5 N
    missing_share: float = 0.02  # frames lost or held (a glitch replaced by the last value)
    flat_s: float = 0.5  # a cell's reading identical this long under load: stuck or clipped
    drift_pct: float = 1.0  # check-weight gain drift (calibrate --check's own limit)
    calibration_age_days: float = 365.0  # older than a year with no check since: recalibrate
    off_mat_share: float = 0.01  # loaded frames with the CoP outside the platform
    off_mat_margin_m: float = 0.01
    loaded_n: float = 100.0
    idle_n: float = 20.0  # total force under this: the empty mat
    min_idle_frames: int = 40


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
    lim = limits or QualityLimits()
    t = np.asarray(t, dtype=float)
    fz = np.asarray(fz, dtype=float)
    n = len(t)
    problems: list[str] = []

    noise_n = _idle_noise_n(fz, lim)
    if noise_n is not None and noise_n > lim.noise_n:
        problems.append("noisy")

    gaps = _missing_frames(t)
    source = source or {}
    dropped = int(source.get("frames_dropped") or 0)
    held = int(source.get("frames_held") or 0)
    missing = gaps + dropped + held
    missing_share = missing / (n + gaps + dropped) if n else 0.0
    if missing_share > lim.missing_share:
        problems.append("frames_lost")

    flat = _flat_cells(t, fz, forces, mat, lim)
    faulty = sorted(set(source.get("faulty_cells") or []) | set(flat))
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

    off_share = _off_mat_share(fz, x, y, mat, lim)
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


def _idle_noise_n(fz: np.ndarray, lim: QualityLimits) -> float | None:
    """The empty mat's noise (sd of its total force, N) over its longest run of empty frames.

    Taken from frame-to-frame differences with a median (robust: the run's edges, where a
    foot comes or goes, and the mat's slow drift do not count as noise); for white noise
    the sd of a difference is sqrt(2) times the noise's.
    """
    idle = np.concatenate([[False], fz < lim.idle_n, [False]])
    edges = np.flatnonzero(np.diff(idle.astype(np.int8)))
    starts, ends = edges[::2], edges[1::2]
    if not len(starts):
        return None
    k = int(np.argmax(ends - starts))
    if ends[k] - starts[k] < lim.min_idle_frames:
        return None
    steps = np.diff(fz[starts[k] : ends[k]])
    mad = float(np.median(np.abs(steps - np.median(steps))))
    return 1.4826 * mad / np.sqrt(2.0)


def _missing_frames(t: np.ndarray) -> int:
    """Frames the clock says should be there and are not (gaps over 1.5 frame periods).

    The frame period is the recording's own median, so a stored session analysed again
    counts the same gaps as the station did live.
    """
    if len(t) < 3:
        return 0
    dt = np.diff(t)
    period = float(np.median(dt))
    if period <= 0:
        return 0
    steps = dt / period
    return int(np.sum(np.round(steps[steps > 1.5]) - 1))


def _flat_cells(
    t: np.ndarray,
    fz: np.ndarray,
    forces: np.ndarray | None,
    mat: MatConfig | None,
    lim: QualityLimits,
) -> list[str]:
    """Cells whose reading does not move at all under load: stuck, or clipped at full scale.

    A working load cell and ADC always show noise, so an identical value for half a second
    while someone stands on the mat cannot be a measurement.
    """
    if forces is None or mat is None or len(t) < 2:
        return []
    forces = np.asarray(forces, dtype=float)
    loaded = fz >= lim.loaded_n
    out = []
    for i, cell in enumerate(mat.cells):
        same = np.concatenate([[False], (np.diff(forces[:, i]) == 0) & loaded[1:], [False]])
        edges = np.flatnonzero(np.diff(same.astype(np.int8)))
        for a, b in zip(edges[::2], edges[1::2], strict=True):
            if t[b] - t[a] >= lim.flat_s:  # frames a..b hold one value
                out.append(cell.name)
                break
    return out


def _off_mat_share(
    fz: np.ndarray, x: np.ndarray, y: np.ndarray, mat: MatConfig | None, lim: QualityLimits
) -> float | None:
    """Share of loaded frames whose CoP lies outside the platform (it cannot, on a true mat)."""
    if mat is None:
        return None
    loaded = fz >= lim.loaded_n
    if not loaded.any():
        return None
    with np.errstate(invalid="ignore"):
        off = (np.abs(np.asarray(x)[loaded]) > mat.length_m / 2 + lim.off_mat_margin_m) | (
            np.abs(np.asarray(y)[loaded]) > mat.width_m / 2 + lim.off_mat_margin_m
        )
    return float(np.mean(off))


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
