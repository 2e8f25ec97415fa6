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
from station.store import open_database
from station.store_calibrations import latest_calibration, save_calibration

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


ALL_STEPS = "\n" * 6 + "10\n"  # tare, five spots, then a 10 kg cross-check mass typed


def calibrate_cli(
    db, *extra: str, answers: str = ALL_STEPS, yes: bool = True
) -> subprocess.CompletedProcess:
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
        *(["--yes"] if yes else []),
        *extra,
    ]
    return subprocess.run(cmd, input=answers, capture_output=True, text=True, cwd=REPO, timeout=120)


def test_calibrate_command_step_by_step(tmp_path):
    db = tmp_path / "station.db"
    result = calibrate_cli(db)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Clear the mat" in out and "CENTRE mark" in out and "BACK LEFT CORNER" in out
    assert "The mat weighs it at 10.00 kg: the typed masses agree" in out
    assert "Corner-load check: PASS" in out and "Saved as calibration 1" in out
    assert "swapped" not in out  # identical cells mounted alike: no remark
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


CELLS = ["front_left", "front_right", "back_right", "back_left"]


@pytest.mark.parametrize("second", ["10", "20"])
def test_a_wrongly_typed_mass_is_caught_by_the_cross_check_and_nothing_saved(tmp_path, second):
    """22 kg typed for a real 20 kg: every spot fits, only a second known mass shows it.

    The second mass is a different one (10 kg) or the same 20 kg typed again."""
    db = tmp_path / "station.db"
    answers = "\n" * 6 + f"{second}\n"
    result = calibrate_cli(db, "--mass", "22", "--emulate-true-mass", "20", answers=answers)
    assert result.returncode == 2, result.stdout
    want = float(second) * 1.1
    assert f"the mat weighs the second at {want:.2f} kg but {second} kg was typed" in (
        result.stderr
    )
    assert "10.0 % apart, more than 1 %" in result.stderr
    assert "Traceback" not in result.stderr
    assert latest_calibration(open_database(db), CELLS) is None


def test_a_reversed_cell_is_explained_and_kept_only_when_accepted(tmp_path):
    db = tmp_path / "station.db"
    # without --yes the operator is asked; "n" keeps nothing
    result = calibrate_cli(
        db, "--emulate-reversed", "back_right", answers=ALL_STEPS + "n\n", yes=False
    )
    assert "back_right: the reading falls under load while the others do the opposite" in (
        result.stdout
    )
    assert "A+ and A- wires are probably swapped" in result.stdout
    assert result.returncode == 2 and "swap the A+/A- wires" in result.stderr
    assert latest_calibration(open_database(db), CELLS) is None
    accepted = calibrate_cli(db, "--emulate-reversed", "back_right", "--accept-reversed")
    assert accepted.returncode == 0 and "Saved as calibration" in accepted.stdout
    _, gains, _ = latest_calibration(open_database(db), CELLS)
    assert gains[2] < 0 < gains[0]  # measured correctly with the negative gain


def test_marks_all_shifted_are_named_as_a_shift_not_as_one_wrong_spot(tmp_path):
    result = calibrate_cli(tmp_path / "s.db", "--emulate-shift-mm", "30")
    assert result.returncode == 2
    assert "every mark seems about 30 mm off the spots asked for (+30 mm along the mat" in (
        result.stderr
    )
    assert "corner mark was not where" not in result.stderr


def test_check_weight_reports_drift_and_the_station_flags_the_mat(tmp_path, station_factory):
    db = tmp_path / "station.db"
    assert calibrate_cli(db).returncode == 0
    steps = "\n" * 6
    ok = calibrate_cli(db, "--check", answers=steps)
    assert ok.returncode == 0, ok.stderr
    assert "Check: OK: within 1 % of the calibration" in ok.stdout
    drifted = calibrate_cli(db, "--check", "--emulate-gain-change", "back_left:3", answers=steps)
    assert drifted.returncode == 1
    assert "back_left has drifted +3.0 % since calibration" in drifted.stdout
    assert "NEEDS RECALIBRATING" in drifted.stdout
    station = station_factory("--source", "emulated", db=db)
    health = subprocess.run(
        [sys.executable, "-m", "station.cli", "health", "--url", station.url],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert "calibration NEEDS RECALIBRATING: back_left has drifted +3.0 %" in health.stdout
    assert "reader      not asked" in health.stdout  # emulated chips: no real-time priority


def test_check_without_a_calibration_says_what_to_do(tmp_path):
    result = calibrate_cli(tmp_path / "none.db", "--check", answers="")
    assert result.returncode == 2
    assert "no calibration stored for this mat's cells" in result.stderr


def test_the_check_uses_the_quality_marks_drift_limit_from_the_config(tmp_path):
    """`[quality] drift_pct` is the check's limit too: a 3 % drift passes a 5 % limit, so the
    check and the quality mark never disagree about the same mat."""
    from station.cli import default_config_path

    db = tmp_path / "station.db"
    config = tmp_path / "station.toml"
    text = default_config_path().read_text()
    config.write_text(text.replace("drift_pct = 1.0", "drift_pct = 5.0"))
    assert calibrate_cli(db, "--config", str(config)).returncode == 0
    drifted = calibrate_cli(
        db, "--config", str(config), "--check", "--emulate-gain-change", "back_left:3",
        answers="\n" * 6,
    )  # fmt: skip
    assert drifted.returncode == 0, drifted.stdout + drifted.stderr
    assert "Check: OK: within 5 % of the calibration" in drifted.stdout
