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


def _balance_equations(
    mat: MatConfig, offsets: np.ndarray, placements: list[Placement]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Force and moment balance of every placement, linear in 1/gain of each cell.

    Three rows a placement (total force, moment about y, moment about x): the cells' count
    changes (times their x or y) against the mass's weight (times the spot's x or y).
    Returns the matrix, the right-hand side and each placement's weight in newtons.
    """
    xs = np.array([c.x_m for c in mat.cells])
    ys = np.array([c.y_m for c in mat.cells])
    rows, rhs = [], []
    for p in placements:
        d = p.counts - offsets
        w = p.mass_kg * G
        rows += [d, d * xs, d * ys]
        rhs += [w, w * p.spot.x_m, w * p.spot.y_m]
    weight_n = np.array([p.mass_kg * G for p in placements])
    return np.array(rows), np.array(rhs), weight_n


def fit_gains(mat: MatConfig, offsets: np.ndarray, placements: list[Placement]) -> np.ndarray:
    """Per-cell gains (counts per newton) by least squares over all placements."""
    if len(placements) < 2:
        raise CalibrationError("at least two placements are needed")
    a, rhs, _ = _balance_equations(mat, offsets, placements)
    k, *_ = np.linalg.lstsq(a, rhs, rcond=None)
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


def find_shifted_marks(
    mat: MatConfig, offsets: np.ndarray, placements: list[Placement], limit_mm: float
) -> tuple[float, float] | None:
    """(dx, dy) in metres when every mark is off by the same amount, else None.

    Marks drawn from the wrong edge, or cell positions in the config measured from another
    corner, move every placement alike: the gains cannot explain it and the single worst
    spot would be blamed wrongly. Fitted with a common shift as two extra unknowns, the
    shift stands out and the residuals collapse.
    """
    if len(placements) < 4:
        return None
    a, rhs, weight_n = _balance_equations(mat, offsets, placements)
    shift = np.zeros((len(a), 2))  # the two extra unknowns: dx, dy of every mark
    shift[1::3, 0] = -weight_n
    shift[2::3, 1] = -weight_n
    solution, *_ = np.linalg.lstsq(np.hstack([a, shift]), rhs, rcond=None)
    dx, dy = solution[-2:]
    if np.hypot(dx, dy) * 1000 <= limit_mm:
        return None
    gains = 1.0 / solution[:-2]
    shifted = [
        Placement(Spot(p.spot.label, p.spot.x_m + dx, p.spot.y_m + dy), p.mass_kg, p.counts)
        for p in placements
    ]
    worst = max(r.cop_error_mm for r in residuals(mat, offsets, gains, shifted))
    return (float(dx), float(dy)) if worst <= limit_mm / 2 else None


def cross_check(
    offsets: np.ndarray, gains: np.ndarray, counts: np.ndarray, typed_kg: float, limit: float
) -> float:
    """The second mass as the new calibration weighs it; refused beyond `limit` (0.01 = 1 %).

    A wrongly typed calibration mass scales every gain alike: the residuals cannot see it
    (22 kg typed for 20 kg passes every spot, then a 70 kg member reads 77 kg). Only a
    second, independently known mass, or the same one with its mass typed again, catches it.
    """
    measured_kg = float(((counts - offsets) / gains).sum() / G)
    apart = measured_kg / typed_kg - 1.0
    if abs(apart) > limit:
        raise CalibrationError(
            f"the cross-check disagrees: calibrated with the first mass, the mat weighs the "
            f"second at {measured_kg:.2f} kg but {typed_kg:g} kg was typed "
            f"({100 * abs(apart):.1f} % apart, more than {100 * limit:g} %): one of the typed "
            "masses is not the real one. Weigh both on a trusted scale and calibrate again"
        )
    return measured_kg


def reversed_cells_advice(names: list[str], gains: np.ndarray) -> str:
    """Words for a cell whose gain has the other sign than the rest, or '' if none.

    Identical cells mounted alike all rise (or all fall) under load; the odd one out has its
    signal wires (A+/A-) swapped. A negative gain is measured correctly, so the operator may
    also accept it.
    """
    negative = [n for n, g in zip(names, gains, strict=True) if g < 0]
    positive = [n for n in names if n not in negative]
    if not negative or not positive:
        return ""
    odd, way = (negative, "falls") if len(negative) <= len(positive) else (positive, "rises")
    which = ", ".join(odd)
    return (
        f"{which}: the reading {way} under load while the others do the opposite: its A+ and "
        "A- wires are probably swapped on the HX711 board. Swap them and calibrate again, or "
        "accept it: the station measures correctly either way"
    )


@dataclass(frozen=True)
class DriftCheck:
    """A check weight measured with the stored calibration."""

    gain_drift_pct: dict[str, float]  # per cell, the gain now against the stored one
    spots: list[Residual]  # each check placement weighed with the stored calibration
    limit_pct: float

    @property
    def worst_pct(self) -> float:
        return max(abs(v) for v in self.gain_drift_pct.values())

    @property
    def needs_recalibration(self) -> bool:
        return self.worst_pct > self.limit_pct or any(
            abs(r.mass_error_kg) > r.mass_kg * self.limit_pct / 100 for r in self.spots
        )

    def advice(self) -> str:
        if not self.needs_recalibration:
            return f"within {self.limit_pct:g} % of the calibration"
        cell, pct = max(self.gain_drift_pct.items(), key=lambda kv: abs(kv[1]))
        return (
            f"{cell} has drifted {pct:+.1f} % since calibration (limit {self.limit_pct:g} %): "
            "recalibrate the mat (balance-station calibrate)"
        )


def check_drift(
    mat: MatConfig,
    stored_gains: np.ndarray,
    offsets: np.ndarray,
    placements: list[Placement],
    limit_pct: float = 1.0,
) -> DriftCheck:
    """Per-cell gain drift since calibration, from a known mass on the marked spots."""
    gains_now = fit_gains(mat, offsets, placements)
    drift = {
        c.name: float(100 * (now / then - 1))
        for c, now, then in zip(mat.cells, gains_now, stored_gains, strict=True)
    }
    spots = residuals(mat, offsets, np.asarray(stored_gains), placements)
    return DriftCheck(drift, spots, limit_pct)
