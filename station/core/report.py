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
from .quality import IDLE_N, MIN_IDLE_FRAMES, QualityLimits, session_quality
from .steps import StepConfig, StepDetector, detect_steps
from .support import SupportConfig, support_report
from .sway import cop_noise, empty_sway, sway_metrics
from .thresholds import ON_MAT_N

# Path length grows with noise; human sway lives below 5 Hz, the published reference data
# keep all of it up to 50 Hz: 13 Hz keeps what an 80 frames/s mat can see of it, the mat's
# own noise is then taken out of the path (docs/validation.md).
SWAY_FILTER_HZ = 13.0
MIN_STANDING_S = 5.0


def excluded_intervals(detector: StepDetector) -> list[tuple[float, float]]:
    """Times (s) around steps and weight shifts: whatever else they are, not quiet standing."""
    out = []
    for c in detector.contacts:
        end = c.t_plateau_start_s if not math.isnan(c.t_plateau_start_s) else c.t_s + 0.6
        out.append((c.t_s - 0.3, end + 0.3))
    out += [(start - 0.3, end + 0.3) for start, end in detector.shifts]
    return out


def quiet_frames(
    t: np.ndarray, fz: np.ndarray, body_weight_n: float, excluded: list[tuple[float, float]]
) -> np.ndarray:
    """Frames of quiet standing: full weight on the mat, outside every excluded interval."""
    quiet = fz >= 0.85 * body_weight_n
    for start, end in excluded:
        if start <= t[-1] and end >= t[0]:
            quiet &= ~((t >= start) & (t <= end))
    return quiet


class LongestRun:
    """The longest run of consecutive flagged frames, fed in order a chunk at a time.

    A run's length is measured on `at` (times: its duration; frame indices: its frame count
    less one); the first of equally long runs wins. `best` is (first, end) frame indices.
    """

    def __init__(self) -> None:
        self.best: tuple[int, int] | None = None
        self.best_length = -math.inf
        self._frames = 0
        self._open: tuple[int, float] | None = None  # a run reaching the end of the last chunk
        self._open_last = 0.0

    def feed(self, flags: np.ndarray, at: np.ndarray) -> None:
        n = len(flags)
        if n == 0:
            return
        if self._open is not None and not flags[0]:
            self._close(*self._open, self._frames, self._open_last)
            self._open = None
        edges = np.diff(np.concatenate(([0], np.asarray(flags, dtype=np.int8), [0])))
        starts = np.flatnonzero(edges == 1).tolist()
        ends = np.flatnonzero(edges == -1).tolist()
        for s, e in zip(starts, ends, strict=True):
            if s == 0 and self._open is not None:
                begin = self._open
            else:
                begin = (self._frames + s, float(at[s]))
            if e == n:
                self._open, self._open_last = begin, float(at[n - 1])
            else:
                self._open = None
                self._close(*begin, self._frames + e, float(at[e - 1]))
        self._frames += n

    def finish(self) -> tuple[int, int] | None:
        if self._open is not None:
            self._close(*self._open, self._frames, self._open_last)
            self._open = None
        return self.best

    def _close(self, first: int, first_at: float, end: int, last_at: float) -> None:
        if last_at - first_at > self.best_length:
            self.best, self.best_length = (first, end), last_at - first_at


def standing_interval(
    t: np.ndarray, fz: np.ndarray, detector: StepDetector, body_weight_n: float
) -> tuple[int, int] | None:
    """The longest stretch of quiet standing: full weight on the mat, no step, no transfer."""
    if body_weight_n <= 0 or not len(t):
        return None
    run = LongestRun()
    run.feed(quiet_frames(t, fz, body_weight_n, excluded_intervals(detector)), t)
    best = run.finish()
    return best if best is not None and run.best_length >= MIN_STANDING_S else None


def analyse(
    t: np.ndarray,
    forces: np.ndarray,
    mat: MatConfig,
    *,
    expected_direction: str = "backward",
    step_config: StepConfig | None = None,
    support_config: SupportConfig | None = None,
    quality_limits: QualityLimits | None = None,
    standing_weight_n: float | None = None,
) -> dict[str, Any]:
    t = np.asarray(t, dtype=float)
    forces = np.asarray(forces, dtype=float)
    fz, x, y = cop_batch(mat, forces)
    detector = detect_steps(t, fz, x, y, step_config)
    return build_report(
        t, fz, x, y, detector, expected_direction, forces=forces, mat=mat,
        support_config=support_config, quality_limits=quality_limits,
        standing_weight_n=standing_weight_n,
    )  # fmt: skip


