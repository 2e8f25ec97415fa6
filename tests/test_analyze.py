"""`balance-station analyze`: the report of docs/design.md, a readable table, and clear refusals."""

from __future__ import annotations

import json

import pytest

from .conftest import call_cli
from .test_cli import cli

DESIGN_GAIT = {
    "step_count",
    "cadence_steps_per_min",
    "step_length_m",
    "step_width_m",
    "step_time_s",
    "speed_m_per_s",
    "lateral_sway_m",
}
DESIGN_SWAY = {
    "path_length_m",
    "mean_velocity_m_per_s",
    "rms_ml_m",
    "rms_ap_m",
    "range_ml_m",
    "range_ap_m",
    "ellipse95_area_m2",
    "mean_frequency_hz",
}


@pytest.fixture
def walk(tmp_path, capsys):
    path = tmp_path / "walk.csv"
    assert (
        call_cli(
            capsys,
            "simulate",
            "--seconds",
            "35",
            "--seed",
            "9",
            "--scenario",
            "backward",
            "--out",
            str(path),
        )[0]
        == 0
    )
    return path


def test_json_report_has_every_design_key(walk, capsys):
    code, out, _ = call_cli(capsys, "analyze", str(walk), "--json")
    assert code == 0
    report = json.loads(out)
    assert {
        "duration_s",
        "sample_rate_hz",
        "body_weight_n",
        "direction",
        "steps",
        "gait",
        "sway",
    } <= set(report)
    assert set(report["gait"]) >= DESIGN_GAIT and set(report["sway"]) >= DESIGN_SWAY
    assert report["direction"] == "backward"
    assert report["body_weight_n"] == pytest.approx(70 * 9.80665, rel=0.01)
    truth = json.loads(walk.with_suffix(".truth.json").read_text())
    on_mat = [c for c in truth["contacts"] if c["t_s"] < report["duration_s"] - 1.0]
    steps = [s for s in report["steps"] if s["t_s"] < report["duration_s"] - 1.0]
    assert len(steps) == len(on_mat)
    for s, c in zip(steps, on_mat, strict=True):
        assert s["t_s"] == pytest.approx(c["t_load_s"], abs=0.05)
        assert s["y_m"] == pytest.approx(c["y_m"], abs=0.03)
        if c["kind"] == "step":
            assert s["foot"] == c["foot"]
    assert set(steps[0]) == {"t_s", "x_m", "y_m", "foot"}


def test_table_is_readable(walk, capsys):
    code, out, _ = call_cli(capsys, "analyze", str(walk))
    assert code == 0
    assert "Direction     backward" in out and "step length" in out and "cadence" in out


