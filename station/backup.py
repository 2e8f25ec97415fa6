"""Backups that survive the SD card, and bringing one back.

`backup` copies the live database with SQLite's online backup API (safe while the station
writes; a plain file copy of a WAL database is not), checks the copy with `PRAGMA
integrity_check` before it counts, keeps the newest N and checks every kept copy again, so a
copy that went bad on a failing USB stick is reported the night it happens.

`restore` refuses while a station runs on the database (it holds `DB.lock`), checks the
backup first, keeps the database it replaces beside it (`DB.before-restore-STAMP.db`), and
leaves the restored file at the current schema.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from .schema import SCHEMA_VERSION
from .store import StoreError, open_database

FILE_MODE = 0o640  # the service user and its group (backups hold personal data)


@dataclass
class BackupResult:
    path: Path
    kept: list[Path] = field(default_factory=list)
    bad: list[tuple[Path, str]] = field(default_factory=list)  # kept copies failing the check
    same_device: bool = False  # the copy would not survive the database's own card


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")  # sortable, distinct


def integrity(path: Path) -> str:
    """'ok', or what SQLite found wrong with the file."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return str(db.execute("pragma integrity_check").fetchone()[0])
        finally:
            db.close()
    except sqlite3.Error as exc:
        return f"not a readable SQLite database ({exc})"


def _copy(source: Path, target: Path) -> None:
    """A consistent copy through SQLite's backup API, written as `target` atomically."""
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        fd = os.open(partial, os.O_CREAT | os.O_WRONLY | os.O_EXCL, FILE_MODE)
        os.close(fd)
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)
            dst.execute("pragma journal_mode = delete")  # one self-contained file
        finally:
            dst.close()
    except (sqlite3.Error, OSError):
        partial.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    ok = integrity(partial)
    if ok != "ok":
        partial.unlink(missing_ok=True)
        raise StoreError(f"{source}: the copy failed its integrity check ({ok})")
    with open(partial, "rb") as fh:
        os.fsync(fh.fileno())  # on the stick before it counts
    partial.replace(target)


def backup_database(
    source: str | Path, dest_dir: str | Path, keep: int, *, require_other_device: bool = False
) -> BackupResult:
    """Copy, check, keep the newest `keep` copies and check each of them again."""
    source = Path(source)
    dest_dir = Path(dest_dir)
    if not source.exists():
        raise StoreError(f"{source}: no database to back up")
    try:
        dest_dir.mkdir(parents=False, exist_ok=True)
    except FileNotFoundError:
        if dest_dir.parent.is_dir():  # a folder that takes no new folder (/proc, a bad share)
            raise StoreError(f"{dest_dir}: cannot make this folder there") from None
        raise StoreError(
            f"{dest_dir}: its folder {dest_dir.parent} does not exist (is the USB stick or share "
            "mounted?)"
        ) from None
    except OSError as exc:
        raise StoreError(f"{dest_dir}: cannot make this folder ({exc.strerror})") from None
    same_device = os.stat(dest_dir).st_dev == os.stat(source.resolve().parent).st_dev
    if same_device and require_other_device:
        raise StoreError(
            f"{dest_dir} is on the same device as {source} (is the USB stick or share "
            "mounted?); nothing was copied"
        )
    target = dest_dir / f"{source.stem}-{_stamp()}.db"
    try:
        _copy(source, target)
    except sqlite3.Error as exc:
        raise StoreError(f"{source}: cannot copy to {dest_dir} ({exc})") from None
    copies = sorted(dest_dir.glob(f"{source.stem}-*.db"))
    for old in copies[:-keep]:
        old.unlink()
    result = BackupResult(target, kept=copies[-keep:], same_device=same_device)
    for copy in result.kept:
        ok = integrity(copy)
        if ok != "ok":
            result.bad.append((copy, ok))
    return result


# --- the running station's lock ----------------------------------------------------------


class StationRunning(StoreError):
    """Another process (a running station) holds the database."""


def lock_path(db_path: str | Path) -> Path:
    return Path(f"{db_path}.lock")


def hold_database(db_path: str | Path) -> IO[str]:
    """Take the station's lock on a database; keep the returned file open while running.

    The kernel drops the lock when the process ends, however it ends.
    """
    path = lock_path(db_path)
    try:
        fh = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the process's life
    except OSError as exc:
        raise StoreError(
            f"{path}: cannot create the station's lock file ({exc.strerror})"
        ) from None
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        pid = fh.read().strip() or "unknown"
        fh.close()
        raise StationRunning(
            f"a station is running on {db_path} (process {pid}); stop it first (on the Pi: "
            "sudo systemctl stop balance-station)"
        ) from None
    fh.seek(0)
    fh.truncate()
    fh.write(f"{os.getpid()}\n")
    fh.flush()
    return fh


def restore_database(backup: str | Path, db_path: str | Path) -> Path | None:
    """Bring a backup back as the station's database; returns where the old one was kept."""
    backup = Path(backup)
    db_path = Path(db_path)
    if not backup.is_file():
        raise StoreError(f"{backup}: no such backup file")
    ok = integrity(backup)
    if ok != "ok":
        raise StoreError(f"{backup}: refused, it fails the integrity check ({ok})")
    check = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        version = check.execute("pragma user_version").fetchone()[0]
        tables = {r[0] for r in check.execute("select name from sqlite_master where type='table'")}
    finally:
        check.close()
    if "sessions" not in tables:
        raise StoreError(f"{backup}: refused, not a Balance Station database (no sessions)")
    if version > SCHEMA_VERSION:
        raise StoreError(f"{backup}: refused, made by a newer Balance Station (schema {version})")
    lock = hold_database(db_path)  # StationRunning while a station runs
    try:
        kept = None
        if db_path.exists():
            kept = db_path.with_name(f"{db_path.stem}.before-restore-{_stamp()}.db")
            _copy(db_path, kept)  # includes whatever was still in its WAL
        for suffix in ("-wal", "-shm"):  # the old file's journal must not meet the new one
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
        _copy(backup, db_path.with_name(db_path.name + ".restoring"))
        db_path.with_name(db_path.name + ".restoring").replace(db_path)
        open_database(db_path).close()  # migrated to this release's schema
    except sqlite3.Error as exc:
        raise StoreError(f"{db_path}: restore failed ({exc}); the old database is kept") from None
    finally:
        lock.close()
    return kept
