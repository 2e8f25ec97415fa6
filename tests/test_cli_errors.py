"""The command line's rough edges: one line and exit code 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import REPO
from .test_cli import cli


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A database with one stored session and its recording."""
    tmp = tmp_path_factory.mktemp("cli")
    rec = tmp / "walk.csv"
    assert cli("simulate", "--seconds", "12", "--out", str(rec)).returncode == 0
    return tmp, rec


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["simulate", "--seconds", "nan", "--out", "x.csv"], "--seconds must be more than 0"),
        (["simulate", "--seconds", "inf", "--out", "x.csv"], "--seconds must be more than 0"),
        (["simulate", "--seconds", "1e9", "--out", "x.csv"], "at most 86400"),
        (["run", "--port", "99999"], "port 99999 is not 0-65535"),
        (
            ["export-recording", "99999999999999999999999", "--db", "{db}", "--out", "x.csv"],
            "does not exist",
        ),
        (["export-recording", "1", "--db", "{db}", "--out", "{tmp}"], "is a folder"),
    ],
)
def test_one_line_and_exit_2(stored, args, message):
    tmp, _ = stored
    db = tmp / "empty.db"
    from station.store import open_database

    open_database(db).close()
    args = [a.format(db=db, tmp=tmp) for a in args]
    result = cli(*args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_forces_beyond_any_mat_are_refused(stored):
    tmp, rec = stored
    lines = rec.read_text().splitlines()
    t, *forces = lines[5].split(",")
    lines[5] = ",".join([t, "1e308", *forces[1:]])
    bad = tmp / "huge.csv"
    bad.write_text("\n".join(lines) + "\n")
    result = cli("analyze", str(bad), "--json")
    assert result.returncode == 2 and result.stdout == ""
    assert "line 6" in result.stderr and "1e308" in result.stderr


def test_analyze_piped_to_head_ends_cleanly(stored):
    _, rec = stored
    proc = subprocess.Popen(
        f"{sys.executable} -m station.cli analyze {rec} --json | head -c 10",
        shell=True,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = proc.communicate(timeout=60)
    assert len(out) == 10
    assert "Traceback" not in err and err.count("\n") <= 1


def test_a_negative_flush_interval_is_refused(tmp_path):
    from .small_disk import station_config

    config = station_config(tmp_path / "station.toml", flush_interval_s=-1.0)
    result = cli("run", "--config", str(config), "--db", str(tmp_path / "d.db"))
    assert result.returncode == 2
    assert "storage.flush_interval_s: must be greater than 0" in result.stderr
