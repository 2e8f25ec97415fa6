"""The report of one recording or session: docs/design.md's JSON, from forces to metrics.

The live station and the offline `analyze` both call analyse(); the step detector inside is
the streaming one, run frame by frame, so a stored session re-analysed gives the same report.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .config import MatConfig
from .cop import cop_batch
from .gait import analyse_walking, empty_gait, gait_metrics
from .steps import StepConfig, StepDetector, detect_steps
from .sway import empty_sway, sway_metrics

SWAY_FILTER_HZ = 12.0  # path length grows with noise; human sway lives below 5 Hz
MIN_STANDING_S = 5.0
ON_MAT_N = 100.0


def standing_interval(
    t: np.ndarray, fz: np.ndarray, detector: StepDetector, body_weight_n: float
) -> tuple[int, int] | None:
    """The longest stretch of quiet standing: full weight on the mat, no step, no transfer."""
    if body_weight_n <= 0:
        return None
    quiet = fz >= 0.85 * body_weight_n
    for c in detector.contacts:
        start = c.t_s - 0.3
        end = c.t_plateau_start_s if not math.isnan(c.t_plateau_start_s) else c.t_s + 0.6
        quiet &= ~((t >= start) & (t <= end + 0.3))
    for start, end in detector.shifts:
        quiet &= ~((t >= start - 0.3) & (t <= end + 0.3))
    best: tuple[int, int] | None = None
    run_start = None
    for i, q in enumerate(np.append(quiet, False)):
        if q and run_start is None:
            run_start = i
        elif not q and run_start is not None:
            if best is None or t[i - 1] - t[run_start] > t[best[1] - 1] - t[best[0]]:
                best = (run_start, i)
            run_start = None
    if best is None or t[best[1] - 1] - t[best[0]] < MIN_STANDING_S:
        return None
    return best


def analyse(
    t: np.ndarray,
    forces: np.ndarray,
    mat: MatConfig,
    *,
    expected_direction: str = "backward",
    step_config: StepConfig | None = None,
) -> dict[str, Any]:
    t = np.asarray(t, dtype=float)
    forces = np.asarray(forces, dtype=float)
    fz, x, y = cop_batch(mat, forces)
    detector = detect_steps(t, fz, x, y, step_config)
    return build_report(t, fz, x, y, detector, expected_direction)


def build_report(
    t: np.ndarray,
    fz: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    detector: StepDetector,
    expected_direction: str = "backward",
) -> dict[str, Any]:
    n = len(t)
    duration = float(t[-1] - t[0]) if n > 1 else 0.0
    on = fz >= ON_MAT_N
    body_weight = float(np.median(fz[on])) if on.any() else 0.0
    passes, direction = analyse_walking(detector.visits, expected_direction)
    gait = gait_metrics(passes) if passes else empty_gait()
    standing = standing_interval(t, fz, detector, body_weight)
    if standing is not None:
        a, b = standing
        sway = sway_metrics(t[a:b], x[a:b], y[a:b], filter_hz=SWAY_FILTER_HZ)
        sway["t_start_s"] = float(t[a] - t[0])
    else:
        sway = empty_sway()
        sway["t_start_s"] = None
    steps = [
        {
            "t_s": round(c.t_s - float(t[0]), 4),
            "x_m": round(c.x_m, 4),
            "y_m": round(c.y_m, 4),
            "foot": c.foot,
        }
        for c in detector.contacts
    ]
    return {
        "duration_s": round(duration, 4),
        "sample_rate_hz": round((n - 1) / duration, 3) if duration > 0 else 0.0,
        "body_weight_n": round(body_weight, 2),
        "direction": direction,
        "steps": steps,
        "gait": _rounded(gait),
        "sway": _rounded(sway),
        "passes": [
            {
                "direction": p.direction,
                "steps": len(p.contacts),
                "t_start_s": round(p.contacts[0].t_s - float(t[0]), 4),
            }
            for p in passes
        ],
        "on_mat_s": round(float(np.sum(np.diff(t)[on[1:]])) if n > 1 else 0.0, 3),
        "frame_count": n,
    }


def _rounded(d: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        if isinstance(v, float):
            out[k] = None if math.isnan(v) else round(v, 6)
        else:
            out[k] = v
    return out
