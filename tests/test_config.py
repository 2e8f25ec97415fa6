"""Config: the shipped default loads, round-trips through TOML, and every error names its key."""

from __future__ import annotations

import copy
import tomllib
from dataclasses import asdict
from pathlib import Path

import pytest
import tomli_w

from station.cli import default_config_path
from station.core.config import (
    AnalysisConfig,
    ConfigError,
    config_to_dict,
    load_analysis_config,
    load_config,
    load_mat_config,
    parse_config,
)
from station.core.quality import QualityLimits
from station.core.support import SupportConfig


def raw_default() -> dict:
    return tomllib.loads(default_config_path().read_text())


def test_default_config_is_the_studio_mat():
    cfg = load_config(default_config_path())
    assert (cfg.mat.length_m, cfg.mat.width_m) == (1.83, 0.61)
    assert len(cfg.mat.cells) == 4
    for cell in cfg.mat.cells:  # near the corners
        assert abs(cell.x_m) > 0.8 and abs(cell.y_m) > 0.2
    assert cfg.source.kind == "sim" and cfg.web.host == "0.0.0.0"


def test_round_trip(tmp_path):
    cfg = load_config(default_config_path())
    path = tmp_path / "station.toml"
    path.write_bytes(tomli_w.dumps(config_to_dict(cfg)).encode())
    assert load_config(path) == cfg


def test_mat_only_file_is_valid_for_analysis(tmp_path):
    raw = raw_default()
    path = tmp_path / "mat.toml"
    path.write_bytes(tomli_w.dumps({"mat": raw["mat"]}).encode())
    assert load_mat_config(path) == load_config(default_config_path()).mat
    assert load_config(path).mat.name == raw["mat"]["name"]  # the other tables default
    assert load_analysis_config(path) == AnalysisConfig(mat=load_mat_config(path))


def test_every_threshold_is_documented_with_its_default():
    """The shipped file names every key of [support] and [quality] at the built-in value."""
    raw = raw_default()
    for table, defaults in (("support", SupportConfig()), ("quality", QualityLimits())):
        assert raw[table] == asdict(defaults), table
    docs = (Path(__file__).parents[1] / "docs" / "design.md").read_text()
    for key in [*asdict(SupportConfig()), *asdict(QualityLimits())]:
        assert f"`{key}`" in docs, key


def test_analysis_reads_the_thresholds_and_leaves_the_station_tables_alone(tmp_path):
    raw = raw_default()
    raw["support"]["margin_share"] = 0.12
    raw["quality"]["noise_n"] = 2.5
    raw["web"]["port"] = "not read by analyze"
    path = tmp_path / "station.toml"
    path.write_bytes(tomli_w.dumps(raw).encode())
    got = load_analysis_config(path)
    assert got.support.margin_share == 0.12 and got.quality.noise_n == 2.5
    with pytest.raises(ConfigError, match=r"web\.port"):
        load_config(path)


def mutate(path_and_value):
    raw = raw_default()
    *keys, last = path_and_value[0]
    node = raw
    for k in keys:
        node = node[k]
    if path_and_value[1] is DELETE:
        del node[last]
    else:
        node[last] = path_and_value[1]
    return raw


DELETE = object()