def test_nobody_on_the_mat_is_a_valid_empty_report(tmp_path, capsys, config):
    path = tmp_path / "empty.csv"
    rows = ["t," + ",".join(config.mat.cell_names)]
    rows += [f"{i / 80:.4f},0.1,-0.2,0.05,0.0" for i in range(400)]
    path.write_text("\n".join(rows) + "\n")
    code, out, _ = call_cli(capsys, "analyze", str(path), "--json")
    report = json.loads(out)
    assert code == 0 and report["steps"] == [] and report["direction"] == "none"
    assert report["gait"]["step_count"] == 0 and report["body_weight_n"] == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty file"),
        ("time,a,b,c,d\n0,1,2,3,4\n", "header must start with 't'"),
        ("t,front_left,front_right,back_right,back_left\n", "no samples"),
        ("t,front_left,front_right,back_right\n0,1,2,3\n", "do not match the config's cells"),
        ("t,front_left,front_right,back_right,back_left\n0,1,2,3,x\n", "not a number ('x')"),
        ("t,front_left,front_right,back_right,back_left\n0,1,2,3,nan\n", "not a finite number"),
        ("t,front_left,front_right,back_right,back_left\n0,1,2,3,4\n0.1,1,2\n", "has 3 values"),
        (
            "t,front_left,front_right,back_right,back_left\n0.1,1,2,3,4\n0.05,1,2,3,4\n",
            "time does not increase",
        ),
    ],
)
def test_bad_recordings_are_refused_in_one_line(tmp_path, capsys, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    code, _, err = call_cli(capsys, "analyze", str(path))
    assert code == 2 and message in err and err.count("\n") == 1


def test_missing_recording_and_bad_config(tmp_path, capsys, walk):
    code, _, err = call_cli(capsys, "analyze", str(tmp_path / "none.csv"))
    assert code == 2 and "recording not found" in err
    cfg = tmp_path / "mat.toml"
    cfg.write_text("[mat]\nname='x'\nlength_m=1\nwidth_m=1\n")
    code, _, err = call_cli(capsys, "analyze", str(walk), "--config", str(cfg))
    assert code == 2 and "mat.cells: missing" in err


def test_a_mat_only_config_is_enough(tmp_path, capsys, walk):
    from station.cli import default_config_path

    text = default_config_path().read_text()
    mat_only = text.split("[source]")[0]
    cfg = tmp_path / "mat.toml"
    cfg.write_text(mat_only)
    code, out, _ = call_cli(capsys, "analyze", str(walk), "--config", str(cfg), "--json")
    assert code == 0 and json.loads(out)["gait"]["step_count"] > 5


@pytest.mark.parametrize(
    "scenario, seconds, chunk_frames",
    [("studio", 240, 97), ("stand", 40, 1000), ("backward", 35, 80), ("studio", 120, 8192)],
)
def test_a_file_read_in_chunks_gives_the_report_of_the_whole_recording(
    tmp_path, capsys, config, scenario, seconds, chunk_frames
):
    """`analyze` reads a file a chunk at a time (bounded memory): the report is unchanged,
    whatever the chunk size (small chunks put steps, standing and the empty mat across their
    edges)."""
    from station.analysis import analyse_file
    from station.core.recording import read_recording
    from station.core.report import analyse

    path = tmp_path / f"{scenario}.csv"
    code, _, err = call_cli(
        capsys, "simulate", "--seconds", str(seconds), "--scenario", scenario, "--out", str(path)
    )
    assert code == 0, err
    recording = read_recording(path, config.mat.cell_names)
    whole = analyse(recording.t, recording.forces, config.mat, expected_direction="none")
    chunked = analyse_file(path, config.mat, expected_direction="none", chunk_frames=chunk_frames)
    assert json.dumps(chunked) == json.dumps(whole)
    assert whole["steps"] and whole["body_weight_n"] > 0
    if scenario == "stand":
        assert whole["sway"]["path_length_m"] is not None  # the standing stretch was found


def test_a_recorded_walk_with_a_hand_on_the_wall_is_reported_as_such(tmp_path, capsys):
    rec = tmp_path / "wall.csv"
    args = ("simulate", "--seconds", "25", "--seed", "2", "--scenario", "wall", "--out")
    assert call_cli(capsys, *args, str(rec))[0] == 0
    code, out, _ = call_cli(capsys, "analyze", str(rec), "--json")
    report = json.loads(out)
    assert code == 0 and report["support"]["supported"] is True
    assert report["support"]["weight_share"] == pytest.approx(0.2, abs=0.04)
    assert report["quality"]["mark"] == "good"
    code, out, _ = call_cli(capsys, "analyze", str(rec))
    assert "Hand on the wall  yes," in out and "Data quality      good" in out


def test_the_configs_thresholds_change_the_report(tmp_path, capsys):
    """The same recording, the shipped config and one with a wider margin and a tighter
    noise limit: `analyze` follows the file, as the station does."""
    from station.cli import default_config_path

    rec = tmp_path / "wall.csv"
    args = ("simulate", "--seconds", "25", "--seed", "2", "--scenario", "wall", "--out")
    assert call_cli(capsys, *args, str(rec))[0] == 0
    text = default_config_path().read_text()
    changed = tmp_path / "station.toml"
    changed.write_text(
        text.replace("margin_share = 0.08", "margin_share = 0.25").replace(
            "noise_n = 1.0", "noise_n = 0.001"
        )
    )
    code, out, _ = call_cli(capsys, "analyze", str(rec), "--json")
    shipped = json.loads(out)
    code2, out2, _ = call_cli(capsys, "analyze", str(rec), "--json", "--config", str(changed))
    report = json.loads(out2)
    assert code == code2 == 0
    assert shipped["support"]["supported"] is True and report["support"]["supported"] is False
    assert shipped["quality"]["mark"] == "good" and report["quality"]["mark"] == "noisy"
    assert report["steps"] == shipped["steps"]  # nothing else moves


@pytest.mark.parametrize(
    "shipped, bad, message",
    [
        ("margin_share = 0.08", "margin_share = -0.1", "support.margin_share: must be above 0"),
        ("window_s = 2.0", 'window_s = "2 s"', "support.window_s: must be number"),
        ("drift_pct = 1.0", "drift_pct = 0", "quality.drift_pct: must be above 0 up to 100"),
        ("[quality]", "[quality]\nnoise = 1.0", "quality.noise: unknown key"),
    ],
)
def test_a_bad_threshold_is_one_line_naming_its_key(tmp_path, capsys, walk, shipped, bad, message):
    from station.cli import default_config_path

    text = default_config_path().read_text()
    assert text.count(shipped) == 1
    cfg = tmp_path / "station.toml"
    cfg.write_text(text.replace(shipped, bad))
    code, out, err = call_cli(capsys, "analyze", str(walk), "--config", str(cfg))
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1, err
    # the station itself refuses to start on it, in the same words
    station = cli("run", "--config", str(cfg), "--db", str(tmp_path / "d.db"), "--port", "0")
    assert station.returncode == 2 and message in station.stderr
    assert station.stderr.count("\n") == 1, station.stderr


@pytest.mark.parametrize("weight", ["-5", "0", "90000"])
def test_a_reference_weight_out_of_reach_is_refused(capsys, walk, weight):
    code, out, err = call_cli(capsys, "analyze", str(walk), "--reference-weight-n", weight)
    assert code == 2 and out == ""
    assert "--reference-weight-n: must be from 100 up to 5000 N" in err and err.count("\n") == 1
