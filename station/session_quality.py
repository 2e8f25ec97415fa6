"""What the running station knows about a session's data beyond its frames.

The quality mark (station.core.quality) is pure; this gathers its inputs from the source's
health (a HX711 or Pico source counts dropped frames, rejected glitches and names faulty
cells; the simulator keeps none) and the calibration state `calibrate --check` left, as
counts over one session: the health at its end less the health at its start.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def source_health(source: Any) -> dict[str, Any] | None:
    """The source's own health report, or None for a source that keeps none."""
    health = getattr(source, "health", None)
    return health() if health is not None else None


def quality_inputs(
    start: dict[str, Any] | None, end: dict[str, Any] | None, now: datetime | None = None
) -> dict[str, Any]:
    """`build_report(station=...)` from the source's health at the session's start and end."""
    if end is None:
        return {}
    start = start or {}

    def grown(key: str) -> int:
        return max(_count(end.get(key)) - _count(start.get(key)), 0)

    out: dict[str, Any] = {
        "source": {
            "frames_dropped": grown("frames_dropped"),
            "frames_held": grown("glitches_rejected"),  # a rejected glitch holds the last value
            "faulty_cells": list(end.get("faulty_cells") or []),
        }
    }
    calibration = end.get("calibration")
    if calibration:
        out["calibration"] = calibration_facts(calibration, now or datetime.now(UTC))
    return out


def calibration_facts(state: dict[str, Any], now: datetime) -> dict[str, Any]:
    """calibration_checks.calibration_state() as the quality mark reads it (age in days)."""
    facts: dict[str, Any] = {
        "calibrated": bool(state.get("calibrated")),
        "needs_recalibration": bool(state.get("needs_recalibration")),
        "gain_drift_pct": state.get("gain_drift_pct"),
        "checked_since": state.get("checked_at") is not None,
        "age_days": None,
    }
    when = state.get("calibrated_at")
    if when:
        try:
            stamp = datetime.fromisoformat(str(when).replace("Z", "+00:00"))
        except ValueError:
            return facts  # an unreadable date: the age is not judged
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=UTC)
        facts["age_days"] = (now - stamp).total_seconds() / 86400.0
    return facts


def _count(value: Any) -> int:
    if isinstance(value, dict):  # per cell
        return sum(int(v) for v in value.values())
    return int(value or 0)
