"""The station's SQLite database, through sqlite-utils: opening, the writer, the reads.

Plain tables any SQLite tool or Datasette opens without help (schema and migrations:
`station/schema.py`; members: `store_members.py`; calibrations and their checks:
`store_calibrations.py`; settings, sign-ins, share links, throttle: `store_web.py`):

- `sessions`   id, member_id, started_at, ended_at (UTC ISO 8601), status
               (recording / complete / interrupted / too_long), source, exercise, mat_json,
               calibration_json, frame_count, frames_lost
- `frames`     blocks of up to 40 frames of one session: t0_s, dt_100us, forces_cn (see schema);
               the view `frame_rows` has one row per frame in newtons
- `summaries`  session_id, the headline numbers (duration, body weight, direction, steps,
               cadence, step length and width, speed, lateral sway, sway velocity and
               ellipse area; SI units), standing_weight_n (the weight the visit's quiet
               stands measured, only where no hand was on the wall) and report_json (the
               whole report of docs/design.md)
- `exercise_runs`  id, member_id, exercise, ended_at, session_ids_json, summary_json (the
               coach's result)

WAL mode: the kiosk reads while the writer writes. One writer thread owns all writes and
commits at least every `flush_interval_s`, so a killed process loses at most that much. A
write that fails (full disk, read-only card, I/O error) never stops the station: the writer
keeps what it can in a bounded queue, counts what it must drop, reports both through
`health()`, and tries again until the disk has room.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import sqlite_utils

from .schema import (
    BLOCK_FRAMES,
    SchemaError,
    block_frames,
    decode_blocks,
    encode_block,
    migrate,
)

log = logging.getLogger(__name__)


class StoreError(RuntimeError):
    """A database that cannot be opened or a session that does not exist."""


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def open_database(path: str | Path) -> sqlite_utils.Database:
    """Open (or create) a station database and bring its schema up to date."""
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise StoreError(f"{path}: folder {path.parent} does not exist")
    db = None
    try:
        db = sqlite_utils.Database(path)
        db.execute("PRAGMA busy_timeout = 5000")
        migrate(db)  # before WAL: a new file gets its page size first
        if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            db.enable_wal()
        db.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: a process kill loses nothing
    except SchemaError as exc:
        if db is not None:
            db.close()
        raise StoreError(f"{path}: {exc}") from None
    except sqlite3.OperationalError as exc:  # the file system, not the file's contents
        if db is not None:
            db.close()
        raise StoreError(f"{path}: cannot open ({exc})") from None
    except sqlite3.DatabaseError as exc:
        if db is not None:
            db.close()
        raise StoreError(f"{path}: not a usable SQLite database ({exc})") from None
    return db


# what SQLite and the kernel say, in the words a studio owner can act on
_STORAGE_PROBLEMS = (
    (("readonly", "read-only", "errno 30"), "the storage is read-only"),
    (("full", "errno 28"), "the disk is full"),
    (("disk i/o error", "errno 5]"), "the storage reports I/O errors"),
)


def storage_problem(exc: BaseException) -> str:
    """A failed write in plain words, then the technical detail."""
    detail = f"{type(exc).__name__}: {exc}"
    lowered = detail.lower()
    for clues, words in _STORAGE_PROBLEMS:
        if any(clue in lowered for clue in clues):
            return f"{words} ({detail})"
    return detail


def recover_interrupted(db: sqlite_utils.Database) -> int:
    """Sessions left 'recording' by a crash become 'interrupted'; their frames stay."""
    rows = list(db.query("select id from sessions where status = 'recording'"))
    with db.conn:
        db.execute("insert or replace into frames select * from frames_tail")
        db.execute("delete from frames_tail")
        for row in rows:
            db["sessions"].update(
                row["id"],
                {"status": "interrupted", "frame_count": stored_frame_count(db, row["id"])},
            )
    return len(rows)


def stored_frame_count(db: sqlite_utils.Database, session_id: int) -> int:
    row = db.execute(
        "select (select coalesce(sum(frame_count), 0) from frames where session_id = ?)"
        " + (select coalesce(sum(frame_count), 0) from frames_tail where session_id = ?)",
        [session_id, session_id],
    ).fetchone()
    count = int(row[0])
    if count == 0 and "frames_v1" in db.table_names():  # stored before schema 2
        count = db.execute(
            "select count(*) from frames_v1 where session_id = ?", [session_id]
        ).fetchone()[0]
    return count


# --- the typed summary ---------------------------------------------------------------------


@dataclass(frozen=True)
class SessionSummary:
    """A session's report with its headline numbers: the one place that maps the two."""

    session_id: int
    report: dict[str, Any]

    @property
    def duration_s(self) -> float | None:
        return self.report.get("duration_s")

    @property
    def body_weight_n(self) -> float | None:
        return self.report.get("body_weight_n")

    @property
    def steps(self) -> list[dict[str, Any]]:
        return self.report.get("steps") or []

    def row(self) -> dict[str, Any]:
        """The headline numbers as columns (for SQL and Datasette), the whole report as JSON."""
        report = self.report
        gait = report.get("gait") or {}
        sway = report.get("sway") or {}
        support = report.get("support") or {}
        return {
            "session_id": self.session_id,
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
            # a member's next reference weight is learnt only from visits without the wall
            "standing_weight_n": (
                support.get("measured_weight_n") if support.get("supported") is False else None
            ),
            "report_json": json.dumps(report),
        }


