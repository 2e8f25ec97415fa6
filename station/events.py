"""What the station's runtime tells the rest of the station, as typed immutable events.

The acquisition thread publishes them in order, on its own thread, to every subscriber
(the coach, and whatever else wants to follow visits): a subscriber must return quickly and
never block. Events are frozen dataclasses, so no subscriber can change what another sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from station.core.steps import Contact


@dataclass(frozen=True, slots=True)
class VisitStarted:
    """Someone stepped on: a session is being recorded for `member_id` (None: a guest)."""

    key: int  # the store writer's key for this session
    t_s: float  # monotonic time of the session's first (pre-roll) frame
    member_id: int | None
    exercise: str


@dataclass(frozen=True, slots=True)
class VisitEnded:
    """They stepped off: the session is closed and its report built (the stored report)."""

    key: int
    t_s: float
    report: MappingProxyType[str, Any]


@dataclass(frozen=True, slots=True)
class ContactReported:
    """A foot contact of the visit, provisional or final (see station.core.steps)."""

    key: int
    contact: Contact


@dataclass(frozen=True, slots=True)
class FrameSeen:
    """One frame's total force (N) and CoP (m; None with nobody on the mat)."""

    t_s: float
    fz_n: float
    x_m: float | None
    y_m: float | None


Event = VisitStarted | VisitEnded | ContactReported | FrameSeen


def frozen_report(report: dict[str, Any]) -> MappingProxyType[str, Any]:
    """A read-only view of a report, for an immutable event."""
    return MappingProxyType(dict(report))
