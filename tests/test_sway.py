"""Sway metrics: the maths on known signals, and the published values reproduced."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from station.core.sway import ellipse95_area, f_ppf_2, lowpass, sway_metrics
from station.validation.datasets import load_bds, load_pds
from station.validation.run import default_data_dir

DATA = default_data_dir()


@pytest.mark.parametrize(("d2", "expected"), [(10, 4.102821), (100, 3.087296), (5998, 2.997)])
def test_f_quantile_matches_tables(d2, expected):
    assert f_ppf_2(0.95, d2) == pytest.approx(expected, rel=1e-4)


def test_ellipse_of_a_gaussian_cloud():
    rng = np.random.default_rng(1)
    x = rng.normal(0, 0.004, 200_000)
    y = rng.normal(0, 0.002, 200_000)
    # 95 % of a 2-D normal lies inside chi2(0.95, 2) = 5.991 Mahalanobis units squared
    assert ellipse95_area(x, y) == pytest.approx(math.pi * 5.991 * 0.004 * 0.002, rel=0.01)


def test_path_velocity_range_and_rms_of_a_circle():
    fs = 100.0
    t = np.arange(6000) / fs
    r = 0.01
    x = r * np.cos(2 * np.pi * 0.25 * t)
    y = r * np.sin(2 * np.pi * 0.25 * t)
    m = sway_metrics(t, x, y)
    assert m["path_length_m"] == pytest.approx(2 * np.pi * r * 0.25 * 60, rel=1e-3)
    assert m["mean_velocity_m_per_s"] == pytest.approx(2 * np.pi * r * 0.25, rel=2e-3)
    assert m["rms_ap_m"] == pytest.approx(r / math.sqrt(2), rel=1e-3)
    assert m["range_ml_m"] == pytest.approx(2 * r, rel=1e-3)
    assert m["mean_frequency_hz"] == pytest.approx(0.25, rel=0.05)
    assert m["f50_hz"] == pytest.approx(0.25, abs=0.04)


def test_lowpass_keeps_sway_and_removes_noise():
    fs = 80.0
    t = np.arange(4000) / fs
    slow = np.sin(2 * np.pi * 1.0 * t)
    fast = np.sin(2 * np.pi * 30.0 * t)
    out = lowpass(slow + fast, fs, 12.0)
    inner = slice(200, -200)
    assert np.std(out[inner] - slow[inner]) < 0.08  # 30 Hz down by more than 20 dB
    assert np.corrcoef(out[inner], slow[inner])[0, 1] > 0.995


def test_too_little_data_gives_empty_metrics():
    m = sway_metrics(np.arange(5) / 80, np.zeros(5), np.zeros(5))
    assert m["ellipse95_area_m2"] is None and m["path_length_m"] is None


@pytest.mark.parametrize(
    ("loader", "folder"),
    [(load_pds, "standing_two_plates_pds"), (load_bds, "standing_one_plate_bds")],
)
def test_published_values_are_reproduced_from_the_published_cop(loader, folder):
    for rec in loader(Path(DATA) / folder):
        m = sway_metrics(rec.t, rec.x, rec.y)
        p = rec.published
        assert m["ellipse95_area_m2"] * 1e4 == pytest.approx(p["area_cm2"], rel=1e-6), rec.name
        assert m["mean_velocity_m_per_s"] * 100 == pytest.approx(p["velo_cm_s"], rel=1e-6)
        assert m["mean_frequency_hz"] == pytest.approx(p["mfreq_hz"], rel=0.01), rec.name


def test_running_sway_agrees_with_the_report(mat):
    from hardware.simulator.mat import SimulatedMat
    from station.core.config import SimConfig
    from station.core.cop import cop_batch
    from station.core.sway import RunningSway

    source = SimulatedMat(mat, SimConfig(scenario="stand", seed=2))
    t, counts = source.render(0, 80 * 60)
    _, x, y = cop_batch(mat, source.calibration.to_newtons_batch(counts))
    stand = next(s for s in source.segments if s.kind == "stand")
    inside = (t > stand.t_start_s + 1) & (t < stand.t_end_s - 1)
    live = RunningSway()
    for ti, xi, yi in zip(t[inside], x[inside], y[inside], strict=True):
        live.update(ti, xi, yi)
    offline = sway_metrics(t[inside], x[inside], y[inside], filter_hz=12.0)
    assert live.mean_velocity_m_per_s == pytest.approx(offline["mean_velocity_m_per_s"], rel=0.05)
    assert live.rms(0) == pytest.approx(offline["rms_ap_m"], rel=0.02)
    assert live.rms(1) == pytest.approx(offline["rms_ml_m"], rel=0.02)
