"""The simulated mat behaves like a person on a real platform, deterministically."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from hardware.simulator.mat import HX711_MAX, Electronics, SimulatedMat
from station.core.config import Cell, MatConfig, SimConfig
from station.core.cop import cop_batch

G = 9.80665


def run(mat, seconds=60.0, **sim):
    source = SimulatedMat(mat, SimConfig(**sim))
    times, counts = source.render(0, int(seconds * 80))
    forces = source.calibration.to_newtons_batch(counts)
    fz, x, y = cop_batch(mat, forces)
    return source, times, fz, x, y


def test_same_seed_same_frames_other_seed_other_frames(mat):
    a = SimulatedMat(mat, SimConfig(seed=5)).render(0, 2000)
    b = SimulatedMat(mat, SimConfig(seed=5)).render(0, 2000)
    c = SimulatedMat(mat, SimConfig(seed=6)).render(0, 2000)
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


def test_realtime_and_fast_frames_are_the_same(mat):
    fast = SimulatedMat(mat, SimConfig(seed=2)).frames(realtime=False)
    rendered = SimulatedMat(mat, SimConfig(seed=2)).render(0, 8)[1]
    first = [next(fast).counts for _ in range(8)]
    np.testing.assert_array_equal(np.array(first), rendered)


def test_standing_force_is_body_weight_and_sway_is_realistic(mat):
    source, t, fz, x, y = run(mat, 70.0, scenario="stand", body_mass_kg=82.0)
    stand = next(s for s in source.segments if s.kind == "stand")
    inside = (t > stand.t_start_s + 1) & (t < stand.t_end_s - 1)
    assert np.median(fz[inside]) == pytest.approx(82.0 * G, rel=0.002)
    ap = x[inside] - x[inside].mean()
    ml = y[inside] - y[inside].mean()
    # healthy adults: a few millimetres RMS, more front-back than side to side
    assert 0.002 < np.sqrt(np.mean(ap**2)) < 0.010
    assert 0.001 < np.sqrt(np.mean(ml**2)) < np.sqrt(np.mean(ap**2))
    # the feet stand near the +x end of the mat, between them in y
    assert 0.5 < x[inside].mean() < 0.8 and abs(y[inside].mean()) < 0.03


def test_empty_mat_reads_zero_and_cop_is_undefined(mat):
    source, t, fz, x, _y = run(mat, 10.0)
    first_contact = source.contacts[0].t_s
    empty = t < first_contact - 0.5
    assert np.abs(fz[empty]).max() < 5.0
    assert np.isnan(x[empty]).all()


def test_backward_walk_truth_matches_the_cop_staircase(mat):
    source, t, _fz, x, y = run(mat, 16.0, scenario="backward")
    walk = next(s for s in source.segments if s.kind == "walk")
    steps = [
        c
        for c in source.contacts
        if c.kind in ("step", "closing") and walk.t_start_s <= c.t_s <= walk.t_end_s
    ]
    assert len(steps) >= 4
    xs = [c.x_m for c in steps]
    assert all(b < a for a, b in itertools.pairwise(xs[:-1]))  # moving towards -x
    gaps = -np.diff(xs[:-1])
    assert np.allclose(gaps, 0.32, atol=0.06)
    feet = [c.foot for c in steps[:-1]]
    assert all(a != b for a, b in itertools.pairwise(feet))  # left, right, left...
    # facing +x (walking backwards), the walker's left foot is on the +y side
    for c in steps:
        assert (c.y_m > 0) == (c.foot == "left")
    for c in steps[1:-1]:
        # mid single support after the contact: the CoP sits over the new foot
        mid = (t > c.t_s + 0.22) & (t < c.t_s + 0.30)
        assert abs(np.nanmean(y[mid]) - c.y_m) < 0.03
        assert abs(np.nanmean(x[mid]) - c.x_m) < 0.10


def test_backward_steps_roll_from_toe_to_heel(mat):
    source, t, _fz, x, _y = run(mat, 16.0, scenario="backward")
    c = [c for c in source.contacts if c.kind == "step"][1]
    single = (t > c.t_s + 0.2) & (t < c.t_s + 0.6)
    # facing +x: toes towards +x, heel towards -x, so the CoP moves to -x during stance
    assert np.polyfit(t[single], x[single], 1)[0] < -0.05


def test_forward_steps_roll_from_heel_to_toe(mat):
    source, t, _fz, x, _y = run(mat, 16.0, scenario="forward")
    c = [c for c in source.contacts if c.kind == "step"][1]
    assert c.direction == "forward"
    single = (t > c.t_s + 0.2) & (t < c.t_s + 0.6)
    # facing -x: heel at +x, toes at -x: still moving towards -x, but heel first
    assert np.polyfit(t[single], x[single], 1)[0] < -0.05
    assert (c.y_m < 0) == (c.foot == "left")  # facing -x, the left foot is on the -y side


def test_walking_bounces_the_total_force(mat):
    source, t, fz, _x, _y = run(mat, 16.0, scenario="backward", body_mass_kg=60.0)
    walk = next(s for s in source.segments if s.kind == "walk")
    inside = (t > walk.t_start_s + 1.0) & (t < walk.t_end_s - 1.0)
    assert fz[inside].max() > 1.05 * 60 * G and fz[inside].min() < 0.95 * 60 * G


def test_hand_on_the_wall_takes_weight_off_the_mat(mat):
    _, _t, fz, _, _ = run(mat, 20.0, scenario="stand", hand_on_wall_share=0.2)
    on = fz > 100
    assert np.median(fz[on]) == pytest.approx(0.8 * 70 * G, rel=0.01)


def test_head_turns_sway_more(mat):
    source = SimulatedMat(mat, SimConfig(scenario="studio"))
    times, counts = source.render(0, 80 * 60)
    _, _x, y = cop_batch(mat, source.calibration.to_newtons_batch(counts))
    walks = [s for s in source.segments if s.kind == "walk"]
    assert [w.detail for w in walks[:3]] == ["backward", "left", "right"]

    # lateral scatter around the foot square wave: compare mid-stance residual sway
    def residual(w):
        contacts = [c for c in source.contacts if w.t_start_s <= c.t_s <= w.t_end_s]
        res = []
        for c in contacts[1:-1]:
            mid = (times > c.t_s + 0.25) & (times < c.t_s + 0.45)
            res.append(np.std(y[mid]))
        return np.mean(res)

    assert residual(walks[1]) > 1.5 * residual(walks[0])


@pytest.mark.parametrize("n_cells", [3, 6])
def test_any_cell_layout_gives_the_same_body_load(n_cells):
    angles = np.linspace(0, 2 * np.pi, n_cells, endpoint=False) + 0.3
    cells = tuple(Cell(f"c{i}", 0.85 * np.cos(a), 0.28 * np.sin(a)) for i, a in enumerate(angles))
    mat = MatConfig("odd", 1.83, 0.61, cells)
    source = SimulatedMat(mat, SimConfig(seed=4))
    times, counts = source.render(0, 1600)
    fz, x, y = cop_batch(mat, source.calibration.to_newtons_batch(counts))
    true_fz, true_x, true_y = SimulatedMat(mat, SimConfig(seed=4)).body_load(times)
    loaded = true_fz > 300
    np.testing.assert_allclose(fz[loaded], true_fz[loaded], atol=3.0)
    error = np.hypot(x[loaded] - true_x[loaded], y[loaded] - true_y[loaded])
    assert np.median(error) < 0.0015 and error.max() < 0.006  # noise and drift, no bias


def test_counts_saturate_like_the_hx711():
    rng = np.random.default_rng(0)
    e = Electronics.random(4, rng)
    e = dataclasses.replace(e, gains=np.abs(e.gains))
    counts = e.counts(np.full((3, 4), 10_000.0), np.full(3, 0.0125), rng)
    assert (counts == HX711_MAX).all()


def test_frame_timing_is_80_per_second_with_a_real_clocks_jitter(mat):
    times = SimulatedMat(mat, SimConfig()).sample_times(0, 8000)
    dt = np.diff(times)
    assert (dt > 0).all()  # never out of order
    # over 100 s the rate is exact: the jitter of each frame does not accumulate
    assert times[-1] - times[0] == pytest.approx(7999 / 80, abs=0.004)
    # frame to frame, a few tenths of a millisecond of scatter (ADC and kernel scheduling)
    assert 0.3e-3 < dt.std() < 1.0e-3
