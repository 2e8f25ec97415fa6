"""The store: every frame across commits, compact blocks read by plain SQL, schema upgrades."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from station.core.recording import write_recording
from station.schema import SCHEMA_VERSION, encode_block
from station.store import (
    StoreError,
    StoreWriter,
    exercise_history,
    open_database,
    session_frames,
    session_summary,
)

from .conftest import call_cli

DATA = Path(__file__).parent / "data"
CELLS = 4


def frames(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Frame times with clock jitter and forces rounded as the station rounds them."""
    rng = np.random.default_rng(seed)
    t = np.round(np.arange(n) / 80.0 + rng.uniform(-0.002, 0.002, n) + 0.002, 4)
    forces = np.round(rng.uniform(-5.0, 400.0, (n, CELLS)), 2)
    return t, forces


def wait_committed(writer: StoreWriter, count: int) -> None:
    with writer.committed:
        assert writer.committed.wait_for(lambda: writer.frames_committed >= count, timeout=30)


def test_every_frame_reaches_the_database_across_commits(tmp_path):
    """Frames arrive a few at a time, as at 80 frames/s; each commit is awaited."""
    writer = StoreWriter(tmp_path / "s.db", flush_interval_s=0.01)
    writer.start()
    t, forces = frames(1000)
    key = writer.start_session({"source": "test", "mat_json": json.dumps({"cells": []})})
    for start in range(0, 1000, 7):
        for i in range(start, min(start + 7, 1000)):
            writer.add_frame(key, i, float(t[i]), forces[i].tolist())
        wait_committed(writer, min(start + 7, 1000))
        if start == 511:  # a crash now keeps everything committed so far, tail included
            db = sqlite3.connect(tmp_path / "s.db")
            assert db.execute("select count(*) from frame_rows").fetchone()[0] == 518
            db.close()
    writer.end_session(key, {"duration_s": 12.5})
    writer.stop()
    writer.join(30)
    assert writer.health()["frames_dropped"] == 0 and writer.health()["state"] == "stopped"
    db = open_database(tmp_path / "s.db")
    db["sessions"].update(
        1, {"mat_json": json.dumps({"cells": [{"name": f"c{i}"} for i in range(CELLS)]})}
    )
    names, t2, f2 = session_frames(db, 1)
    assert names == ["c0", "c1", "c2", "c3"]
    np.testing.assert_array_equal(t2, t)  # exactly, not approximately
    np.testing.assert_array_equal(f2, forces)
    # plain SQL gives the same numbers, one row per frame, through the frame_rows view
    rows = db.execute("select seq, t_s, forces_n from frame_rows order by seq").fetchall()
    assert [r[0] for r in rows] == list(range(1000))
    np.testing.assert_array_equal([r[1] for r in rows], t)
    np.testing.assert_array_equal([json.loads(r[2]) for r in rows], forces)
    status, count, lost = db.execute(
        "select status, frame_count, frames_lost from sessions"
    ).fetchone()
    assert (status, count, lost) == ("complete", 1000, 0)
    assert session_summary(db, 1).duration_s == 12.5


def test_a_full_queue_drops_frames_counts_them_and_marks_the_session(tmp_path):
    writer = StoreWriter(tmp_path / "s.db", queue_limit_frames=100)  # not started: nothing drains
    t, forces = frames(250)
    key = writer.start_session({"source": "test", "mat_json": "{}"})
    for i in range(250):
        writer.add_frame(key, i, float(t[i]), forces[i].tolist())
    health = writer.health()
    assert health["queued_frames"] == 100 and health["frames_dropped"] == 150
    writer.end_session(key, {})
    writer.start()
    writer.stop()
    writer.join(30)
    db = open_database(tmp_path / "s.db")
    assert db.execute("select status, frame_count, frames_lost from sessions").fetchone() == (
        "interrupted",
        100,
        150,
    )


def test_frames_take_at_most_150_kb_per_minute(tmp_path):
    """Five minutes at 80 frames/s, every cell over 100 N all the time: the worst case."""
    rng = np.random.default_rng(3)
    minutes = 5
    n = 80 * 60 * minutes
    t = np.round(np.arange(n) / 80.0 + rng.normal(0, 0.0004, n), 4)
    weight = 686.0 * (1 + 0.3 * np.sin(np.arange(n) / 40.0))  # walking: the load moves
    share = rng.dirichlet([5, 5, 5, 5], n)
    forces = np.round(weight[:, None] * share + rng.normal(0, 0.5, (n, CELLS)), 2)
    writer = StoreWriter(tmp_path / "s.db")
    writer.start()
    key = writer.start_session({"source": "test", "mat_json": "{}"})
    for i in range(n):
        writer.add_frame(key, i, float(t[i]), forces[i].tolist())
    writer.end_session(key, {})
    writer.stop()
    writer.join(60)
    db = sqlite3.connect(tmp_path / "s.db")
    payload = db.execute(
        "select sum(length(dt_100us) + length(forces_cn) + 8) from frames"
    ).fetchone()[0]
    pages = db.execute(
        "select sum(pgsize) from dbstat where name = 'frames' or name like '%autoindex_frames%'"
    ).fetchone()[0]
    assert payload / minutes < 135_000
    assert pages / minutes < 150_000  # the target; a member standing centred is the worst case
    # (the whole-station figure, with sessions and summaries: tests/bench_store.py)


