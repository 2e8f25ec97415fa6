"""Calibration: tare and known masses through the emulated HX711 path, the checks, the store."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from hardware.hx711_source import build_emulated
from station.core.calibrate import (
    CalibrationError,
    Limits,
    Placement,
    check_still,
    corner_check,
    find_misplaced,
    fit_gains,
    residuals,
    standard_spots,
    tare,
)
from station.store import latest_calibration, open_database, save_calibration

from .conftest import REPO


def capture(frames, n=60):
    for _ in range(20):  # the load settles after it is put down
        next(frames)
    return np.array([next(frames).counts for _ in range(n)])


@pytest.fixture
def emulated(config):
    source = build_emulated(config)
    source.zero = None
    source.inputs.loads = []
    return source, source.frames()


def calibrate_through_the_chips(config, source, frames, misplace=None, mass=20.0):
    offsets = tare(capture(frames))
    placements = []
    for spot in standard_spots(config.mat)[:5]:
        dx = 0.05 if spot.label == misplace else 0.0
        source.inputs.loads = [(mass, spot.x_m + dx, spot.y_m)]
        mean = check_still(capture(frames), offsets, Limits().stable_rel)
        placements.append(Placement(spot, mass, mean))
    source.inputs.loads = []
    return offsets, placements


def test_gains_recovered_within_a_tenth_of_a_percent(config, emulated):
    source, frames = emulated
    offsets, placements = calibrate_through_the_chips(config, source, frames)
    gains = fit_gains(config.mat, offsets, placements)
    true_gains = source.inputs.sim.electronics.gains
    np.testing.assert_allclose(gains, true_gains, rtol=0.001)
    np.testing.assert_allclose(offsets, source.inputs.sim.electronics.offsets, atol=200)
    res = residuals(config.mat, offsets, gains, placements)
    assert all(r.cop_error_mm < 2.0 for r in res)  # CoP within 2 mm at every marked spot
    assert all(abs(r.mass_error_kg) < 0.05 for r in res)
    ok, failures = corner_check(res, Limits())
    assert ok and not failures


def test_a_misplaced_mass_is_found(config, emulated):
    source, frames = emulated
    offsets, placements = calibrate_through_the_chips(
        config, source, frames, misplace="back left corner"
    )
    assert find_misplaced(config.mat, offsets, placements, Limits().misplaced_mm) == (
        "back left corner"
    )


def test_a_moving_load_and_a_busy_mat_are_refused(config, emulated):
    source, frames = emulated
    source.inputs.loads = [(70.0, 0.2, 0.0)]  # someone standing on the "empty" mat, swaying
    wobble = []
    for i in range(40):
        source.inputs.loads = [(70.0, 0.2 + 0.01 * np.sin(i / 3), 0.0)]
        wobble.append(next(frames).counts)
    with pytest.raises(CalibrationError, match="not still"):
        tare(np.array(wobble))
    source.inputs.loads = []
    offsets = tare(capture(frames))
    moving = []
    for i in range(40):  # a mass still being put down: its weight arrives during the capture
        source.inputs.loads = [(20.0 * min(1.0, i / 30), 0.0, 0.0)]
        moving.append(next(frames).counts)
    with pytest.raises(CalibrationError, match="load moved"):
        check_still(np.array(moving), offsets, Limits().stable_rel)


def test_calibrations_are_stored_newest_first_and_kept(tmp_path, config):
    db = open_database(tmp_path / "s.db")
    cells = config.mat.cell_names
    save_calibration(db, cells, [1, 2, 3, 4], [10, 20, 30, 40], {"check": "PASS"})
    save_calibration(db, cells, [5, 6, 7, 8], [50, 60, 70, 80], {"check": "PASS"})
    offsets, gains, created = latest_calibration(db, cells)
    assert offsets == [5, 6, 7, 8] and gains == [50, 60, 70, 80] and created
    assert db["calibrations"].count == 2
    assert latest_calibration(db, ["a", "b", "c"]) is None


def calibrate_cli(db, *extra: str, answers: str = "\n" * 6) -> subprocess.CompletedProcess:
    """`balance-station calibrate` on the emulated mat, answering its prompts."""
    cmd = [
        sys.executable,
        "-m",
        "station.cli",
        "calibrate",
        "--source",
        "emulated",
        "--db",
        str(db),
        "--seconds",
        "0.5",
        "--yes",
        *extra,
    ]
    return subprocess.run(cmd, input=answers, capture_output=True, text=True, cwd=REPO, timeout=120)


def test_calibrate_command_step_by_step(tmp_path):
    db = tmp_path / "station.db"
    result = calibrate_cli(db)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Clear the mat" in out and "CENTRE mark" in out and "BACK LEFT CORNER" in out
    assert "Corner-load check: PASS" in out and "Saved as calibration 1" in out
    cells = ["front_left", "front_right", "back_right", "back_left"]
    assert latest_calibration(open_database(db), cells) is not None


def test_calibrate_refuses_a_misplaced_mass_and_stops_cleanly_without_answers(tmp_path):
    db = tmp_path / "station.db"
    result = calibrate_cli(db, "--emulate-misplace", "front right corner")
    assert result.returncode == 2
    assert "front right corner mark was not where the mark is" in result.stderr
    result = calibrate_cli(db, answers="\n")
    assert result.returncode == 2 and "nothing was saved" in result.stderr
    assert "Traceback" not in result.stderr
