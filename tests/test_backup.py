"""Backups on a second device, checked copies, and restore with the station stopped."""

from __future__ import annotations

import sqlite3

import pytest

from .small_disk import CannotMount, small_disk, station_config
from .sse import events
from .test_cli import cli


def sessions(db) -> list[tuple]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute("select id, status, frame_count from sessions order by id").fetchall()
    finally:
        con.close()


def test_backup_to_a_stick_and_restore(station_factory, tmp_path):
    try:
        stick_cm = small_disk(tmp_path / "stick", "16m")
        stick = stick_cm.__enter__()
    except CannotMount as exc:
        pytest.skip(str(exc))
    try:
        config = station_config(
            tmp_path / "station.toml",
            backup_dir=str(stick / "balance"),
            backup_keep=2,
            backup_other_device=True,
        )
        st = station_factory("--config", str(config))
        for name, data in events(st.port):
            if name == "session" and data["event"] == "ended":
                break
        made = []
        for _ in range(3):
            result = cli("backup", "--config", str(config), "--db", str(st.db))
            assert result.returncode == 0, result.stderr
            assert "integrity ok" in result.stdout
            assert result.stderr == ""  # a second device: no warning
            made.append(result.stdout.split(" to ")[1].split(" (")[0])
        copies = sorted((stick / "balance").glob("*.db"))
        assert [str(c) for c in copies] == made[1:]
        assert "2 of 2 pass the check" in result.stdout
        for copy in copies:
            con = sqlite3.connect(copy)
            assert con.execute("pragma integrity_check").fetchone()[0] == "ok"
            con.close()

        # restore is refused while the station runs, and changes nothing
        refused = cli("restore", str(copies[0]), "--db", str(st.db))
        assert refused.returncode == 2 and "a station is running" in refused.stderr
        assert refused.stderr.count("\n") == 1
        # so is a second station on the same database; it is told how to run beside it
        second = cli("run", "--db", str(st.db), "--port", "0")
        assert second.returncode == 2 and "a station is running" in second.stderr
        assert "its own database (--db FILE)" in second.stderr and "Traceback" not in second.stderr
        for name, data in events(st.port):  # one more visit after the backups
            if name == "session" and data["event"] == "started":
                break
        assert st.stop() == 0
        live = sessions(st.db)
        assert len(live) > len(sessions(copies[0])) >= 1

        done = cli("restore", str(copies[0]), "--db", str(st.db))
        assert done.returncode == 0, done.stderr
        assert sessions(st.db) == sessions(copies[0])
        kept = list(tmp_path.glob("station.before-restore-*.db"))
        assert len(kept) == 1 and sessions(kept[0]) == live  # nothing lost by restoring
        con = sqlite3.connect(st.db)
        assert con.execute("pragma integrity_check").fetchone()[0] == "ok"
        con.close()

        # a kept copy that went bad on the stick is reported (exit 1)
        with open(copies[1], "r+b") as fh:
            fh.seek(20_000)
            fh.write(b"\xff" * 30_000)
        result = cli("backup", "--config", str(config), "--db", str(st.db))
        assert result.returncode == 1 and "damaged backup" in result.stderr
    finally:
        stick_cm.__exit__(None, None, None)


def test_backup_refuses_the_databases_own_card_when_asked(tmp_path):
    from station.store import open_database

    open_database(tmp_path / "station.db").close()
    config = station_config(
        tmp_path / "station.toml", backup_dir=str(tmp_path / "b"), backup_other_device=True
    )
    result = cli("backup", "--config", str(config), "--db", str(tmp_path / "station.db"))
    assert result.returncode == 2 and "same device" in result.stderr
    assert not list((tmp_path / "b").glob("*.db"))


@pytest.mark.parametrize(
    ("dest", "says"),
    [
        ("no-stick/balance", "does not exist (is the USB stick or share mounted?)"),
        ("/proc/balance", "cannot make this folder"),  # a folder that takes no new folder
    ],
)
def test_backup_to_a_folder_it_cannot_make_says_why(tmp_path, dest, says):
    from station.store import open_database

    open_database(tmp_path / "station.db").close()
    dest = dest if dest.startswith("/") else str(tmp_path / dest)
    result = cli("backup", "--db", str(tmp_path / "station.db"), "--dest", dest)
    assert result.returncode == 2 and says in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_text("not a database\n" * 100)
    result = cli("restore", str(junk), "--db", str(tmp_path / "station.db"))
    assert result.returncode == 2 and "integrity check" in result.stderr
    assert not (tmp_path / "station.db").exists()