def summary_row(session_id: int, report: dict[str, Any]) -> dict[str, Any]:
    return SessionSummary(session_id, report).row()


def session_summary(db: sqlite_utils.Database, session_id: int) -> SessionSummary | None:
    """The stored summary of a session, or None while it has none (recording, interrupted)."""
    row = db.execute(
        "select report_json from summaries where session_id = ?", [session_id]
    ).fetchone()
    if row is None or row[0] is None:  # a row written by hand may have headline numbers only
        return None
    return SessionSummary(session_id, json.loads(row[0]))


@dataclass(frozen=True)
class ExerciseRun:
    """A finished exercise as the coach reported it, linked to its sessions."""

    id: int
    member_id: int | None
    exercise: str
    ended_at: str
    session_ids: list[int]
    result: dict[str, Any]

    @property
    def summary(self) -> dict[str, Any]:
        return self.result.get("summary") or {}


_RUN_COLUMNS = "id, member_id, exercise, ended_at, session_ids_json, summary_json"


def _run(row: Sequence[Any]) -> ExerciseRun:
    return ExerciseRun(
        row[0], row[1], row[2], row[3], json.loads(row[4] or "[]"), json.loads(row[5])
    )


def exercise_runs(
    db: sqlite_utils.Database, member_id: int, exercise: str | None = None, limit: int = 1000
) -> list[ExerciseRun]:
    """A member's runs, newest first (of one exercise, if given; limit -1: all of them)."""
    where = "member_id = ?" + ("" if exercise is None else " and exercise = ?")
    params: list[Any] = [member_id] + ([] if exercise is None else [exercise])
    rows = db.execute(
        f"select {_RUN_COLUMNS} from exercise_runs where {where} order by id desc limit ?",
        [*params, limit],
    ).fetchall()
    return [_run(r) for r in rows]


def exercise_run(db: sqlite_utils.Database, run_id: int) -> ExerciseRun | None:
    row = db.execute(f"select {_RUN_COLUMNS} from exercise_runs where id = ?", [run_id]).fetchone()
    return None if row is None else _run(row)


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
class _Claim:
    run_key: int
    session_keys: tuple[int, ...]
    member_id: int


@dataclass(frozen=True)
class _End:
    key: int
    summary: dict[str, Any]
    status: str


@dataclass
class WriterHealth:
    """What the writer says about itself in /api/status and `balance-station health`."""

    state: str = "starting"  # starting, ok, failing, stopped
    queued_frames: int = 0
    queue_limit_frames: int | None = None  # None: no limit (offline, faster than real time)
    frames_committed: int = 0
    frames_dropped: int = 0
    sessions_interrupted: int = 0
    last_commit_at: str | None = None
    last_error: str = ""
    last_error_at: str | None = None
    failing_since: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


_KEEP_IDS = 100  # session keys remembered for exercise runs
# full disk, read-only card, I/O error, locked file, a file that cannot be opened
_RETRYABLE = (sqlite3.Error, OSError, StoreError)


