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
from .sway import cop_noise, empty_sway, sway_metrics
from .thresholds import EMPTY_MAT_N, ON_MAT_N

# Path length grows with noise; human sway lives below 5 Hz, the published reference data
# keep all of it up to 50 Hz: 13 Hz keeps what an 80 frames/s mat can see of it, the mat's
# own noise is then taken out of the path (docs/validation.md).
SWAY_FILTER_HZ = 13.0
IDLE_N = EMPTY_MAT_N  # total force under this: nobody on the mat, the frames show its own noise
MIN_IDLE_FRAMES = 40
MIN_STANDING_S = 5.0


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
    return build_report(t, fz, x, y, detector, expected_direction, forces=forces, mat=mat)


def idle_noise(
    t: np.ndarray, fz: np.ndarray, forces: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray] | None:
    """The longest run of empty-mat frames (times, per-cell forces), if long enough."""
    if forces is None or len(forces) != len(t):
        return None
    idle = np.append(fz < IDLE_N, False)
    best, start = (0, 0), None
    for i, empty in enumerate(idle):
        if empty and start is None:
            start = i
        elif not empty and start is not None:
            if i - start > best[1] - best[0]:
                best = (start, i)
            start = None
    a, b = best
    if b - a < MIN_IDLE_FRAMES:
        return None
    return t[a:b], forces[a:b]


def build_report(
    t: np.ndarray,
    fz: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    detector: StepDetector,
    expected_direction: str = "backward",
    *,
    forces: np.ndarray | None = None,
    mat: MatConfig | None = None,
) -> dict[str, Any]:
    """The report; with the per-cell forces and the mat, sway path is noise-corrected."""
    n = len(t)
    duration = float(t[-1] - t[0]) if n > 1 else 0.0
    on = fz >= ON_MAT_N
    body_weight = float(np.median(fz[on])) if on.any() else 0.0
    passes, direction = analyse_walking(detector.visits, expected_direction)
    gait = gait_metrics(passes) if passes else empty_gait()
    standing = standing_interval(t, fz, detector, body_weight)
    if standing is not None:
        a, b = standing
        noise = None
        idle = idle_noise(t, fz, forces)
        if idle is not None and mat is not None:
            cells = np.array([[c.x_m, c.y_m] for c in mat.cells])
            cop = (float(np.nanmean(x[a:b])), float(np.nanmean(y[a:b])))
            load = float(np.median(fz[a:b]))
            noise = cop_noise(*idle, cells, load, cop, SWAY_FILTER_HZ)
        sway = sway_metrics(t[a:b], x[a:b], y[a:b], filter_hz=SWAY_FILTER_HZ, noise=noise)
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
                "direction_confidence": p.confidence,
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
