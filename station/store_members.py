"""Members and what the web pages read of their history.

- `members`  id, name, pin_hash (scrypt, or NULL for no PIN), created_at (UTC ISO 8601)

A member's reference weight for the hand on the wall is read from their sessions'
`summaries.standing_weight_n` (member_standing_weight_n).

A member's sessions, runs and reports are written by the store writer (`station/store.py`);
their JSON is parsed there, in `SessionSummary` and `ExerciseRun`.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from .store import ExerciseRun, exercise_runs

KEEP = object()  # `update_member(pin_hash=KEEP)`: the PIN stays as it is


@dataclass(frozen=True)
class Member:
    id: int
    name: str
    pin_hash: str | None
    created_at: str | None

    @property
    def has_pin(self) -> bool:
        return bool(self.pin_hash)


_MEMBER_COLUMNS = "id, name, pin_hash, created_at"


def list_members(db: sqlite_utils.Database) -> list[Member]:
    """Every member, by name."""
    rows = db.execute(f"select {_MEMBER_COLUMNS} from members order by name").fetchall()
    return [Member(*row) for row in rows]


def get_member(db: sqlite_utils.Database, member_id: int) -> Member | None:
    if not 0 < member_id < 2**63:  # beyond SQLite's integers: no such member either
        return None
    row = db.execute(f"select {_MEMBER_COLUMNS} from members where id = ?", [member_id]).fetchone()
    return None if row is None else Member(*row)


def name_taken(db: sqlite_utils.Database, name: str, other_than: int | None = None) -> bool:
    """Another member already has this name (ignoring case): the kiosk shows names only."""
    row = db.execute(
        "select 1 from members where lower(name) = lower(?) and id is not ?", [name, other_than]
    ).fetchone()
    return row is not None


def add_member(db: sqlite_utils.Database, name: str, pin_hash: str | None) -> int:
    created_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with db.conn:
        return (
            db["members"]
            .insert({"name": name, "pin_hash": pin_hash, "created_at": created_at})
            .last_pk
        )


def update_member(
    db: sqlite_utils.Database, member_id: int, name: str, pin_hash: Any = KEEP
) -> None:
    """A new name, and a new PIN hash (None: no PIN) unless `pin_hash` is KEEP."""
    update: dict[str, Any] = {"name": name}
    if pin_hash is not KEEP:
        update["pin_hash"] = pin_hash
    with db.conn:
        db["members"].update(member_id, update)


def member_standing_weight_n(
    db: sqlite_utils.Database, member_id: int, visits: int = 5, max_age_days: float = 90.0
) -> float | None:
    """The member's reference weight (N): the median of the standing weights measured in
    their latest `visits` visits without a hand on the wall, none older than
    `max_age_days`; None when there is none (the visit is judged as a guest's).

    The median of several visits: one visit with a heavy bag, or a quiet stand taken while
    stepping off, does not move it.
    """
    since = (datetime.now(UTC) - timedelta(days=max_age_days)).isoformat(timespec="seconds")
    rows = db.execute(
        "select m.standing_weight_n from summaries m join sessions s on s.id = m.session_id "
        "where s.member_id = ? and m.standing_weight_n is not null and s.started_at >= ? "
        "order by s.id desc limit ?",
        [member_id, since, visits],
    ).fetchall()
    return statistics.median(r[0] for r in rows) if rows else None


def member_runs(db: sqlite_utils.Database, member_id: int) -> list[ExerciseRun]:
    """Every run of a member, oldest first."""
    return exercise_runs(db, member_id, limit=-1)[::-1]  # SQLite: limit -1 is no limit


def member_sessions(db: sqlite_utils.Database, member_id: int) -> list[dict[str, Any]]:
    """One row per session of a member with its headline numbers, oldest first; `quality`
    and `support` are the stored report's (None for a session with no report)."""
    rows = []
    for row in db.query(
        "select s.id as session_id, s.started_at, s.exercise, m.duration_s, "
        "m.step_count, m.step_length_m, m.cadence_steps_per_min, m.speed_m_per_s, "
        "m.lateral_sway_m, m.sway_velocity_m_per_s, "
        "json_extract(m.report_json, '$.quality') as quality, "
        "json_extract(m.report_json, '$.support') as support from sessions s "
        "left join summaries m on m.session_id = s.id where s.member_id = ? "
        "order by s.id",
        [member_id],
    ):
        item = dict(row)
        for key in ("quality", "support"):
            item[key] = json.loads(item[key]) if item[key] else None
        rows.append(item)
    return rows


def is_members_session(db: sqlite_utils.Database, member_id: int, session_id: int) -> bool:
    """Whether this session exists and was recorded for this member."""
    if not 0 < session_id < 2**63:
        return False
    row = db.execute("select member_id from sessions where id = ?", [session_id]).fetchone()
    return row is not None and row[0] == member_id
