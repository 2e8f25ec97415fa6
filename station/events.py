"""What the station's runtime tells the rest of the station: typed immutable events on one bus.

The acquisition thread publishes every frame, contact and visit; the live feed (kiosk), the
recorder (store writer), the report builder, the coach and the GPIO panel subscribe (see
station.runtime). Events are frozen dataclasses, published once and never changed: a
correction (a provisional contact made final or retracted) is a new event.

A subscriber is either *inline* (called on the publisher's thread, so it must be quick and
never block: a queue put, a counter) or has its own thread and queue, so slow work (the
end-of-visit report, SQLite reads) never delays the 80 Hz loop. Each subscriber sees the
events of one publisher in the order they were published.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from station.core.steps import Contact, StepDetector

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FrameSeen:
    """One frame: per-cell forces (N), total force (N), CoP (m; None on an empty mat) and the
    weight the kiosk shows (kg; None while nobody is on, station.core.thresholds)."""

    t_s: float
    fz_n: float
    x_m: float | None
    y_m: float | None
    forces_n: tuple[float, ...] = ()
    weight_kg: float | None = None


@dataclass(frozen=True, slots=True)
class VisitStarted:
    """Someone stepped on: a session is being recorded for `member_id` (None: a guest)."""

    key: int  # the store writer's key for this session
    t_s: float  # monotonic time of the session's first (pre-roll) frame
    member_id: int | None
    exercise: str


@dataclass(frozen=True, slots=True)
class FrameRecorded:
    """A frame of the open session, as it is stored: time since the session's first frame."""

    key: int
    seq: int
    t_s: float
    forces_n: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class ContactReported:
    """A foot contact of the visit, provisional or final (see station.core.steps).

    `contact` is a copy taken when it was reported: the detector's own object changes as it
    learns more, and each change is reported again as a new event.
    """

    key: int
    contact: Contact
    foot: str = ""  # the live first guess; the report relabels feet from the whole pass
    steps: int = 0  # contacts of the visit so far, retracted ones not counted
    new: bool = False  # the first report of this contact that is not retracted


@dataclass(frozen=True, slots=True)
class VisitRecording:
    """Everything the live core saw in one visit, handed over (read-only) for its report."""

    t_s: np.ndarray  # since the session's first frame, exactly as stored
    fz_n: np.ndarray
    x_m: np.ndarray  # nan with nobody on the mat
    y_m: np.ndarray
    forces_n: np.ndarray  # frames x cells
    detector: StepDetector  # finished: no more frames reach it
    support: dict[str, Any] | None = None  # the live hand-on-the-wall detector's summary
    standing_weight_n: float | None = None  # the member's reference weight it started from
    station: dict[str, Any] | None = None  # the source's counts and calibration, for quality
    expected_direction: str = "backward"  # the exercise's way; "none": a walk-up's, not told


@dataclass(frozen=True, slots=True)
class VisitClosed:
    """They stepped off (or the visit hit its limit): no more frames for `key`."""

    key: int
    t_s: float  # monotonic time of its last frame
    status: str  # complete, too_long
    recording: VisitRecording | None = None


@dataclass(frozen=True, slots=True)
class VisitEnded:
    """The closed visit's report is built (the stored report, to the number)."""

    key: int
    t_s: float
    report: MappingProxyType[str, Any]
    status: str = "complete"


@dataclass(frozen=True, slots=True)
class StationStateChanged:
    """What the panel's LED shows: idle, ready (someone on), recording, fault."""

    state: str


@dataclass(frozen=True, slots=True)
class StatusChanged:
    """The acquisition status changed outside the frame rhythm (a cell fault, a stop)."""

    status: MappingProxyType[str, Any]


Event = (
    FrameSeen
    | VisitStarted
    | FrameRecorded
    | ContactReported
    | VisitClosed
    | VisitEnded
    | StationStateChanged
    | StatusChanged
)
Handler = Callable[[Event], None]


def frozen_report(report: dict[str, Any]) -> MappingProxyType[str, Any]:
    """A read-only view of a report, for an immutable event."""
    return MappingProxyType(dict(report))


def contact_snapshot(contact: Contact) -> Contact:
    """A copy of a contact as it is now, for an event that must not change later."""
    return dataclasses.replace(contact, plateau_xy=list(contact.plateau_xy))


def read_only(values: Any) -> np.ndarray:
    array = np.array(values)
    array.flags.writeable = False
    return array


class _Worker(threading.Thread):
    """One subscriber's own thread: takes its events in order from an unbounded queue.

    Unbounded on purpose: dropping a coach's or the report builder's events would corrupt
    what they compute, and each keeps up with 80 frames/s by a wide margin (`pending` shows
    how far behind one is).
    """

    def __init__(self, handler: Handler, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.handler = handler
        self._cond = threading.Condition()
        self._queue: deque[Event] = deque()
        self._busy = False
        self._closed = False

    def put(self, event: Event) -> None:
        with self._cond:
            self._queue.append(event)
            self._cond.notify_all()

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._queue) + self._busy

    def run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._closed)
                if not self._queue:
                    return
                batch = list(self._queue)  # all that is waiting: one wake-up, not one each
                self._queue.clear()
                self._busy = True
            for event in batch:
                try:
                    self.handler(event)
                except Exception:  # one subscriber's fault must not stop the others
                    log.exception("event subscriber %s failed", self.name)
            with self._cond:
                self._busy = False
                self._cond.notify_all()

    def drain(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class EventBus:
    """Ordered fan-out of events to inline subscribers and to subscribers with a thread."""

    def __init__(self) -> None:
        self._subscribers: list[tuple[Handler, _Worker | None, tuple[type, ...]]] = []

    def subscribe(
        self,
        handler: Handler,
        *,
        inline: bool = False,
        name: str = "",
        kinds: tuple[type, ...] = (),
    ) -> None:
        """Add a subscriber; `inline` ones run on the publisher's thread and must be quick.

        `kinds`: the event types it wants (default all); a threaded subscriber that needs no
        frames is then not woken 80 times a second.
        """
        worker = None
        if not inline:
            worker = _Worker(handler, name or f"events-{getattr(handler, '__qualname__', '')}")
            worker.start()
        # a new list: publishers on other threads keep iterating over the old one
        self._subscribers = [*self._subscribers, (handler, worker, kinds)]

    def publish(self, event: Event) -> None:
        for handler, worker, kinds in self._subscribers:
            if kinds and not isinstance(event, kinds):
                continue
            if worker is not None:
                worker.put(event)
                continue
            try:
                handler(event)
            except Exception:  # one subscriber's fault must not stop the publisher
                log.exception("inline event subscriber failed")

    @property
    def pending(self) -> int:
        """Events waiting in subscribers' queues."""
        return sum(w.pending for _, w, _ in self._subscribers if w is not None)

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until every threaded subscriber has handled what it was sent (and what those
        events led to, such as a report published after a visit closed)."""
        deadline = time.monotonic() + timeout
        while True:
            workers = [w for _, w, _ in self._subscribers if w is not None]
            for worker in workers:
                if not worker.drain(max(0.0, deadline - time.monotonic())):
                    return False
            if all(w.pending == 0 for w in workers):
                return True

    def close(self, timeout: float = 30.0) -> None:
        self.drain(timeout)
        for _, worker, _ in self._subscribers:
            if worker is not None:
                worker.close()
