"""What the station says about its calibration: when it was made, what the last check found.

The station reads this at start-up and shows it in `health` and on the kiosk, so staff know
when the mat needs recalibrating (check-weight results: `balance-station calibrate --check`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlite_utils

from station.store_calibrations import latest_check, newest_calibration


def calibration_state(db: sqlite_utils.Database, cells: Sequence[str]) -> dict[str, Any]:
    """What `health` says about the calibration in use: when, last check, verdict."""
    calibration = newest_calibration(db, cells)
    if calibration is None:
        return {"calibrated": False, "needs_recalibration": True, "advice": "not calibrated"}
    state: dict[str, Any] = {
        "calibrated": True,
        "id": calibration.id,
        "calibrated_at": calibration.created_at,
        "checked_at": None,
        "needs_recalibration": False,
        "advice": "not checked since calibration",
    }
    check = latest_check(db, calibration.id)
    if check is not None:
        state.update(
            checked_at=check.checked_at,
            needs_recalibration=check.needs_recalibration,
            advice=check.report["advice"],
            gain_drift_pct=check.report["gain_drift_pct"],
        )
    return state
