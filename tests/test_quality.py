"""The quality mark of a session: each problem named in plain words, worst first."""

from __future__ import annotations

import numpy as np
import pytest

from hardware.simulator.person import Gait, build_pass
from station.core.cop import cop_batch
from station.core.quality import session_quality, worst_quality
from station.session_quality import quality_inputs
from station.validation.run import STUDIO_4
from station.validation.wall import NOISY_FLOOR, REALISTIC_NOISE, _through_mat


@pytest.fixture(scope="module")
def timeline():
    return build_pass(Gait(), np.random.default_rng(3), mat_length_m=1.83)


def mark(v, **kw):
    _, x, y = cop_batch(STUDIO_4, v.forces)
    return session_quality(v.t, v.fz, x, y, v.forces, STUDIO_4, **kw)


def test_a_clean_and_a_realistic_mat_are_good_a_shaking_floor_is_noisy(timeline):
    clean = mark(_through_mat("clean", timeline, STUDIO_4, 1))
    assert clean["mark"] == "good" and clean["words"] == "good"
    assert clean["noise_n"] < 0.2
    assert mark(_through_mat("real", timeline, STUDIO_4, 1, **REALISTIC_NOISE))["mark"] == "good"
    noisy = mark(_through_mat("noisy", timeline, STUDIO_4, 1, **NOISY_FLOOR))
    assert (noisy["mark"], noisy["words"]) == ("noisy", "noisy: check the floor")


def test_lost_frames_a_stuck_cell_and_readings_off_the_mat(timeline):
    v = _through_mat("clean", timeline, STUDIO_4, 2)
    keep = np.ones(len(v.t), bool)
    keep[200:260] = False  # 60 frames lost
    _, x, y = cop_batch(STUDIO_4, v.forces)
    lost = session_quality(v.t[keep], v.fz[keep], x[keep], y[keep], v.forces[keep], STUDIO_4)
    assert lost["mark"] == "frames_lost" and lost["frames_missing"] >= 59
    stuck = v.forces.copy()
    stuck[300:400, 1] = stuck[300, 1]  # a cell clipped or frozen under load
    fz, x, y = cop_batch(STUDIO_4, stuck)
    q = session_quality(v.t, fz, x, y, stuck, STUDIO_4)
    assert q["mark"] == "cell_fault" and q["faulty_cells"] == ["c1"]
    off = session_quality(v.t, v.fz, x + 1.0, y, v.forces, STUDIO_4)
    assert off["mark"] == "off_mat"


def test_calibration_and_source_counts_from_the_runtime(timeline):
    v = _through_mat("clean", timeline, STUDIO_4, 4)
    drifted = {"calibrated": True, "age_days": 10, "gain_drift_pct": {"a": 0.3, "b": -1.6}}
    q = mark(v, calibration=drifted)
    assert (q["mark"], q["words"]) == ("recalibrate", "recalibrate the mat")
    assert q["gain_drift_pct"] == 1.6
    old = {"calibrated": True, "age_days": 400, "checked_since": False}
    assert mark(v, calibration=old)["mark"] == "recalibrate"
    assert mark(v, calibration={**old, "checked_since": True})["mark"] == "good"
    both = mark(v, calibration=drifted, source={"faulty_cells": ["c2"]})
    assert both["mark"] == "cell_fault" and both["problems"] == ["cell_fault", "recalibrate"]
    held = mark(v, source={"frames_held": len(v.t) // 10})
    assert held["mark"] == "frames_lost"


def test_runtime_inputs_count_over_the_session_only():
    start = {"frames_dropped": 5, "glitches_rejected": {"a": 1, "b": 2}, "faulty_cells": []}
    end = {
        "frames_dropped": 9,
        "glitches_rejected": {"a": 4, "b": 2},
        "faulty_cells": [],
        "calibration": {
            "calibrated": True, "calibrated_at": "2026-01-01T00:00:00.000Z",
            "checked_at": None, "needs_recalibration": False,
        },
    }  # fmt: skip
    from datetime import UTC, datetime

    got = quality_inputs(start, end, now=datetime(2026, 1, 11, tzinfo=UTC))
    assert got["source"] == {"frames_dropped": 4, "frames_held": 3, "faulty_cells": []}
    assert got["calibration"]["age_days"] == pytest.approx(10.0)
    assert quality_inputs(None, None) == {}


def test_the_worst_visit_marks_the_exercise():
    good = {"mark": "good", "words": "good"}
    noisy = {"mark": "noisy", "words": "noisy: check the floor"}
    assert worst_quality([good, noisy, None]) == noisy
    assert worst_quality([None]) is None
