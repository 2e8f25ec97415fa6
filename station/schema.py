"""The database schema: ordered migrations and the compact frame blocks.

The schema version is SQLite's own `PRAGMA user_version`, so any SQLite tool can tell which
release made a file. Each migration runs in one transaction together with the version bump:
a migration that fails leaves the file exactly as it was. A database made by a newer release
is refused rather than guessed at.

Why not a migrations library: sqlite-utils' `Migrations` records applied steps by name in a
table of its own and does not refuse a newer file; one ordered list and `user_version` is
all the station needs, and it is readable in twenty lines.

Frames are stored in blocks of up to `BLOCK_FRAMES` consecutive frames of one session:

- `t0_s`      the session time of the block's first frame (s, kept to 0.1 ms)
- `dt_100us`  JSON array: each frame's time after the frame before it, in 0.1 ms units
              (the first is 0: it is at `t0_s`); about 125 at 80 frames/s
- `forces_cn` JSON array of integers, forces in centinewtons (0.01 N), frame after frame,
              one value per cell in the order of the session's `mat_json` cells

`frames` only grows at its end (its pages stay full); the block still being filled for a
recording session sits in `frames_tail` (one row per session) until it is full.

The view `frame_rows` gives one row per frame (`session_id, seq, t_s, forces_n`) in newtons
for anyone reading with plain SQL.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import sqlite_utils

BLOCK_FRAMES = 40  # half a second at 80 frames/s: about 1.1 kB, 15 to a 16 kB page
FORCE_SCALE = 100  # stored integers per newton (centinewtons)
TIME_SCALE = 10_000  # stored integers per second (0.1 ms): 1/125 of a frame at 80 frames/s
TIME_DECIMALS = 4  # frame times are kept (and used live) to 0.1 ms
NEW_PAGE_SIZE = 16384  # new files only; larger pages waste less space around the blocks


class SchemaError(RuntimeError):
    """A database this release cannot use (made by a newer release)."""


# --- frame blocks --------------------------------------------------------------------------


def encode_block(
    t_s: Sequence[float], forces_n: Sequence[Sequence[float]]
) -> tuple[float, str, str]:
    """(t0_s, dt_100us JSON, forces_cn JSON) for consecutive frames of one session."""
    ticks = [round(float(t) * TIME_SCALE) for t in t_s]
    dt = [0] + [b - a for a, b in itertools.pairwise(ticks)]
    forces_cn = [round(float(f) * FORCE_SCALE) for row in forces_n for f in row]
    return ticks[0] / TIME_SCALE, _compact_json(dt), _compact_json(forces_cn)


def decode_blocks(
    rows: Iterable[tuple[float, str, str]], cells: int
) -> tuple[np.ndarray, np.ndarray]:
    """(t, forces) of blocks in order: exactly the numbers that were encoded."""
    times: list[np.ndarray] = []
    forces: list[np.ndarray] = []
    for t0, dt_100us, forces_cn in rows:
        ticks = round(t0 * TIME_SCALE) + np.cumsum(json.loads(dt_100us))
        times.append(ticks / TIME_SCALE)
        forces.append(np.array(json.loads(forces_cn), dtype=float).reshape(-1, cells) / FORCE_SCALE)
    if not times:
        return np.empty(0), np.empty((0, cells))
    return np.concatenate(times), np.concatenate(forces)


def block_frames(db: sqlite_utils.Database) -> int:
    """Frames per block for this file: half as many on the 4 kB pages of older files."""
    page_size = db.execute("pragma page_size").fetchone()[0]
    return BLOCK_FRAMES if page_size >= 8192 else BLOCK_FRAMES // 2


def _compact_json(values: list[int]) -> str:
    return json.dumps(values, separators=(",", ":"))


# --- migrations ---------------------------------------------------------------------------


def _v1_release_0_1(db: sqlite_utils.Database) -> None:
    """The tables of release 0.1, created where missing (its files carry user_version 0)."""
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
    if "settings" not in db.table_names():  # the kiosk's secrets and staff password hash
        db["settings"].create({"key": str, "value": str}, pk="key")


_FRAME_ROWS_BLOCKS = """
select f.session_id as session_id, f.first_seq + t.key as seq,
       round(f.t0_s + sum(t.value) over (
           partition by f.session_id, f.first_seq order by t.key) / 10000.0, 4) as t_s,
       (select json_group_array(c.value / 100.0) from json_each(f.forces_cn) c
         where c.key >= t.key * (json_array_length(f.forces_cn) / f.frame_count)
           and c.key < (t.key + 1) * (json_array_length(f.forces_cn) / f.frame_count)
       ) as forces_n
