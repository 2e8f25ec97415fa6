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


def test_health_piped_to_head_ends_quietly(station_factory):
    st = station_factory()
    proc = subprocess.run(
        f"{sys.executable} -m station.cli health --url {st.url} --json | head -c 10",
        shell=True,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert len(proc.stdout) == 10 and proc.stdout.startswith('{\n "')
    assert proc.stderr == ""


def test_health_takes_an_address_without_http(station_factory):
    st = station_factory()
    result = cli("health", "--url", f"127.0.0.1:{st.port}/")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("station     ")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://127.0.0.1:8080", "give the station's address, e.g. http://127.0.0.1:8080"),
        ("127.0.0.1:port", "give the station's address, e.g. http://127.0.0.1:8080"),
        ("http://:8080", "give the station's address, e.g. http://127.0.0.1:8080"),
        ("http://[::1", "give the station's address, e.g. http://127.0.0.1:8080"),
    ],
)
def test_health_with_a_wrong_address_is_one_line_exit_2(url, message):
    result = cli("health", "--url", url)
    assert result.returncode == 2
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
