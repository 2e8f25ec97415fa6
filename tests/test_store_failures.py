"""Storage faults under the real station process: reported, survived, resumed, nothing damaged.

A full disk: the database lives on a 4 MB tmpfs the test mounts; a filler file takes its
last byte while a member stands on the mat, and is removed again. A read-only card and I/O
errors: the station runs with a fault injector (tests/faulty_io.c) that fails its file
calls on the database's folder while the test says so.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .conftest import REPO, StationProcess, start_station
from .faulty_io import CannotBuild, Faults, build
from .small_disk import CannotMount, fill, small_disk, station_config
from .sse import events

QUEUE_LIMIT_S = 3.0


@pytest.fixture
def disk(tmp_path) -> Iterator:
    try:
        with small_disk(tmp_path / "disk", "4m") as path:
            yield path
    except CannotMount as exc:
        pytest.skip(str(exc))


@pytest.fixture
def faults(tmp_path, monkeypatch) -> Iterator[Faults]:
    """Faults for the station processes this test starts (the environment they inherit)."""
    try:
        library = build(tmp_path)
    except CannotBuild as exc:
        pytest.skip(str(exc))
    card = tmp_path / "card"
    card.mkdir()
    injector = Faults(library, card, tmp_path / "fault")
    for name, value in injector.environment().items():
        monkeypatch.setenv(name, value)
    yield injector
    injector.clear()


def health(url: str) -> subprocess.CompletedProcess:
    """`balance-station health` against a running station."""
    return subprocess.run(
        [sys.executable, "-m", "station.cli", "health", "--url", url],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )


def kept_and_resumed(st: StationProcess, kept: list[tuple], dropped: int) -> None:
    """After a storage fault and the station's stop: it said frames were lost, the file is
    sound, the frames stored before are unchanged, and frames after the gap were stored."""
    out = st.proc.stdout.read()
    assert "Traceback" not in out
    assert "every session is saved" not in out and "frames could not be saved" in out
    with stored(st.db) as db:
        assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
        status, lost, count = db.execute(
            "select status, frames_lost, frame_count from sessions where id = 1"
        ).fetchone()
        assert status == "interrupted" and lost >= dropped
        after = db.execute("select seq, t_s, forces_n from frame_rows order by seq").fetchall()
        assert after[: len(kept)] == kept  # nothing already stored is damaged
        assert len(after) == count
        assert after[-1][0] >= len(after)  # frames after the gap: writing resumed


def until(stream: Iterator, check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The first status event from the live stream that passes `check`."""
    for name, data in stream:
        if name == "status" and check(data):
            return data
    raise AssertionError("the live stream ended")


def stored(db_path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)


@pytest.mark.browser
def test_a_full_disk_is_reported_survived_and_storage_resumes(disk, tmp_path, browser):
    config = station_config(tmp_path / "station.toml", queue_limit_s=QUEUE_LIMIT_S)
    st = start_station(disk / "station.db", "--config", str(config), "--scenario", "stand")
    try:
        stream = events(st.port, timeout=20)
        before = until(stream, lambda s: s["on_mat"] and s["store"]["frames_committed"] > 200)
        assert before["store"]["state"] == "ok" and not before.get("warning")
        with stored(st.db) as db:
            kept = db.execute("select seq, t_s, forces_n from frame_rows order by seq").fetchall()
        filler = fill(disk)

        failing = until(stream, lambda s: s["store"]["state"] == "failing")
        assert "full" in failing["store"]["last_error"]
        assert "not being saved" in failing["warning"]
        assert failing["state"] == "running"  # acquisition carries on

        # the live screen keeps all 80 frames/s while nothing can be stored
        live: list[float] = []
        for name, data in stream:
            if name == "frames":
                live += [f["t"] for f in data]
                if live[-1] - live[0] >= 2.0:
                    break
        assert len(live) / (live[-1] - live[0]) == pytest.approx(80.0, rel=0.1)

        # the kiosk says so, in the real browser
        page = browser.new_page(viewport={"width": 800, "height": 480})
        page.goto(st.url)
        page.wait_for_function(
            "() => document.getElementById('rate').textContent.includes('Not saving sessions')"
        )
        page.close()

        # the queue stays bounded; what is dropped is counted
        dropping = until(stream, lambda s: s["store"]["frames_dropped"] > 0)
        assert dropping["store"]["queued_frames"] <= dropping["store"]["queue_limit_frames"]
        assert dropping["store"]["queue_limit_frames"] == round(QUEUE_LIMIT_S * 80)
        said = health(st.url)
        assert said.returncode == 1
        assert "storage     failing" in said.stdout and "dropped" in said.stdout

        filler.unlink()  # room again
        resumed = until(
            stream,
            lambda s: (
                s["store"]["state"] == "ok"
                and s["store"]["frames_committed"] > dropping["store"]["frames_committed"] + 80
            ),
        )
        assert resumed["store"]["frames_dropped"] >= dropping["store"]["frames_dropped"]
        assert "frames were lost" in resumed["warning"]
    finally:
        code = st.stop()
    assert code == 0
    kept_and_resumed(st, kept, resumed["store"]["frames_dropped"])
    with stored(st.db) as db:
        assert db.execute("select count(*) from summaries").fetchone()[0] == 1


