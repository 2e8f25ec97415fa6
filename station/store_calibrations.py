"""Calibrations and check-weight results, as stored.

- `calibrations`        id, created_at, cells_json, offsets_json, gains_json, report_json;
                        every calibration stays for the record, the newest for a mat's cells
                        is the one in use
- `calibration_checks`  id, calibration_id, checked_at, needs_recalibration, report_json
                        (`balance-station calibrate --check`)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from .store import utc_now


@dataclass(frozen=True)
class StoredCalibration:
    id: int
    created_at: str
    offsets: list[float]
    gains: list[float]


@dataclass(frozen=True)
class CalibrationCheck:
    checked_at: str
    needs_recalibration: bool
    report: dict[str, Any]


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


def newest_calibration(db: sqlite_utils.Database, cells: Sequence[str]) -> StoredCalibration | None:
    """The newest calibration for exactly these cells (in this order), or None."""
    row = db.execute(
        "select id, created_at, offsets_json, gains_json from calibrations where cells_json = ? "
        "order by id desc limit 1",
        [json.dumps(list(cells))],
    ).fetchone()
    if row is None:
        return None
    return StoredCalibration(row[0], row[1], json.loads(row[2]), json.loads(row[3]))


def latest_calibration(
    db: sqlite_utils.Database, cells: Sequence[str]
) -> tuple[list[float], list[float], str] | None:
    """(offsets, gains, created_at) of the newest calibration for exactly these cells."""
    found = newest_calibration(db, cells)
    return None if found is None else (found.offsets, found.gains, found.created_at)


def newest_calibration_id(db: sqlite_utils.Database, cells: Sequence[str]) -> int | None:
    found = newest_calibration(db, cells)
    return None if found is None else found.id


def save_check(db: sqlite_utils.Database, calibration_id: int, report: dict[str, Any]) -> int:
    """A check-weight result for a calibration; `report` says whether it needs redoing."""
    row = {
        "calibration_id": calibration_id,
        "checked_at": utc_now(),
        "needs_recalibration": int(bool(report["needs_recalibration"])),
        "report_json": json.dumps(report),
    }
    with db.conn:
        return db["calibration_checks"].insert(row).last_pk


def latest_check(db: sqlite_utils.Database, calibration_id: int) -> CalibrationCheck | None:
    """The newest check of one calibration, or None if it was never checked."""
    row = db.execute(
        "select checked_at, needs_recalibration, report_json from calibration_checks "
        "where calibration_id = ? order by id desc limit 1",
        [calibration_id],
    ).fetchone()
    if row is None:
        return None
    return CalibrationCheck(row[0], bool(row[1]), json.loads(row[2]))
