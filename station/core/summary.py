"""The summary stored with every session: what was recorded, and the member's weight."""

from __future__ import annotations

from typing import Any

import numpy as np


def summarize(t: np.ndarray, fz: np.ndarray, on_threshold_n: float) -> dict[str, Any]:
    """Duration, sample rate and body weight of one session.

    Body weight is the median total force while someone is on the mat: the median shrugs
    off stepping on and off and the vertical bounce of walking.
    """
    t = np.asarray(t, dtype=float)
    fz = np.asarray(fz, dtype=float)
    n = len(t)
    duration = float(t[-1] - t[0]) if n > 1 else 0.0
    on = fz >= on_threshold_n
    on_mat_s = float(np.sum(np.diff(t)[on[1:]])) if n > 1 else 0.0
    return {
        "duration_s": round(duration, 4),
        "sample_rate_hz": round((n - 1) / duration, 3) if duration > 0 else 0.0,
        "body_weight_n": round(float(np.median(fz[on])), 2) if on.any() else 0.0,
        "frame_count": n,
        "on_mat_s": round(on_mat_s, 3),
    }