def test_stopping_on_a_full_disk_says_what_was_lost(disk, tmp_path):
    config = station_config(tmp_path / "station.toml", queue_limit_s=QUEUE_LIMIT_S)
    st = start_station(disk / "station.db", "--config", str(config), "--scenario", "stand")
    try:
        stream = events(st.port, timeout=20)
        until(stream, lambda s: s["on_mat"] and s["store"]["frames_committed"] > 80)
        fill(disk)
        until(stream, lambda s: s["store"]["state"] == "failing")
        fill(disk)  # whatever a checkpoint gave back since
        until(stream, lambda s: s["store"]["frames_dropped"] > 0)
    finally:
        code = st.stop()
    out = st.proc.stdout.read()
    assert code == 0 and "Traceback" not in out
    assert "every session is saved" not in out and "frames could not be saved" in out
    (disk / "filler").unlink()  # (reading a WAL database needs room for its -shm file)
    with stored(st.db) as db:
        assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
        assert db.execute("select status from sessions where id = 1").fetchone()[0] == "recording"
    # the next start marks it interrupted and keeps every stored frame
    st2 = start_station(st.db, "--config", str(config), "--scenario", "stand")
    try:
        with stored(st.db) as db:
            status, count = db.execute(
                "select status, frame_count from sessions where id = 1"
            ).fetchone()
            assert status == "interrupted" and count > 80
            rows = db.execute("select count(*) from frame_rows where session_id = 1").fetchone()
            assert rows[0] == count
    finally:
        st2.stop()


@pytest.mark.parametrize(
    "fault, error",
    [("erofs", "the storage is read-only"), ("eio", "the storage reports I/O errors")],
    ids=["read-only card", "I/O errors"],
)
def test_a_failing_card_is_reported_survived_and_storage_resumes(faults, tmp_path, fault, error):
    """While the card refuses writes: reported (status, health), live frames go on, the
    session in progress ends 'interrupted', nothing stored changes; then writing resumes."""
    config = station_config(tmp_path / "station.toml", queue_limit_s=QUEUE_LIMIT_S)
    st = start_station(faults.folder / "station.db", "--config", str(config), "--scenario", "stand")
    try:
        stream = events(st.port, timeout=20)
        until(stream, lambda s: s["on_mat"] and s["store"]["frames_committed"] > 200)
        with stored(st.db) as db:
            kept = db.execute("select seq, t_s, forces_n from frame_rows order by seq").fetchall()
        faults.start(fault)

        failing = until(stream, lambda s: error in s["store"]["last_error"])  # plain words
        assert failing["store"]["state"] == "failing"
        assert "not being saved" in failing["warning"]
        assert failing["state"] == "running" and failing["on_mat"]  # acquisition carries on
        dropping = until(stream, lambda s: s["store"]["frames_dropped"] > 0)
        assert dropping["store"]["queued_frames"] <= dropping["store"]["queue_limit_frames"]
        said = health(st.url)
        assert said.returncode == 1 and "storage     failing" in said.stdout
        with stored(st.db) as db:  # readable all along, and unchanged
            assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
            now = db.execute("select seq, t_s, forces_n from frame_rows order by seq").fetchall()
            assert now[: len(kept)] == kept

        faults.clear()  # the card works again
        resumed = until(
            stream,
            lambda s: (
                s["store"]["state"] == "ok"
                and s["store"]["frames_committed"] > dropping["store"]["frames_committed"] + 80
            ),
        )
        assert "frames were lost" in resumed["warning"]
        assert health(st.url).returncode == 0
    finally:
        code = st.stop()
    assert code == 0
    kept_and_resumed(st, kept, resumed["store"]["frames_dropped"])
