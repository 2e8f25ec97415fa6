"""Check-weight results (`balance-station calibrate --check`), kept beside the calibrations.

The station reads the newest check of its calibration at start-up and says in `health`
and on the kiosk when the mat needs recalibrating.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlite_utils

from station.store import utc_now


def newest_calibration_id(db: sqlite_utils.Database, cells: Sequence[str]) -> int | None:
    if "calibrations" not in db.table_names():
        return None
    rows = db.query(
        "select id from calibrations where cells_json = ? order by id desc limit 1",
        [json.dumps(list(cells))],
    )
    return next((row["id"] for row in rows), None)


def save_check(db: sqlite_utils.Database, calibration_id: int, report: dict[str, Any]) -> int:
    row = {
        "calibration_id": calibration_id,
        "checked_at": utc_now(),
        "needs_recalibration": int(bool(report["needs_recalibration"])),
        "report_json": json.dumps(report),
    }
    with db.conn:
        return db["calibration_checks"].insert(row, pk="id").last_pk


def calibration_state(db: sqlite_utils.Database, cells: Sequence[str]) -> dict[str, Any]:
    """What `health` says about the calibration in use: when, last check, verdict."""
    cal_id = newest_calibration_id(db, cells)
    if cal_id is None:
        return {"calibrated": False, "needs_recalibration": True, "advice": "not calibrated"}
    calibrated_at = db["calibrations"].get(cal_id)["created_at"]
    state: dict[str, Any] = {
        "calibrated": True,
        "id": cal_id,
        "calibrated_at": calibrated_at,
        "checked_at": None,
        "needs_recalibration": False,
        "advice": "not checked since calibration",
    }
    if "calibration_checks" in db.table_names():
        rows = db.query(
            "select * from calibration_checks where calibration_id = ? order by id desc limit 1",
            [cal_id],
        )
        for row in rows:
            report = json.loads(row["report_json"])
            state.update(
                checked_at=row["checked_at"],
                needs_recalibration=bool(row["needs_recalibration"]),
                advice=report["advice"],
                gain_drift_pct=report["gain_drift_pct"],
            )
    return state