ERRORS = [
    ((["mat"], DELETE), "mat: missing table"),
    ((["mat", "name"], DELETE), "mat.name: missing"),
    ((["mat", "name"], ""), "mat.name: must be non-empty"),
    ((["mat", "length_m"], DELETE), "mat.length_m: missing"),
    ((["mat", "length_m"], "long"), "mat.length_m: must be a finite number"),
    ((["mat", "width_m"], -0.6), "mat.width_m: must be greater than 0"),
    ((["mat", "cells"], DELETE), "mat.cells: missing"),
    ((["mat", "cells"], 5), "mat.cells: must be an array"),
    ((["mat", "colour"], "red"), "mat.colour: unknown key"),
    ((["mat", "cells", 1, "x_m"], DELETE), "mat.cells[1].x_m: missing"),
    ((["mat", "cells", 2, "y_m"], float("nan")), "mat.cells[2].y_m: must be a finite number"),
    ((["mat", "cells", 0, "x_m"], 3.0), "mat.cells[0]: (3.0, 0.255) m lies outside the mat"),
    ((["mat", "cells", 3, "name"], "front_left"), "duplicate cell name 'front_left'"),
    ((["mat", "cells", 3, "name"], "t"), "mat.cells[3].name: 't' is reserved"),
    ((["mat", "cells", 0, "gain"], 2), "mat.cells[0].gain: unknown key"),
    ((["source", "kind"], "hx712"), "source.kind: must be one of"),
    ((["source", "rate_hz"], 0.0), "source.rate_hz: must be between"),
    ((["source", "rate_hz"], "fast"), "source.rate_hz: must be number"),
    ((["source", "sim", "scenario"], "dance"), "source.sim.scenario: must be one of"),
    ((["source", "sim", "body_mass_kg"], -70.0), "source.sim.body_mass_kg: must be greater"),
    ((["source", "sim", "seed"], 1.5), "source.sim.seed: must be int"),
    ((["source", "sim", "hand_on_wall_share"], 0.95), "hand_on_wall_share: must be from 0"),
    ((["web", "port"], 70000), "web.port: must be 0-65535"),
    ((["web", "port"], "80"), "web.port: must be int"),
    ((["web", "threads"], 1), "web.threads: must be at least 2"),
    ((["web", "tls"], True), "web.tls: unknown key"),
    ((["storage", "path"], 3), "storage.path: must be text"),
    ((["session", "off_threshold_n"], 500.0), "session.off_threshold_n: must not exceed"),
    ((["gpio"], {}), "config.gpio: unknown key"),
    ((["support", "margin_share"], -0.1), "support.margin_share: must be above 0 up to 0.9"),
    ((["support", "margin_share"], "8 %"), "support.margin_share: must be number"),
    ((["support", "window_s"], 0.0), "support.window_s: must be from 0.25 up to 30"),
    ((["support", "history_visits"], 0), "support.history_visits: must be from 1 up to 100"),
    ((["support", "history_visits"], 2.5), "support.history_visits: must be int"),
    ((["support", "on_mat_n"], 50.0), "support.on_mat_n: unknown key"),
    ((["quality", "noise_n"], 0), "quality.noise_n: must be above 0 up to 1000"),
    ((["quality", "missing_share"], 1.5), "quality.missing_share: must be from 0 up to 1"),
    ((["quality", "drift_pct"], True), "quality.drift_pct: must be number"),
    ((["quality", "limit"], 1), "quality.limit: unknown key"),
    ((["quality"], 3), "quality: must be a table"),
]


@pytest.mark.parametrize(("change", "message"), ERRORS, ids=[e[1][:40] for e in ERRORS])
def test_every_error_names_its_key(change, message):
    with pytest.raises(ConfigError) as info:
        parse_config(mutate(change))
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_fewer_than_three_cells():
    raw = raw_default()
    raw["mat"]["cells"] = raw["mat"]["cells"][:2]
    with pytest.raises(ConfigError, match="at least 3 cells"):
        parse_config(raw)


def test_cells_on_one_line_are_refused():
    raw = raw_default()
    for i, c in enumerate(raw["mat"]["cells"]):
        c["y_m"] = 0.0
        c["x_m"] = -0.6 + 0.4 * i
    with pytest.raises(ConfigError, match="on one line"):
        parse_config(raw)


def test_file_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[mat\nname = 1")
    with pytest.raises(ConfigError, match=r"bad.toml: not valid TOML"):
        load_config(bad)
    partial = tmp_path / "partial.toml"
    raw = copy.deepcopy(raw_default())
    del raw["mat"]["cells"][0]["y_m"]
    partial.write_bytes(tomli_w.dumps(raw).encode())
    with pytest.raises(ConfigError, match=r"partial.toml: mat.cells\[0\].y_m: missing"):
        load_config(partial)
