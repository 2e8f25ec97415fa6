"""The station's SQLite database, through sqlite-utils.

Plain tables any SQLite tool or Datasette opens without help:

- `members`    id, name, created_at
- `sessions`   id, member_id, started_at, ended_at (UTC ISO 8601), status
               (recording / complete / interrupted), source, exercise, mat_json,
               calibration_json, frame_count
- `frames`     session_id, seq, t_s (from the session's first frame), forces_n
               (JSON array of newtons, in the order of the session's mat_json cells)
- `summaries`  session_id, the headline numbers (duration, body weight, direction, steps,
               cadence, step length and width, speed, lateral sway, sway velocity and
               ellipse area; SI units) and report_json (the whole report of docs/design.md)

WAL mode: the kiosk reads while the writer writes. One writer thread owns all writes and
commits at least every `flush_interval_s`, so a killed process loses at most that much.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import sqlite_utils


class StoreError(RuntimeError):
    """A database that cannot be opened or a session that does not exist."""


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def open_database(path: str | Path) -> sqlite_utils.Database:
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise StoreError(f"{path}: folder {path.parent} does not exist")
    try:
        db = sqlite_utils.Database(path)
        db.execute("PRAGMA busy_timeout = 5000")
        db.enable_wal()
        db.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: a process kill loses nothing
        ensure_schema(db)
    except sqlite_utils.db.sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: not a usable SQLite database ({exc})") from None
    return db


def ensure_schema(db: sqlite_utils.Database) -> None:
    if "members" not in db.table_names():
        db["members"].create({"id": int, "name": str, "pin_hash": str, "created_at": str}, pk="id")
    elif "pin_hash" not in db["members"].columns_dict:
        db["members"].add_column("pin_hash", str)
    if "sessions" not in db.table_names():
        db["sessions"].create(
            {
                "id": int,
                "member_id": int,
                "started_at": str,
                "ended_at": str,
                "status": str,
                "source": str,
                "exercise": str,
                "mat_json": str,
                "calibration_json": str,
                "frame_count": int,
            },
            pk="id",
            foreign_keys=[("member_id", "members", "id")],
        )
        db["sessions"].create_index(["started_at"])
    if "frames" not in db.table_names():
        db["frames"].create(
            {"session_id": int, "seq": int, "t_s": float, "forces_n": str},
            pk=("session_id", "seq"),
            foreign_keys=[("session_id", "sessions", "id")],
        )
    if "calibrations" not in db.table_names():
        db["calibrations"].create(
            {
                "id": int,
                "created_at": str,
                "cells_json": str,
                "offsets_json": str,
                "gains_json": str,
                "report_json": str,
            },
            pk="id",
        )
    if "exercise_runs" not in db.table_names():
        db["exercise_runs"].create(
            {
                "id": int,
                "member_id": int,
                "exercise": str,
                "ended_at": str,
                "session_ids_json": str,
                "summary_json": str,
            },
            pk="id",
            foreign_keys=[("member_id", "members", "id")],
        )
        db["exercise_runs"].create_index(["member_id", "exercise"])
    if "summaries" not in db.table_names():
        db["summaries"].create(
            {
                "session_id": int,
                "duration_s": float,
                "sample_rate_hz": float,
                "body_weight_n": float,
                "direction": str,
                "step_count": int,
                "cadence_steps_per_min": float,
                "step_length_m": float,
                "step_width_m": float,
                "speed_m_per_s": float,
                "lateral_sway_m": float,
                "sway_velocity_m_per_s": float,
                "sway_ellipse95_area_m2": float,
                "report_json": str,
            },
            pk="session_id",
            foreign_keys=[("session_id", "sessions", "id")],
        )


def recover_interrupted(db: sqlite_utils.Database) -> int:
    """Sessions left 'recording' by a crash become 'interrupted'; their frames stay."""
    rows = list(db.query("select id from sessions where status = 'recording'"))
    for row in rows:
        count = db.execute(
            "select count(*) from frames where session_id = ?", [row["id"]]
        ).fetchone()[0]
        db["sessions"].update(row["id"], {"status": "interrupted", "frame_count": count})
    return len(rows)


# --- writing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Start:
    key: int
    meta: dict[str, Any]


@dataclass(frozen=True)
class _Frame:
    key: int
    seq: int
    t_s: float
    forces: tuple[float, ...]


@dataclass(frozen=True)
class _Run:
    result: dict[str, Any]


@dataclass(frozen=True)
class _End:
    key: int
    summary: dict[str, Any]
    status: str


class StoreWriter(threading.Thread):
    """The only writer: queued, batched, committed at least every flush interval.

    The queue is unbounded on purpose: storage never drops a frame, it only lags.
    """

    def __init__(self, path: str | Path, flush_interval_s: float = 0.5) -> None:
        super().__init__(name="store-writer", daemon=True)
        self.path = Path(path)
        self.flush_interval_s = flush_interval_s
        self._queue: queue.Queue[Any] = queue.Queue()
        self._ids: dict[int, int] = {}
        self._next_key = 1
        self._stop_requested = threading.Event()
        self.session_ids: dict[int, int] = self._ids  # key -> database id, for callers
        self.committed = threading.Condition()
        self.frames_committed = 0
        self.error: Exception | None = None
        # Opened here so a bad path fails at start-up, in the caller's thread, and sessions
        # a crash left open are closed before anything new is recorded.
        db = open_database(self.path)
        self.recovered = recover_interrupted(db)
        db.close()

    # called from the acquisition thread
    def start_session(self, meta: dict[str, Any]) -> int:
        key = self._next_key
        self._next_key += 1
        self._queue.put(_Start(key, meta))
        return key

    def add_frame(self, key: int, seq: int, t_s: float, forces: Sequence[float]) -> None:
        self._queue.put(_Frame(key, seq, t_s, tuple(forces)))

    def end_session(self, key: int, summary: dict[str, Any], status: str = "complete") -> None:
        self._queue.put(_End(key, summary, status))

    def save_run(self, result: dict[str, Any]) -> None:
        """A finished exercise (the coach's result), linked to its sessions."""
        self._queue.put(_Run(result))

    def stop(self) -> None:
        self._stop_requested.set()
        self._queue.put(None)

    def session_id(self, key: int, timeout: float = 5.0) -> int | None:
        """The database id of a started session, once the writer has created it."""
        with self.committed:
            self.committed.wait_for(lambda: key in self._ids, timeout=timeout)
        return self._ids.get(key)

    # the writer thread
    def run(self) -> None:
        db = open_database(self.path)
        pending: list[Any] = []
        deadline: float | None = None
        try:
            while True:
                timeout = None if deadline is None else max(deadline - time.monotonic(), 0.0)
                try:
                    item = self._queue.get(timeout=timeout)
                except queue.Empty:
                    item = ...
                if item is not None and item is not ...:
                    pending.append(item)
                    if deadline is None:
                        deadline = time.monotonic() + self.flush_interval_s
                now = time.monotonic()
                if pending and (item is None or item is ... or (deadline and now >= deadline)):
                    self._commit(db, pending)
                    pending = []
                    deadline = None
                if item is None:
                    while not self._queue.empty():  # anything queued after stop
                        extra = self._queue.get_nowait()
                        if extra is not None:
                            pending.append(extra)
                    if pending:
                        self._commit(db, pending)
                    return
        except Exception as exc:
            self.error = exc
            raise
        finally:
            db.close()

    def _commit(self, db: sqlite_utils.Database, items: list[Any]) -> None:
        frames: list[dict[str, Any]] = []
        counts: dict[int, int] = {}
        with db.conn:
            for item in items:
                if isinstance(item, _Start):
                    if frames:
                        self._flush_frames(db, frames)
                        frames = []
                    meta = dict(item.meta)
                    meta.setdefault("started_at", utc_now())
                    meta["status"] = "recording"
                    meta["frame_count"] = 0
                    self._ids[item.key] = db["sessions"].insert(meta).last_pk
                elif isinstance(item, _Frame):
                    sid = self._ids[item.key]
                    frames.append(
                        {
                            "session_id": sid,
                            "seq": item.seq,
                            "t_s": round(item.t_s, 6),
                            "forces_n": json.dumps(item.forces, separators=(",", ":")),
                        }
                    )
                    counts[sid] = max(counts.get(sid, 0), item.seq + 1)
                elif isinstance(item, _Run):
                    r = item.result
                    db["exercise_runs"].insert(
                        {
                            "member_id": r.get("member_id"),
                            "exercise": r["exercise"],
                            "ended_at": utc_now(),
                            "session_ids_json": json.dumps(
                                [self._ids[k] for k in r["session_keys"] if k in self._ids]
                            ),
                            "summary_json": json.dumps(r, default=str),
                        }
                    )
                elif isinstance(item, _End):
                    if frames:
                        self._flush_frames(db, frames)
                        frames = []
                    sid = self._ids[item.key]
                    n = db.execute(
                        "select count(*) from frames where session_id = ?", [sid]
                    ).fetchone()[0]
                    db["sessions"].update(
                        sid, {"ended_at": utc_now(), "status": item.status, "frame_count": n}
                    )
                    db["summaries"].upsert(summary_row(sid, item.summary), pk="session_id")
                    counts.pop(sid, None)
            if frames:
                self._flush_frames(db, frames)
            for sid, n in counts.items():
                db["sessions"].update(sid, {"frame_count": n})
        with self.committed:
            self.frames_committed += sum(isinstance(i, _Frame) for i in items)
            self.committed.notify_all()

    @staticmethod
    def _flush_frames(db: sqlite_utils.Database, frames: list[dict[str, Any]]) -> None:
        db.conn.executemany(
            "insert into frames (session_id, seq, t_s, forces_n) "
            "values (:session_id, :seq, :t_s, :forces_n)",
            frames,
        )


def summary_row(session_id: int, report: dict[str, Any]) -> dict[str, Any]:
    """The headline numbers as columns (for SQL and Datasette), the whole report as JSON."""
    gait = report.get("gait") or {}
    sway = report.get("sway") or {}
    return {
        "session_id": session_id,
        "duration_s": report.get("duration_s"),
        "sample_rate_hz": report.get("sample_rate_hz"),
        "body_weight_n": report.get("body_weight_n"),
        "direction": report.get("direction"),
        "step_count": gait.get("step_count"),
        "cadence_steps_per_min": gait.get("cadence_steps_per_min"),
        "step_length_m": gait.get("step_length_m"),
        "step_width_m": gait.get("step_width_m"),
        "speed_m_per_s": gait.get("speed_m_per_s"),
        "lateral_sway_m": gait.get("lateral_sway_m"),
        "sway_velocity_m_per_s": sway.get("mean_velocity_m_per_s"),
        "sway_ellipse95_area_m2": sway.get("ellipse95_area_m2"),
        "report_json": json.dumps(report),
    }


# --- calibrations ------------------------------------------------------------------------


def save_calibration(
    db: sqlite_utils.Database,
    cells: Sequence[str],
    offsets: Sequence[float],
    gains: Sequence[float],
    report: dict[str, Any],
) -> int:
    """Store a calibration with its timestamp; older ones stay for the record."""
    row = {
        "created_at": utc_now(),
        "cells_json": json.dumps(list(cells)),
        "offsets_json": json.dumps([float(o) for o in offsets]),
        "gains_json": json.dumps([float(g) for g in gains]),
        "report_json": json.dumps(report),
    }
    with db.conn:
        return db["calibrations"].insert(row).last_pk


def latest_calibration(
    db: sqlite_utils.Database, cells: Sequence[str]
) -> tuple[list[float], list[float], str] | None:
    """(offsets, gains, created_at) of the newest calibration for exactly these cells."""
    rows = db.query(
        "select * from calibrations where cells_json = ? order by id desc limit 1",
        [json.dumps(list(cells))],
    )
    for row in rows:
        return json.loads(row["offsets_json"]), json.loads(row["gains_json"]), row["created_at"]
    return None


def exercise_history(
    db: sqlite_utils.Database, member_id: int | None, exercise: str, limit: int = 20
) -> list[dict[str, Any]]:
    """Earlier summaries of one member's runs of one exercise, oldest first (guests: none)."""
    if member_id is None:
        return []
    rows = db.query(
        "select summary_json from exercise_runs where member_id = ? and exercise = ? "
        "order by id desc limit ?",
        [member_id, exercise, limit],
    )
    return [json.loads(r["summary_json"])["summary"] for r in rows][::-1]


# --- backup ------------------------------------------------------------------------------


def backup_database(source: str | Path, dest_dir: str | Path, keep: int) -> Path:
    """A consistent copy of a live database, then only the newest `keep` copies are kept.

    SQLite's online backup API copies pages under the database's own locking, so it is safe
    while the station writes (a plain file copy of a WAL database is not).
    """
    import sqlite3

    source = Path(source)
    dest_dir = Path(dest_dir)
    if not source.exists():
        raise StoreError(f"{source}: no database to back up")
    dest_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")  # sortable, distinct
    target = dest_dir / f"{source.stem}-{stamp}.db"
    partial = target.with_suffix(".db.partial")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(partial)
    try:
        src.backup(dst)
        ok = dst.execute("pragma integrity_check").fetchone()[0]
    finally:
        dst.close()
        src.close()
    if ok != "ok":
        partial.unlink(missing_ok=True)
        raise StoreError(f"{source}: the backup copy failed its integrity check ({ok})")
    partial.replace(target)
    copies = sorted(dest_dir.glob(f"{source.stem}-*.db"))
    for old in copies[:-keep]:
        old.unlink()
    return target


# --- reading -----------------------------------------------------------------------------


def list_sessions(db: sqlite_utils.Database, limit: int = 50) -> list[dict[str, Any]]:
    return list(
        db.query(
            "select s.id, s.member_id, s.started_at, s.ended_at, s.status, s.source, "
            "s.frame_count, m.duration_s, m.body_weight_n from sessions s "
            "left join summaries m on m.session_id = s.id order by s.id desc limit ?",
            [limit],
        )
    )


def get_session(db: sqlite_utils.Database, session_id: int) -> dict[str, Any]:
    try:
        return db["sessions"].get(session_id)
    except sqlite_utils.db.NotFoundError:
        raise StoreError(f"session {session_id} does not exist") from None


def session_frames(
    db: sqlite_utils.Database, session_id: int
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(cell names, t, forces) of a stored session, ready to write as a recording."""
    session = get_session(db, session_id)
    names = [c["name"] for c in json.loads(session["mat_json"])["cells"]]
    rows = db.execute(
        "select t_s, forces_n from frames where session_id = ? order by seq", [session_id]
    ).fetchall()
    if not rows:
        raise StoreError(f"session {session_id} has no frames")
    t = np.array([r[0] for r in rows])
    forces = np.array([json.loads(r[1]) for r in rows], dtype=float)
    return names, t, forces