class StoreWriter(threading.Thread):
    """The only writer: queued, batched, committed at least every flush interval.

    The queue holds at most `queue_limit_frames` frames (session starts and ends are always
    kept). While writes fail, the writer retries every `retry_interval_s` with a fresh
    connection; frames beyond the limit are dropped and counted, and every session that lost
    frames is stored as 'interrupted' with its `frames_lost`. The running station always sets
    a limit (`[storage] queue_limit_s`); None, the default, suits offline tools and tests
    that feed frames faster than real time and must not lose any.
    """

    def __init__(
        self,
        path: str | Path,
        flush_interval_s: float = 0.5,
        queue_limit_frames: int | None = None,
        retry_interval_s: float = 1.0,
    ) -> None:
        super().__init__(name="store-writer", daemon=True)
        self.path = Path(path)
        self.flush_interval_s = flush_interval_s
        self.retry_interval_s = retry_interval_s
        self._cond = threading.Condition()
        self._queue: deque[Any] = deque()
        self._ids: dict[int, int] = {}  # session key -> database id
        self._run_ids: dict[Any, int] = {}  # the coach's run key -> exercise_runs id
        self._lost: dict[int, int] = {}  # session key -> frames not stored
        self._open: dict[int, _OpenBlock] = {}  # session key -> frames not yet in a block
        self._next_key = 1
        self._block_frames = BLOCK_FRAMES
        self._stopping = False
        self.session_ids = self._ids  # for callers
        self.committed = self._cond
        self.health_state = WriterHealth(queue_limit_frames=queue_limit_frames)
        self.error: Exception | None = None  # the last write error, None once writes work
        # Opened here so a bad path fails at start-up, in the caller's thread, and sessions
        # a crash left open are closed before anything new is recorded.
        db = open_database(self.path)
        try:
            self.recovered = recover_interrupted(db)
        finally:
            db.close()

    # --- called from the acquisition thread -------------------------------------------

    def start_session(self, meta: dict[str, Any]) -> int:
        with self._cond:
            key = self._next_key
            self._next_key += 1
            self._put(_Start(key, meta))
        return key

    def add_frame(self, key: int, seq: int, t_s: float, forces: Sequence[float]) -> None:
        with self._cond:
            h = self.health_state
            if h.queue_limit_frames is not None and h.queued_frames >= h.queue_limit_frames:
                h.frames_dropped += 1
                self._lost[key] = self._lost.get(key, 0) + 1
                return
            h.queued_frames += 1
            self._put(_Frame(key, seq, t_s, tuple(forces)))

    def end_session(self, key: int, summary: dict[str, Any], status: str = "complete") -> None:
        with self._cond:
            self._put(_End(key, summary, status))

    def save_run(self, result: dict[str, Any]) -> None:
        """A finished exercise (the coach's result), linked to its sessions."""
        with self._cond:
            self._put(_Run(result))

    def claim_run(self, run_key: int, session_keys: list[int], member_id: int) -> None:
        """A guest's run (and its sessions) saved to a member's history; guests' rows only."""
        with self._cond:
            self._put(_Claim(run_key, tuple(session_keys), member_id))

    def _put(self, item: Any) -> None:
        self._queue.append(item)
        if len(self._queue) == 1:
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()

    def session_id(self, key: int, timeout: float = 5.0) -> int | None:
        """The database id of a started session, once the writer has created it."""
        with self._cond:
            self._cond.wait_for(lambda: key in self._ids, timeout=timeout)
        return self._ids.get(key)

    @property
    def frames_committed(self) -> int:
        return self.health_state.frames_committed

    def health(self) -> dict[str, Any]:
        with self._cond:
            return self.health_state.as_dict()

    @property
    def unsaved_frames(self) -> int:
        """Frames that never reached the database (dropped, or still queued at the end)."""
        with self._cond:
            return self.health_state.frames_dropped + self.health_state.queued_frames

    # --- the writer thread -----------------------------------------------------------------

    def run(self) -> None:
        db: sqlite_utils.Database | None = None
        pending: list[Any] = []
        deadline: float | None = None  # commit no later than this
        retry_at = 0.0  # after a failure, no attempt before this
        self._set_state("ok")
        while True:
            with self._cond:
                now = time.monotonic()
                wake = [t for t in (deadline, retry_at if pending else None) if t is not None]
                timeout = max(max(wake) - now, 0.0) if wake else None
                if not self._queue and not self._stopping:
                    self._cond.wait(timeout)
                pending.extend(self._queue)
                self._queue.clear()
                stopping = self._stopping
            now = time.monotonic()
            if pending and deadline is None:
                deadline = now + self.flush_interval_s
            due = pending and (stopping or (deadline is not None and now >= deadline))
            if (due and now >= retry_at) or (stopping and pending):
                try:
                    if db is None:
                        db = open_database(self.path)
                        self._block_frames = block_frames(db)
                    self._commit(db, pending)
                except _RETRYABLE as exc:
                    self._failed(exc)
                    if db is not None:
                        db.close()  # a fresh connection after an I/O error
                    db = None
                    retry_at = time.monotonic() + self.retry_interval_s
                    if stopping:  # one last attempt was made: what is left is lost
                        self._give_up(pending)
                        pending = []
                except Exception:  # a bug, not the disk: never let it stop storage
                    log.exception("storage could not write a batch; it is dropped")
                    self._give_up(pending)
                    pending = []
                    deadline = None
                else:
                    pending = []
                    deadline = None
                    retry_at = 0.0
            if stopping and not pending:
                with self._cond:
                    if not self._queue:
                        break
        if db is not None:
            db.close()
        self._set_state("stopped")

    def _set_state(self, state: str) -> None:
        with self._cond:
            if self.health_state.state != "failing" or state == "stopped":
                self.health_state.state = state

    def _failed(self, exc: Exception) -> None:
        message = storage_problem(exc)
        with self._cond:
            h = self.health_state
            if h.state != "failing":
                log.error(
                    "storage is failing: %s (keeping up to %s frames, retrying)",
                    message,
                    h.queue_limit_frames,
                )
                h.failing_since = utc_now()
            h.state = "failing"
            h.last_error = message
            h.last_error_at = utc_now()
            self.error = exc

    def _give_up(self, pending: list[Any]) -> None:
        with self._cond:
            for item in pending:
                if isinstance(item, _Frame):
                    self.health_state.queued_frames -= 1
                    self.health_state.frames_dropped += 1
                    self._lost[item.key] = self._lost.get(item.key, 0) + 1
        log.error("storage stopped with %d frame(s) not saved", self.unsaved_frames)

    def _commit(self, db: sqlite_utils.Database, items: list[Any]) -> None:
        """Everything in `items` in one transaction, or nothing (and the items stay)."""
        ids = dict(self._ids)  # published only once the transaction commits
        run_ids = dict(self._run_ids)
        blocks = {k: b.copy() for k, b in self._open.items()}
        frames = 0
        orphans = 0
        interrupted = 0
        with db.conn:
            for item in items:
                if isinstance(item, _Start):
                    meta = dict(item.meta)
                    meta.setdefault("started_at", utc_now())
                    meta["status"] = "recording"
                    meta["frame_count"] = 0
                    ids[item.key] = db["sessions"].insert(meta).last_pk
                    blocks[item.key] = _OpenBlock()
                elif isinstance(item, _Frame):
                    frames += 1
                    if item.key not in ids:  # its session never started: nothing to add to
                        orphans += 1
                        continue
                    block = blocks.setdefault(item.key, _OpenBlock())
                    if block.frames and item.seq != block.next_seq:  # frames were dropped
                        self._write_block(db, ids[item.key], block)
                    if block.add(item, self._block_frames):
                        self._write_block(db, ids[item.key], block)
                elif isinstance(item, _Run):
                    r = item.result
                    run_ids[r.get("run_key")] = (
                        db["exercise_runs"]
                        .insert(
                            {
                                "member_id": r.get("member_id"),
                                "exercise": r["exercise"],
                                "ended_at": utc_now(),
                                "session_ids_json": json.dumps(
                                    [ids[k] for k in r["session_keys"] if k in ids]
                                ),
                                "summary_json": json.dumps(r, default=str),
                            }
                        )
                        .last_pk
                    )
                elif isinstance(item, _Claim):
                    self._claim(db, item, ids, run_ids)
                elif isinstance(item, _End) and item.key in ids:
                    sid = ids[item.key]
                    block = blocks.pop(item.key, None)
                    if block is not None and block.frames:
                        self._write_block(db, sid, block)
                    lost = self._lost.get(item.key, 0)
                    status = item.status if lost == 0 else "interrupted"
                    interrupted += status == "interrupted"
                    db["sessions"].update(
                        sid,
                        {
                            "ended_at": utc_now(),
                            "status": status,
                            "frame_count": stored_frame_count(db, sid),
                            "frames_lost": lost,
                        },
                    )
                    db["summaries"].upsert(summary_row(sid, item.summary), pk="session_id")
            # what a crash must not lose: the open blocks so far, rewritten at the next commit
            for key, block in blocks.items():
                if block.frames and key in ids:
                    self._write_block(db, ids[key], block, tail=True)
                    if self._lost.get(key):
                        db["sessions"].update(ids[key], {"frames_lost": self._lost[key]})
        with self._cond:
            self._ids.update(ids)
            self._run_ids.update(run_ids)
            self._open = blocks
            for item in items:
                if isinstance(item, _End):
                    self._lost.pop(item.key, None)
            h = self.health_state
            h.queued_frames -= frames
            h.frames_committed += frames - orphans
            h.frames_dropped += orphans
            for old in [k for k in self._ids if k < self._next_key - _KEEP_IDS]:
                del self._ids[old]  # runs refer to recent sessions only
            h.sessions_interrupted += interrupted
            h.last_commit_at = utc_now()
            if h.state == "failing":
                log.warning("storage works again after: %s", h.last_error)
                h.state = "ok"
                h.failing_since = None
            self.error = None
            self._cond.notify_all()

    @staticmethod
    def _claim(
        db: sqlite_utils.Database, claim: _Claim, ids: dict[int, int], run_ids: dict[Any, int]
    ) -> None:
        """Move a guest's run and its sessions to a member: rows with no member only."""
        run_id = run_ids.get(claim.run_key)
        if run_id is None:
            return
        run = exercise_run(db, run_id)
        if run is None or run.member_id is not None:
            return  # never someone else's run
        result = {**run.result, "member_id": claim.member_id}
        db["exercise_runs"].update(
            run_id, {"member_id": claim.member_id, "summary_json": json.dumps(result)}
        )
        for key in claim.session_keys:
            if key in ids:
                db.execute(
                    "update sessions set member_id = ? where id = ? and member_id is null",
                    [claim.member_id, ids[key]],
                )

    @staticmethod
    def _write_block(
        db: sqlite_utils.Database, session_id: int, block: _OpenBlock, tail: bool = False
    ) -> None:
        """A full block (or a session's last) to `frames`; the newest frames to `frames_tail`.

        `frames` only ever grows at its end, so its pages stay full; the block still being
        filled is rewritten in the one-row-per-session `frames_tail` at every commit.
        """
        row = [session_id, block.first_seq, block.frames, *encode_block(block.t_s, block.forces)]
        table = "frames_tail" if tail else "frames"
        db.conn.execute(
            f"insert or replace into {table} "
            "(session_id, first_seq, frame_count, t0_s, dt_100us, forces_cn) values (?,?,?,?,?,?)",
            row,
        )
        if not tail:
            db.conn.execute("delete from frames_tail where session_id = ?", [session_id])
            block.clear()