def test_encode_rounds_to_what_the_station_measures():
    t0, dt, f = encode_block([1.0001, 1.0125, 1.0251], [[1.23, -0.01], [400.0, 0.0], [0, 0]])
    assert (t0, json.loads(dt)) == (1.0001, [0, 124, 126])
    assert json.loads(f) == [123, -1, 40000, 0, 0, 0]


# Files made by earlier releases (how each was made: tests/data/make_*.py)
UPGRADES = {
    "release 0.1 (no schema version)": DATA / "station-0.1.db",
    "schema 3 (web tables made on first use)": DATA / "station-schema-3.db",
}
# what a user keeps: every row of these tables, column for column
KEPT_TABLES = [
    "members",
    "sessions",
    "summaries",
    "exercise_runs",
    "calibrations",
    "calibration_checks",
    "settings",
    "web_sessions",
    "share_links",
    "throttle",
]


def snapshot(path: Path) -> dict[str, list[tuple]]:
    """Every row of the kept tables the file has, read with plain SQL, and its frames."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in con.execute("select name from sqlite_master")}
        rows = {
            t: con.execute(f"select * from {t} order by rowid").fetchall()
            for t in KEPT_TABLES
            if t in tables
        }
        rows["columns"] = [
            (t, [c[1] for c in con.execute(f"pragma table_info({t})")]) for t in KEPT_TABLES
        ]
        frames = "frame_rows" if "frame_rows" in tables else "frames"  # 0.1: one row per frame
        rows["frames"] = con.execute(
            f"select session_id, seq, t_s, forces_n from {frames} order by session_id, seq"
        ).fetchall()
        return rows
    finally:
        con.close()


@pytest.mark.parametrize("fixture", UPGRADES.values(), ids=UPGRADES.keys())
def test_an_upgrade_keeps_everything_stored(tmp_path, capsys, fixture):
    """Members, sessions, frames, reports, runs, calibrations and sign-ins survive as they were."""
    old = tmp_path / "station.db"
    shutil.copy(fixture, old)
    before = snapshot(old)
    assert before["members"] and before["sessions"] and before["summaries"]

    db = open_database(old)  # what the station does at start
    assert db.execute("pragma user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
    db.close()
    after = snapshot(old)
    for table, columns in before["columns"]:
        if not columns:
            continue  # a table the old release did not have
        width = len(columns)  # new columns (sessions.frames_lost) come after the old ones
        assert dict(after["columns"])[table][:width] == columns, table
        assert [row[:width] for row in after[table]] == before[table], table
    assert after["frames"] == before["frames"]

    # each session's recording comes back, byte for byte, as its stored frames say
    db = open_database(old)
    for session in before["sessions"]:
        sid, mat_json = session[0], session[7]
        names = [c["name"] for c in json.loads(mat_json)["cells"]]
        frames_of = [f for f in before["frames"] if f[0] == sid]
        expected = tmp_path / f"expected-{sid}.csv"
        write_recording(
            expected,
            names,
            [f[2] for f in frames_of],
            np.array([json.loads(f[3]) for f in frames_of]),
        )
        out = tmp_path / f"session-{sid}.csv"
        code, _, err = call_cli(
            capsys, "export-recording", str(sid), "--out", str(out), "--db", str(old)
        )
        assert code == 0, err
        assert out.read_bytes() == expected.read_bytes(), f"session {sid}"
    # the stored report is the one the reading code gives back
    for row in before["summaries"]:
        assert session_summary(db, row[0]).report == json.loads(row[-1])
    assert exercise_history(db, 1, "backward_walk") == [{"steps": 10, "speed_m_per_s": 0.5}]
    db.close()

    # the station records into the upgraded file; old and new frames read side by side
    writer = StoreWriter(old)
    writer.start()
    t, forces = frames(100)
    key = writer.start_session({"source": "test", "mat_json": before["sessions"][0][7]})
    for i in range(100):
        writer.add_frame(key, i, float(t[i]), forces[i].tolist())
    writer.end_session(key, {})
    writer.stop()
    writer.join(30)
    db = open_database(old)
    assert (
        db.execute("select count(*) from frame_rows").fetchone()[0] == len(before["frames"]) + 100
    )
    new_id = writer.session_ids[key]
    np.testing.assert_array_equal(session_frames(db, new_id)[2], forces)
    assert snapshot(old)["members"] == before["members"]


def test_a_database_from_a_newer_release_is_refused_untouched(tmp_path):
    path = tmp_path / "new.db"
    open_database(path).close()
    con = sqlite3.connect(path)
    con.execute(f"pragma user_version = {SCHEMA_VERSION + 1}")
    con.close()
    data = path.read_bytes()
    with pytest.raises(StoreError, match="newer Balance Station"):
        open_database(path)
    assert path.read_bytes() == data


def _schema_4_file(path: Path) -> None:
    """A file as schema 4 left it: the migrations up to 4, each with its version."""
    import sqlite_utils

    from station.schema import MIGRATIONS, transaction

    db = sqlite_utils.Database(path)
    for version, migration in enumerate(MIGRATIONS[:4], start=1):
        with transaction(db.conn):
            migration(db)
            db.conn.execute(f"pragma user_version = {version}")
    db.close()


def test_schema_4_reports_give_the_members_standing_weight(tmp_path):
    """Upgraded to 5, a member's reference weight for the hand on the wall comes from the
    stored reports of their visits without the wall; a visit on the wall, another member's
    and a guest's do not count, and a file of schema 4 keeps every row it had."""
    from station.store_members import member_standing_weight_n

    path = tmp_path / "schema4.db"
    _schema_4_file(path)
    con = sqlite3.connect(path)
    con.executemany("insert into members (id, name) values (?, ?)", [(1, "Ada"), (2, "Bea")])
    visits = [  # member, supported, weight measured then
        (1, False, 690.0), (1, False, 700.0), (1, True, 600.0), (1, False, 695.0),
        (2, False, 820.0), (None, False, 500.0), (1, None, None),
    ]  # fmt: skip
    for sid, (member, supported, weight) in enumerate(visits, start=1):
        con.execute(
            "insert into sessions (id, member_id, started_at, status) values (?, ?, ?, ?)",
            [sid, member, f"2099-01-0{sid}T10:00:00.000+00:00", "complete"],
        )
        report = {"support": {"supported": supported, "standing_weight_n": weight}}
        con.execute(
            "insert into summaries (session_id, report_json) values (?, ?)",
            [sid, json.dumps(report)],
        )
    con.execute("insert into summaries (session_id, report_json) values (99, 'not json')")
    con.commit()
    con.close()
    before = snapshot(path)

    db = open_database(path)
    assert db.execute("pragma user_version").fetchone()[0] == SCHEMA_VERSION
    got = dict(db.execute("select session_id, standing_weight_n from summaries").fetchall())
    assert got == {1: 690.0, 2: 700.0, 3: None, 4: 695.0, 5: 820.0, 6: 500.0, 7: None, 99: None}
    assert member_standing_weight_n(db, 1) == 695.0  # the median of 690, 700, 695
    assert member_standing_weight_n(db, 1, visits=1) == 695.0  # the latest only
    assert member_standing_weight_n(db, 2) == 820.0
    assert member_standing_weight_n(db, 3) is None
    db.close()
    after = snapshot(path)
    width = len(dict(before["columns"])["summaries"])
    assert [row[:width] for row in after["summaries"]] == before["summaries"]


def test_a_members_weight_is_learnt_from_recent_visits_without_the_wall(tmp_path):
    """The writer stores a visit's measured weight only where it was judged unsupported;
    visits older than the history's days no longer count."""
    from station.store_members import member_standing_weight_n

    path = tmp_path / "s.db"
    db = open_database(path)
    member = db["members"].insert({"name": "Ada"}).last_pk
    db.close()
    writer = StoreWriter(path)
    writer.start()
    t, forces = frames(10)
    for supported, weight in ((False, 680.0), (True, 590.0), (None, None), (False, 690.0)):
        key = writer.start_session({"source": "test", "member_id": member})
        for i in range(10):
            writer.add_frame(key, i, float(t[i]), forces[i].tolist())
        support = {"supported": supported, "standing_weight_n": 700.0, "measured_weight_n": weight}
        writer.end_session(key, {"support": support})
    writer.stop()
    writer.join(30)
    db = open_database(path)
    assert member_standing_weight_n(db, member) == 685.0
    db.execute("update sessions set started_at = '2020-01-01T00:00:00.000+00:00' where id = 4")
    assert member_standing_weight_n(db, member) == 680.0
    assert member_standing_weight_n(db, member, max_age_days=1e5) == 685.0
    db.close()
