"""Fan-out of live messages to any number of viewers, never blocking the publisher.

Each viewer has a bounded queue: a slow or dead browser loses its oldest messages (and the
count of what it lost is kept), while acquisition and storage carry on untouched.
"""

from __future__ import annotations

import threading
from collections import deque


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
