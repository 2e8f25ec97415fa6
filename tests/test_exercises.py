"""The studio's exercises driven by the simulated member, as the kiosk will drive them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hardware.simulator.mat import SimulatedMat
from station.core.config import SimConfig
from station.core.cop import cop_batch
from station.core.exercises import start
from station.core.steps import StepDetector


def drive(exercise, mat, seconds, **sim):
    """Frames through the step detector into the exercise; the views seen along the way."""
    source = SimulatedMat(mat, SimConfig(**sim))
    t, counts = source.render(0, int(seconds * 80))
    fz, x, y = cop_batch(mat, source.calibration.to_newtons_batch(counts))
    detector = StepDetector()
    views = []
    on_mat = False
    for ti, fi, xi, yi in zip(t, fz, x, y, strict=True):
        xo = None if math.isnan(xi) else float(xi)
        yo = None if math.isnan(yi) else float(yi)
        for contact in detector.update(ti, fi, xo, yo):
            if contact.kind == "step_on" and not on_mat:
                exercise.visit_started(ti)
                on_mat = True
            exercise.contact(contact)
        if on_mat and fi < detector.cfg.min_load_n:
            on_mat = False
            exercise.visit_ended(ti)
        exercise.frame(ti, fi, xo, yo)
        view = exercise.view()
        if not views or views[-1] != view:
            views.append(view)
    return source, views


def test_backward_walk_counts_ten_paces_over_passes(mat):
    ex = start("backward_walk")
    _, views = drive(ex, mat, 50, scenario="backward", seed=4)
    assert ex.done
    counts = [v["paces"] for v in views]
    assert counts == sorted(counts) and counts[-1] == 10  # counted up, capped at the target
    assert any(v["cue"] == "3 more" for v in views) and views[-1]["cue"] == "Well done!"
    s = ex.summary()
    assert s["paces"] >= 10 and s["passes"] == 2  # 4 paces back and the feet together, twice
    assert s["step_length_m"] == pytest.approx(0.32, abs=0.04)
    assert s["cadence_steps_per_min"] == pytest.approx(90, rel=0.1)
    assert s["speed_m_per_s"] == pytest.approx(0.48, rel=0.15)
    assert s["time_for_3_m_s"] == pytest.approx(3 / s["speed_m_per_s"])


def test_head_turns_cue_each_shoulder_in_turn(mat):
    ex = start("head_turns")
    _, views = drive(ex, mat, 34, scenario="head_turns", seed=2)
    cues = [v["cue"] for v in views if "shoulder" in v["cue"]]
    assert cues[0] == "Look over your LEFT shoulder"
    assert "Look over your RIGHT shoulder" in cues
    left_until = max(v["paces"] for v in views if v.get("shoulder") == "left")
    assert left_until <= 4
    s = ex.summary()
    for side in ("left", "right"):
        assert s[f"{side}_step_width_m"] == pytest.approx(0.16, abs=0.03)
        assert s[f"{side}_lateral_sway_m"] is not None


def test_quiet_stance_eyes_open_then_closed_and_the_romberg_ratio(mat):
    ex = start("quiet_stance")
    _, views = drive(ex, mat, 72, scenario="romberg", seed=5)
    phases = [v["phase"] for v in views]
    assert phases.index("open") < phases.index("closed") < phases.index("done")
    lefts = [v["seconds_left"] for v in views if v["phase"] == "open"]
    assert lefts[0] == 30 and lefts[-1] == 1  # a countdown the member can read
    assert next(v["cue"] for v in views if v["phase"] == "closed") == (
        "Close your eyes. Stand still."
    )
    s = ex.summary()
    assert s["eyes_open"]["duration_s"] == pytest.approx(30, abs=0.5)
    # the simulated member sways 1.6 times as much with eyes closed
    assert 1.3 < s["romberg_mean_velocity"] < 2.0
    assert s["romberg_ellipse95_area"] > 1.5
    assert np.isfinite(s["eyes_closed"]["rms_ml_m"])


def test_live_view_shows_cadence_and_side_to_side_sway(mat):
    ex = start("backward_walk")
    _, views = drive(ex, mat, 30, scenario="backward", seed=6)
    walking = [v for v in views if v.get("cadence_steps_per_min")]
    assert walking and all(70 <= v["cadence_steps_per_min"] <= 110 for v in walking)
    sways = [v["lateral_sway_m"] for v in views if v.get("lateral_sway_m") is not None]
    assert sways and all(0 <= s < 0.05 for s in sways)
    assert ex.summary()["lateral_sway_m"] is not None


def test_warrior_hold_measures_the_back_foots_share_and_steadiness(mat):
    ex = start("warrior")
    _, views = drive(ex, mat, 40, scenario="warrior", seed=2)
    phases = [v["phase"] for v in views]
    for phase in ("waiting", "step_back", "hold", "done"):
        assert phase in phases
    lefts = [v["seconds_left"] for v in views if v["phase"] == "hold"]
    assert lefts[0] == 20 and lefts[-1] == 1
    s = ex.summary()
    assert s["held_s"] == pytest.approx(20, abs=0.5)
    # the simulated member puts 40 % of the weight on the back foot, 0.75 m behind
    assert s["rear_share"] == pytest.approx(0.40, abs=0.05)
    assert 0 < s["sway_velocity_m_per_s"] < 0.05