def idle_noise(
    t: np.ndarray, fz: np.ndarray, forces: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray] | None:
    """The longest run of empty-mat frames (times, per-cell forces), if long enough."""
    if forces is None or len(forces) != len(t):
        return None
    run = LongestRun()
    run.feed(fz < IDLE_N, np.arange(len(t), dtype=float))
    best = run.finish()
    if best is None or best[1] - best[0] < MIN_IDLE_FRAMES:
        return None
    a, b = best
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
    station: dict[str, Any] | None = None,
    support_config: SupportConfig | None = None,
    quality_limits: QualityLimits | None = None,
    standing_weight_n: float | None = None,
) -> dict[str, Any]:
    """The report; with the per-cell forces and the mat, sway path is noise-corrected.

    `station`: what the running station knows beyond the frames, for the quality mark
    (`calibration`, `source`: see quality.session_quality). `support_config` and
    `quality_limits`: the config's `[support]` and `[quality]`; `standing_weight_n`: the
    member's reference weight for the hand on the wall (None: a guest).
    """
    n = len(t)
    on = fz >= ON_MAT_N
    body_weight = float(np.median(fz[on])) if on.any() else 0.0
    standing = standing_interval(t, fz, detector, body_weight)
    if standing is not None:
        a, b = standing
        idle = idle_noise(t, fz, forces)
        sway = standing_sway(t[a:b], x[a:b], y[a:b], fz[a:b], float(t[0]), idle, mat)
    else:
        sway = {**empty_sway(), "t_start_s": None}
    return report_json(
        t0_s=float(t[0]),
        duration_s=float(t[-1] - t[0]) if n > 1 else 0.0,
        frame_count=n,
        body_weight_n=body_weight,
        detector=detector,
        expected_direction=expected_direction,
        sway=sway,
        on_mat_s=float(np.sum(np.diff(t)[on[1:]])) if n > 1 else 0.0,
        support=support_report(t, fz, support_config, standing_weight_n),
        quality=session_quality(t, fz, x, y, forces, mat, limits=quality_limits, **(station or {})),
    )


def standing_sway(
    t: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    fz: np.ndarray,
    t0_s: float,
    idle: tuple[np.ndarray, np.ndarray] | None,
    mat: MatConfig | None,
) -> dict[str, Any]:
    """Sway of the quiet-standing frames; the empty mat's frames (`idle`) take out its noise."""
    noise = None
    if idle is not None and mat is not None:
        cells = np.array([[c.x_m, c.y_m] for c in mat.cells])
        cop = (float(np.nanmean(x)), float(np.nanmean(y)))
        noise = cop_noise(*idle, cells, float(np.median(fz)), cop, SWAY_FILTER_HZ)
    sway = sway_metrics(t, x, y, filter_hz=SWAY_FILTER_HZ, noise=noise)
    sway["t_start_s"] = float(t[0] - t0_s)
    return sway


def report_json(
    *,
    t0_s: float,
    duration_s: float,
    frame_count: int,
    body_weight_n: float,
    detector: StepDetector,
    expected_direction: str,
    sway: dict[str, Any],
    on_mat_s: float,
    support: dict[str, Any],
    quality: dict[str, Any],
) -> dict[str, Any]:
    """The report JSON of docs/design.md from what the whole recording gave."""
    passes, direction = analyse_walking(detector.visits, expected_direction)
    gait = gait_metrics(passes) if passes else empty_gait()
    steps = [
        {
            "t_s": round(c.t_s - t0_s, 4),
            "x_m": round(c.x_m, 4),
            "y_m": round(c.y_m, 4),
            "foot": c.foot,
        }
        for c in detector.contacts
    ]
    return {
        "duration_s": round(duration_s, 4),
        "sample_rate_hz": round((frame_count - 1) / duration_s, 3) if duration_s > 0 else 0.0,
        "body_weight_n": round(body_weight_n, 2),
        "direction": direction,
        "steps": steps,
        "gait": _rounded(gait),
        "sway": _rounded(sway),
        "passes": [
            {
                "direction": p.direction,
                "direction_confidence": p.confidence,
                "steps": len(p.contacts),
                "t_start_s": round(p.contacts[0].t_s - t0_s, 4),
            }
            for p in passes
        ],
        "on_mat_s": round(on_mat_s, 3),
        "frame_count": frame_count,
        "support": support,
        "quality": quality,
    }


def _rounded(d: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        if isinstance(v, float):
            out[k] = None if math.isnan(v) else round(v, 6)
        else:
            out[k] = v
    return out
