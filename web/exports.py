"""Exports a member can read: units in the column names, sensible rounding, local times,
exercise titles and a short legend.

The stored numbers stay in SI units at full precision (the database, the raw recording
CSV); these files are for people, so lengths are in cm to 0.1, speeds in m/s to 0.01 and
times are local with their UTC offset.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Response


@dataclass(frozen=True)
class Column:
    key: str  # in the row as stored
    name: str  # in the file, with its unit
    meaning: str
    scale: float | None = None  # None: not a number, copied as it is
    digits: int = 0


# what the history's cards show beside the numbers, for runs and sessions alike
MARK_COLUMNS = [
    Column("quality_words", "data quality", "the mat's data: good, or what to check"),
    Column(
        "wall_time_share",
        "hand on the wall (% of time)",
        "share of the measured time part of the weight went into the wall (0: none)",
        100,
        0,
    ),
    Column(
        "wall_weight_share",
        "weight on the wall (%)",
        "mean share of the weight the wall took while it did",
        100,
        0,
    ),
]


def export_marks(quality: dict[str, Any] | None, support: dict[str, Any] | None) -> dict:
    """The MARK_COLUMNS of a run or session from its stored quality and support."""
    support = support or {}
    judged = support.get("supported") is not None
    return {
        "quality_words": (quality or {}).get("words"),
        "wall_time_share": (support.get("time_share") or 0.0) if judged else None,
        "wall_weight_share": support.get("weight_share") if support.get("supported") else None,
    }


RUN_COLUMNS = [
    Column("ended_at", "when (local time)", "when the exercise ended"),
    Column("title", "exercise", "which exercise"),
    Column("paces", "paces", "paces walked", 1, 0),
    Column("step_length_m", "step length (cm)", "mean length of a step", 100, 1),
    Column("cadence_steps_per_min", "cadence (steps/min)", "steps a minute", 1, 0),
    Column("speed_m_per_s", "speed (m/s)", "walking speed, the way walked", 1, 2),
    Column("time_for_3_m_s", "3 m would take (s)", "time for 3 m at that speed", 1, 1),
    Column("romberg_mean_velocity", "Romberg ratio", "sway eyes closed / sway eyes open", 1, 2),
    Column("eyes_open_velocity_m_per_s", "sway eyes open (cm/s)", "CoP path per second", 100, 1),
    # new columns go after the old ones, so a studio's spreadsheet keeps its places
    Column("direction", "walked", "backward, forward, or unknown: a walk-up's, as the mat saw it"),
    *MARK_COLUMNS,
]

SESSION_COLUMNS = [
    Column("session_id", "session", "its number, as in the raw recording's file name"),
    Column("started_at", "started (local time)", "when the member stepped on"),
    Column("title", "exercise", "the exercise chosen for the visit"),
    Column("duration_s", "on the mat (s)", "from stepping on to stepping off", 1, 1),
    Column("step_count", "foot contacts", "every foot contact, stepping on included", 1, 0),
    Column("step_length_m", "step length (cm)", "mean length of a walking step", 100, 1),
    Column("cadence_steps_per_min", "cadence (steps/min)", "steps a minute", 1, 0),
    Column("speed_m_per_s", "speed (m/s)", "walking speed", 1, 2),
    Column("lateral_sway_m", "side-to-side sway (cm)", "of the walking line, RMS", 100, 1),
    Column("sway_velocity_m_per_s", "standing sway (cm/s)", "CoP path per second", 100, 1),
    *MARK_COLUMNS,
]

STEP_COLUMNS = [
    Column("t_s", "time (s)", "from the start of the session's recording", 1, 3),
    Column("x_m", "along the mat (cm)", "from the mat's centre, towards its front", 100, 1),
    Column("y_m", "across the mat (cm)", "from the mat's centre, towards its left", 100, 1),
    Column("foot", "foot", "the walker's own left or right"),
]


def local_datetime(stamp: str) -> datetime | None:
    """A stored time (UTC, ISO 8601) in the station's time zone; None for a date alone or
    anything that is not a time."""
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if when.tzinfo is None:
        if len(stamp) <= 10:
            return None
        when = when.replace(tzinfo=UTC)
    return when.astimezone()


def local_iso(stamp: str | None) -> str:
    """A stored UTC time as local time with its offset, to the minute."""
    when = local_datetime(stamp) if stamp else None
    return when.isoformat(timespec="minutes") if when else stamp or ""


def readable(rows: list[dict[str, Any]], columns: list[Column]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        item: dict[str, Any] = {}
        for c in columns:
            value = row.get(c.key)
            if c.key.endswith("_at"):
                value = local_iso(value)
            elif c.scale is not None and isinstance(value, int | float):
                value = round(value * c.scale, c.digits) if c.digits else round(value * c.scale)
            item[c.name] = value
        out.append(item)
    return out


def legend(columns: list[Column]) -> dict[str, str]:
    return {c.name: c.meaning for c in columns}


def csv_response(rows: list[dict[str, Any]], columns: list[Column], filename: str) -> Response:
    """CSV with the units in its header and the legend below the rows, as `#` lines."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([c.name for c in columns])
    for row in readable(rows, columns):
        writer.writerow(["" if row[c.name] is None else row[c.name] for c in columns])
    writer.writerow([])
    for c in columns:
        writer.writerow([f"# {c.name}: {c.meaning}"])
    writer.writerow(["# rounded for reading; the raw recording keeps full precision"])
    return _download(buf.getvalue(), "text/csv", filename)


def json_response(body: dict[str, Any], filename: str) -> Response:
    return _download(json.dumps(body, indent=1), "application/json", filename)


def _download(text: str, mimetype: str, filename: str) -> Response:
    return Response(
        text,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
