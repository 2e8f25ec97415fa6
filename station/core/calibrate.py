"""Calibration maths: tare, per-cell gains from known masses, and the checks on the result.

Procedure (docs/design.md): the empty mat gives each cell's offset (tare); then known masses on
marked spots give the gains by least squares. For a load of weight W at (X, Y) the cells must
hold W and its two moments:

    sum_i k_i d_i = W,   sum_i k_i d_i x_i = W X,   sum_i k_i d_i y_i = W Y

with d_i the cell's counts above its offset and k_i = 1 / gain_i (newtons per count): three
equations per placement, linear in the k_i. Five placements (centre and corners) give
fifteen equations for four (or six) unknowns. What the fit cannot explain shows up as
residuals: a mass put on the wrong spot or a load that moved is caught there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import MatConfig

G = 9.80665


class CalibrationError(ValueError):
    """A calibration step that cannot be used, worded for the operator."""


@dataclass(frozen=True)
class Spot:
    label: str
    x_m: float
    y_m: float


@dataclass(frozen=True)
class Placement:
    spot: Spot
    mass_kg: float
    counts: np.ndarray  # mean counts per cell while the mass lay there


@dataclass(frozen=True)
class Limits:
    """Pass limits of the corner-load check (per marked spot)."""

    mass_error_kg: float = 0.05
    cop_error_mm: float = 2.0
    stable_rel: float = 0.002  # capture is refused if the load wanders more than this
    misplaced_mm: float = 8.0  # a residual this large: the mass was not on its mark


def standard_spots(mat: MatConfig, inset_m: float = 0.25) -> list[Spot]:
    """Centre, the four corners (inset from the edge) and the middle of each long edge."""
    hx = mat.length_m / 2 - inset_m
    hy = mat.width_m / 2 - min(inset_m, mat.width_m / 4)
    return [
        Spot("centre", 0.0, 0.0),
        Spot("front left corner", hx, hy),
        Spot("front right corner", hx, -hy),
        Spot("back right corner", -hx, -hy),
        Spot("back left corner", -hx, hy),
        Spot("left edge middle", 0.0, hy),
        Spot("right edge middle", 0.0, -hy),
    ]


def tare(counts: np.ndarray, max_sd_counts: float = 400.0) -> np.ndarray:
    """Offsets from a capture of the empty mat, refused if anything moved on it.

    400 counts is about 0.1 N: ten times the HX711's noise, far below a touch.
    """
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 2 or len(counts) < 10:
        raise CalibrationError("too few readings: keep the mat clear for two seconds")
    spread = counts.std(axis=0)
    if np.any(spread > max_sd_counts):
        worst = int(np.argmax(spread))
        raise CalibrationError(
            f"the mat is not still (cell {worst + 1} wanders by {spread[worst]:.0f} counts): "
            "clear it, keep off it and try again"
        )
    return counts.mean(axis=0)


def check_still(counts: np.ndarray, offsets: np.ndarray, stable_rel: float) -> np.ndarray:
    """Mean counts of a loaded capture; refused if the total load moved (someone touching)."""
    counts = np.asarray(counts, dtype=float)
    if len(counts) < 10:
        raise CalibrationError("too few readings: hold still for two seconds")
    load = np.abs(counts - offsets).sum(axis=1)
    level = load.mean()
    wander = load.std() / level if level > 0 else float("inf")
    if wander > stable_rel:
        raise CalibrationError(
            f"the load moved while it was measured ({100 * wander:.2f} % of it): "
            "let it settle, hands off, and try again"
        )
    return counts.mean(axis=0)


def fit_gains(mat: MatConfig, offsets: np.ndarray, placements: list[Placement]) -> np.ndarray:
    """Per-cell gains (counts per newton) by least squares over all placements."""
    if len(placements) < 2:
        raise CalibrationError("at least two placements are needed")
    xs = np.array([c.x_m for c in mat.cells])
    ys = np.array([c.y_m for c in mat.cells])
    rows, rhs = [], []
    for p in placements:
        d = p.counts - offsets
        w = p.mass_kg * G
        rows += [d, d * xs, d * ys]
        rhs += [w, w * p.spot.x_m, w * p.spot.y_m]
    a = np.array(rows)
    k, *_ = np.linalg.lstsq(a, np.array(rhs), rcond=None)
    if np.any(np.abs(k) < 1e-12):
        raise CalibrationError("a cell did not respond to any load: check its wiring")
    return 1.0 / k


@dataclass(frozen=True)
class Residual:
    label: str
    mass_kg: float
    mass_error_kg: float
    cop_error_mm: float


def residuals(
    mat: MatConfig, offsets: np.ndarray, gains: np.ndarray, placements: list[Placement]
) -> list[Residual]:
    xs = np.array([c.x_m for c in mat.cells])
    ys = np.array([c.y_m for c in mat.cells])
    out = []
    for p in placements:
        f = (p.counts - offsets) / gains
        fz = f.sum()
        x = (f @ xs) / fz
        y = (f @ ys) / fz
        err = float(np.hypot(x - p.spot.x_m, y - p.spot.y_m)) * 1000.0
        out.append(Residual(p.spot.label, p.mass_kg, fz / G - p.mass_kg, err))
    return out


def find_misplaced(
    mat: MatConfig, offsets: np.ndarray, placements: list[Placement], limit_mm: float
) -> str | None:
    """The spot whose mass was not on its mark, if any: left out, the others fit well."""
    gains = fit_gains(mat, offsets, placements)
    res = residuals(mat, offsets, gains, placements)
    worst = max(res, key=lambda r: r.cop_error_mm)
    if worst.cop_error_mm <= limit_mm or len(placements) < 4:
        return None
    others = [p for p in placements if p.spot.label != worst.label]
    gains_wo = fit_gains(mat, offsets, others)
    check = residuals(
        mat, offsets, gains_wo, [p for p in placements if p.spot.label == worst.label]
    )
    return worst.label if check[0].cop_error_mm > limit_mm else None


def corner_check(res: list[Residual], limits: Limits) -> tuple[bool, list[str]]:
    """Pass or fail against the stated limits, with one line per failure."""
    failures = [
        f"{r.label}: {r.mass_error_kg:+.3f} kg, {r.cop_error_mm:.1f} mm"
        for r in res
        if abs(r.mass_error_kg) > limits.mass_error_kg or r.cop_error_mm > limits.cop_error_mm
    ]
    return not failures, failures
