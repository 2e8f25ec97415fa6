"""The report of a recording file of any length, in memory that does not grow with it.

`analyse()` (station/core/report.py) takes the whole recording as arrays: 8 numbers per
frame and more for its intermediates, about 370 MB for a 4-hour file. Here the file is read
in chunks, three times, and only what the report needs is kept between chunks:

1. steps and a hand on the wall (the live station's streaming detectors, fed frame by
   frame), the body weight (an exact median from counts of the total force in millinewtons:
   as many entries as distinct weights, not frames), duration, time on the mat, the quality
   mark's measures, and where the longest empty-mat stretch is;
2. where the longest quiet-standing stretch is (it needs every step and the body weight),
   and the forces of the empty-mat stretch (the mat's own noise);
3. the centre of pressure over the standing stretch, for the sway metrics.

What is held is one chunk, the steps, and the two stretches the sway metrics are computed
from. The report is the one `analyse()` gives (tests/test_analyze.py checks both agree).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from station.core.config import MatConfig
from station.core.cop import cop_batch
from station.core.quality import QualityLimits, QualityMeter, median_of_counts
from station.core.recording import recording_chunks
from station.core.report import (
    IDLE_N,
    MIN_IDLE_FRAMES,
    MIN_STANDING_S,
    ON_MAT_N,
    LongestRun,
    excluded_intervals,
    quiet_frames,
    report_json,
    standing_sway,
)
from station.core.steps import StepConfig, StepDetector
from station.core.support import SupportConfig, SupportDetector
from station.core.sway import empty_sway

CHUNK_FRAMES = 8192  # about 100 s at 80 frames/s: well under 1 MB of numbers per chunk
MILLINEWTONS = 1000  # recordings keep forces to 1 mN; weights are counted at that resolution


def analyse_file(
    path: str | Path,
    mat: MatConfig,
    *,
    expected_direction: str = "backward",
    step_config: StepConfig | None = None,
    support_config: SupportConfig | None = None,
    quality_limits: QualityLimits | None = None,
    standing_weight_n: float | None = None,
    chunk_frames: int = CHUNK_FRAMES,
) -> dict[str, Any]:
    """The report of a recording CSV; raises RecordingError for a file that cannot be used.

    The thresholds and the reference weight are analyse()'s (station/core/report.py)."""

    def chunks() -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        for _, t, forces in recording_chunks(path, mat.cell_names, chunk_frames):
            yield (t, forces, *cop_batch(mat, forces))

    # 1. steps, body weight, duration, time on the mat, the empty-mat stretch
    detector = StepDetector(step_config)
    support = SupportDetector(support_config, standing_weight_n)
    quality = QualityMeter(mat, quality_limits)
    weights: Counter[int] = Counter()
    empty = LongestRun()
    frames = 0
    t_last = 0.0
    on_mat_s = 0.0
    compacted = 0  # visits whose steps are compacted
    for t, forces, fz, x, y in chunks():
        for ti, fi, xi, yi in zip(t.tolist(), fz.tolist(), x.tolist(), y.tolist(), strict=True):
            detector.update(ti, fi, None if math.isnan(xi) else xi, None if math.isnan(yi) else yi)
            support.update(ti, fi)
        quality.feed(t, fz, x, y, forces)
        compacted = _compact_finished_visits(detector, compacted)
        on = fz >= ON_MAT_N
        mn, counts = np.unique(np.round(fz[on] * MILLINEWTONS).astype(np.int64), return_counts=True)
        weights.update(dict(zip(mn.tolist(), counts.tolist(), strict=True)))
        gaps = np.diff(t, prepend=t[0] if frames == 0 else t_last)  # to the frame before
        on_mat_s += float(np.sum(gaps[on]))
        empty.feed(fz < IDLE_N, np.arange(frames, frames + len(t), dtype=float))
        frames += len(t)
        t_last = float(t[-1])
    detector.finish()
    body_weight = median_of_counts(weights) / MILLINEWTONS

    # 2. the quiet-standing stretch, and the empty mat's per-cell forces
    idle_at = empty.finish()
    if idle_at is not None and idle_at[1] - idle_at[0] < MIN_IDLE_FRAMES:
        idle_at = None
    standing = LongestRun()
    excluded = excluded_intervals(detector)
    idle_t: list[np.ndarray] = []
    idle_forces: list[np.ndarray] = []
    idle_fz: list[np.ndarray] = []
    first = 0
    if body_weight > 0 or idle_at is not None:
        for t, forces, fz, _, _ in chunks():
            if body_weight > 0:
                standing.feed(quiet_frames(t, fz, body_weight, excluded), t)
            if idle_at is not None:
                part = _within(first, len(t), idle_at)
                idle_t.append(t[part].copy())  # a copy: a view would keep the whole chunk
                idle_forces.append(forces[part].copy())
                idle_fz.append(fz[part].copy())
            first += len(t)
    standing_at = standing.finish()
    if standing_at is None or standing.best_length < MIN_STANDING_S:
        sway = {**empty_sway(), "t_start_s": None}
    else:
        # 3. the centre of pressure while standing
        kept: list[list[np.ndarray]] = [[], [], [], []]
        first = 0
        for t, _, fz, x, y in chunks():
            part = _within(first, len(t), standing_at)
            for column, values in zip(kept, (t, x, y, fz), strict=True):
                column.append(values[part].copy())
            first += len(t)
            if first >= standing_at[1]:
                break
        idle = None
        if idle_at is not None:
            idle = (np.concatenate(idle_t), np.concatenate(idle_forces))
        t_s, x_m, y_m, fz_n = (np.concatenate(column) for column in kept)
        sway = standing_sway(t_s, x_m, y_m, fz_n, 0.0, idle, mat)
    return report_json(
        t0_s=0.0,
        duration_s=t_last if frames > 1 else 0.0,
        frame_count=frames,
        body_weight_n=body_weight,
        detector=detector,
        expected_direction=expected_direction,
        sway=sway,
        on_mat_s=on_mat_s if frames > 1 else 0.0,
        support=support.summary(),
        quality=quality.mark(np.concatenate(idle_fz) if idle_at is not None else None),
    )


def _compact_finished_visits(detector: StepDetector, done: int) -> int:
    """The CoP points of each step of a finished visit as one array (24 bytes a point, not
    about 140 as tuples): the same numbers for the walking metrics, a sixth of the memory.

    The detector no longer looks at a visit once it has ended, only the report does.
    """
    for visit in detector.visits[done:]:
        for contact in visit:
            contact.plateau_xy = np.asarray(contact.plateau_xy, dtype=float).reshape(-1, 3)
    return len(detector.visits)


def _within(first: int, count: int, span: tuple[int, int]) -> slice:
    """The part of a chunk (frames first .. first+count) inside span (first, end) of the file."""
    start = min(max(span[0] - first, 0), count)
    return slice(start, min(max(span[1] - first, start), count))