@dataclass
class _OpenBlock:
    """Consecutive frames of one session that will share one row of `frames`."""

    first_seq: int = -1
    t_s: list[float] = field(default_factory=list)
    forces: list[tuple[float, ...]] = field(default_factory=list)

    @property
    def frames(self) -> int:
        return len(self.t_s)

    @property
    def next_seq(self) -> int:
        return self.first_seq + len(self.t_s)

    def add(self, frame: _Frame, limit: int) -> bool:
        """Add a frame; True when the block holds `limit` frames and must be written."""
        if not self.t_s:
            self.first_seq = frame.seq
        self.t_s.append(frame.t_s)
        self.forces.append(frame.forces)
        return len(self.t_s) >= limit

    def clear(self) -> None:
        self.first_seq = -1
        self.t_s = []
        self.forces = []

    def copy(self) -> _OpenBlock:
        return _OpenBlock(self.first_seq, list(self.t_s), list(self.forces))


def exercise_history(
    db: sqlite_utils.Database, member_id: int | None, exercise: str, limit: int = 20
) -> list[dict[str, Any]]:
    """Earlier summaries of one member's runs of one exercise, oldest first (guests: none)."""
    if member_id is None:
        return []
    return [run.summary for run in exercise_runs(db, member_id, exercise, limit)][::-1]


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
    if not 0 < session_id < 2**63:  # beyond SQLite's integers: no such session either
        raise StoreError(f"session {session_id} does not exist")
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
        "select t0_s, dt_100us, forces_cn from frames where session_id = ? union all "
        "select t0_s, dt_100us, forces_cn from frames_tail where session_id = ? order by 1",
        [session_id, session_id],
    )
    t, forces = decode_blocks(rows, len(names))
    if not len(t) and "frames_v1" in db.table_names():  # stored before schema 2
        legacy = db.execute(
            "select t_s, forces_n from frames_v1 where session_id = ? order by seq", [session_id]
        ).fetchall()
        t = np.array([r[0] for r in legacy], dtype=float)
        forces = np.array([json.loads(r[1]) for r in legacy], dtype=float).reshape(-1, len(names))
    if not len(t):
        raise StoreError(f"session {session_id} has no frames")
    return names, t, forces
