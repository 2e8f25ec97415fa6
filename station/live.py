"""Fan-out of live messages to any number of viewers, never blocking the publisher.

`LiveFeed` turns the station's events into those messages; `LiveHub` fans them out.

Each viewer has a bounded queue: a slow or dead browser loses its oldest messages (and the
count of what it lost is kept), while acquisition and storage carry on untouched.
"""

from __future__ import annotations

import json
import threading
from collections import deque

from station.events import (
    ContactReported,
    Event,
    FrameSeen,
    StatusChanged,
    VisitEnded,
    VisitStarted,
)


class Subscription:
    def __init__(self, maxlen: int) -> None:
        self.items: deque[tuple[str, str]] = deque(maxlen=maxlen)
        self.dropped = 0


class LiveHub:
    def __init__(self, queue_len: int = 400) -> None:
        self._cond = threading.Condition()
        self._subs: set[Subscription] = set()
        self.queue_len = queue_len
        self.closed = False

    def publish(self, kind: str, payload_json: str) -> None:
        """Queue one message (already JSON-encoded once, for every viewer) and wake them."""
        with self._cond:
            for sub in self._subs:
                if len(sub.items) == self.queue_len:
                    sub.dropped += 1
                sub.items.append((kind, payload_json))
            self._cond.notify_all()

    def subscribe(self) -> Subscription:
        sub = Subscription(self.queue_len)
        with self._cond:
            self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._cond:
            self._subs.discard(sub)

    @property
    def viewers(self) -> int:
        with self._cond:
            return len(self._subs)

    def wait(self, sub: Subscription, timeout: float) -> list[tuple[str, str]]:
        """Everything queued for this viewer, waiting up to timeout for the first message."""
        with self._cond:
            self._cond.wait_for(lambda: sub.items or self.closed, timeout=timeout)
            items = list(sub.items)
            sub.items.clear()
        return items

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


class LiveFeed:
    """The bus's events as the kiosk's live messages (an inline subscriber: JSON once).

    `wall_offset_s` turns monotonic frame times into wall-clock ones, so a browser can
    measure end-to-end latency.
    """

    KINDS = (FrameSeen, ContactReported, VisitStarted, VisitEnded, StatusChanged)

    def __init__(self, hub: LiveHub, wall_offset_s: float) -> None:
        self.hub = hub
        self.wall_offset_s = wall_offset_s

    def __call__(self, event: Event) -> None:
        if isinstance(event, FrameSeen):
            self._frame(event)
        elif isinstance(event, ContactReported):
            self._contact(event)
        elif isinstance(event, VisitStarted):
            started = {"event": "started", "key": event.key, "t0": round(event.t_s, 6)}
            self.hub.publish("session", json.dumps(started))
        elif isinstance(event, VisitEnded):
            brief = {
                k: v for k, v in event.report.items() if k not in ("steps", "passes", "support")
            }
            brief["supported"] = event.report["support"]["supported"]  # the detail: its weight
            ended = {"event": "ended", "key": event.key, **brief, "status": event.status}
            self.hub.publish("session", json.dumps(ended))
        elif isinstance(event, StatusChanged):
            self.hub.publish("status", json.dumps(dict(event.status)))

    def _frame(self, frame: FrameSeen) -> None:
        payload = {
            "t": round(frame.t_s, 4),
            "w": round(frame.t_s + self.wall_offset_s, 4),
            "fz": round(frame.fz_n, 1),
            "x": None if frame.x_m is None else round(frame.x_m, 4),
            "y": None if frame.y_m is None else round(frame.y_m, 4),
            "f": [round(f, 1) for f in frame.forces_n],
            # somebody on the mat, and their weight: the kiosk shows these, computes none
            "kg": None if frame.weight_kg is None else round(frame.weight_kg, 1),
        }
        self.hub.publish("frame", json.dumps(payload, separators=(",", ":")))

    def _contact(self, event: ContactReported) -> None:
        contact = event.contact
        payload = {
            "key": event.key,
            "index": contact.index,
            "t_s": round(contact.t_s, 4),
            "x": round(contact.x_m, 4),
            "y": round(contact.y_m, 4),
            "foot": event.foot,
            "final": contact.final,
            "retracted": contact.retracted,
            "steps": event.steps,
        }
        self.hub.publish("step", json.dumps(payload, separators=(",", ":")))