from (select * from frames union all select * from frames_tail) f, json_each(f.dt_100us) t
"""


_BLOCK_COLUMNS = {
    "session_id": int,
    "first_seq": int,
    "frame_count": int,
    "t0_s": float,
    "dt_100us": str,
    "forces_cn": str,
}


def _v2_frame_blocks(db: sqlite_utils.Database) -> None:
    """Frames in compact blocks. Frames stored by 0.1 stay untouched in `frames_v1`."""
    db.execute("alter table frames rename to frames_v1")
    db["frames"].create(
        _BLOCK_COLUMNS,
        pk=("session_id", "first_seq"),
        foreign_keys=[("session_id", "sessions", "id")],
    )
    # the block of each recording session still being filled (rewritten at every commit)
    db["frames_tail"].create(
        _BLOCK_COLUMNS,
        pk="session_id",
        foreign_keys=[("session_id", "sessions", "id")],
    )
    legacy = db.execute("select exists (select 1 from frames_v1)").fetchone()[0]
    if legacy:
        view = (
            f"{_FRAME_ROWS_BLOCKS} union all select session_id, seq, t_s, forces_n from frames_v1"
        )
    else:
        db.execute("drop table frames_v1")
        view = _FRAME_ROWS_BLOCKS
    db.execute(f"create view frame_rows as {view}")


def _v3_frames_lost(db: sqlite_utils.Database) -> None:
    """How many frames of a session could not be stored (a full or failing disk)."""
    db["sessions"].add_column("frames_lost", int, not_null_default=0)


_V4_TABLES = """
create table if not exists calibration_checks (
    id integer primary key, calibration_id integer references calibrations(id),
    checked_at text, needs_recalibration integer, report_json text);
create table if not exists web_sessions (
    id_hash text primary key, kind text not null, member_id integer,
    created_at real not null, last_seen real not null);
create table if not exists share_links (
    token_hash text primary key, member_id integer not null, expires_at real not null);
create table if not exists throttle (
    kind text not null, key text not null, at real not null, attempt text not null);
create index if not exists throttle_kind_key on throttle (kind, key, at);
"""


def _v4_checks_and_sign_ins(db: sqlite_utils.Database) -> None:
    """Calibration checks, web sign-ins, share links and the guess throttle.

    Until schema 3 the code that used these tables created them on first use, so a file of
    schema 3 may have any of them already (with these same columns): they are kept as they are.
    """
    for statement in _V4_TABLES.split(";"):
        if statement.strip():
            db.execute(statement)


def _v5_standing_weight(db: sqlite_utils.Database) -> None:
    """Each visit's measured standing weight, where no hand was on the wall: a member's
    reference weight for the hand on the wall comes from their latest ones
    (store_members.member_standing_weight_n). Filled in from the stored reports."""
    db["summaries"].add_column("standing_weight_n", float)
    db.execute("create index if not exists sessions_member_id on sessions (member_id)")
    db.execute(
        "update summaries set standing_weight_n = coalesce("
        "json_extract(report_json, '$.support.measured_weight_n'), "
        "json_extract(report_json, '$.support.standing_weight_n')) "
        "where json_valid(report_json) "
        "and json_extract(report_json, '$.support.supported') = 0"
    )


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _v1_release_0_1,
    _v2_frame_blocks,
    _v3_frames_lost,
    _v4_checks_and_sign_ins,
    _v5_standing_weight,
]
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(db: sqlite_utils.Database) -> int:
    return int(db.execute("pragma user_version").fetchone()[0])


def migrate(db: sqlite_utils.Database) -> list[int]:
    """Bring a database to SCHEMA_VERSION; the versions applied, oldest first."""
    current = schema_version(db)
    if current > SCHEMA_VERSION:
        raise SchemaError(
            f"made by a newer Balance Station (schema {current}; this release knows up to "
            f"{SCHEMA_VERSION}): upgrade the station"
        )
    if current == 0 and not db.table_names():
        # a new file: larger pages (only possible before the first table and WAL)
        db.execute(f"pragma page_size = {NEW_PAGE_SIZE}")
    applied = []
    for version in range(current + 1, SCHEMA_VERSION + 1):
        with transaction(db.conn):  # the migration and its version, or neither
            MIGRATIONS[version - 1](db)
            db.conn.execute(f"pragma user_version = {version}")
        applied.append(version)
    return applied


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """An explicit transaction: Python's sqlite3 would run DDL outside one."""
    conn.execute("begin immediate")
    try:
        yield
    except BaseException:
        conn.rollback()
        raise
    conn.commit()
