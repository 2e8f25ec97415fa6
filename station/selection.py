"""Who is on the mat next: the kiosk's choice (member and exercise) for one visit only.

A choice is fresh for `lifetime_s` after it is made. The next visit that starts takes it
(and so uses it up); a visit that finds no fresh choice is a guest visit of the default
exercise, walked with no choice made: the station does not assume which way they face
(a walk-up may walk any way; see `Choice.chosen`). Nothing else reads or clears it, so one
member's choice can never carry over to somebody else's visit.

A member's choice also carries their reference weight for the hand on the wall
(station/core/support.py), looked up when they choose (on the kiosk's thread, not the
acquisition's, which must never wait for the database).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_EXERCISE = "backward_walk"


@dataclass(frozen=True)
class Choice:
    member_id: int | None  # None: a guest
    exercise: str
    made_at: float  # on the desk's clock
    standing_weight_n: float | None = None  # the member's reference weight, if known
    # made on the kiosk (a member or "Guest" picked the exercise); False for a walk-up, whose
    # direction and feet come from the signal alone (station/core/gait.py)
    chosen: bool = True


class SelectionDesk:
    """Thread-safe: the kiosk's web threads choose, the acquisition thread takes."""

    def __init__(
        self,
        lifetime_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        weigh: Callable[[int], float | None] | None = None,
    ) -> None:
        """`weigh(member_id)`: the member's reference weight (N), or None if not known."""
        self.lifetime_s = lifetime_s
        self.clock = clock
        self.weigh = weigh
        self._choice: Choice | None = None
        self._lock = threading.Lock()

    def choose(self, member_id: int | None, exercise: str) -> Choice:
        weight = None
        if member_id is not None and self.weigh is not None:
            weight = self.weigh(member_id)
        with self._lock:
            self._choice = Choice(member_id, exercise, self.clock(), weight)
            return self._choice

    def current(self) -> Choice | None:
        """The fresh choice waiting for the next visit, if any."""
        with self._lock:
            if self._choice is not None and self._stale(self._choice):
                self._choice = None
            return self._choice

    def take(self) -> Choice:
        """For a visit that starts now: the fresh choice (used up), or a guest."""
        with self._lock:
            choice, self._choice = self._choice, None
        if choice is None or self._stale(choice):
            return Choice(None, DEFAULT_EXERCISE, self.clock(), chosen=False)
        return choice

    def expire(self) -> Choice | None:
        """Drop a choice nobody used in time; returns it (None if there was none to drop)."""
        with self._lock:
            if self._choice is not None and self._stale(self._choice):
                dropped, self._choice = self._choice, None
                return dropped
        return None

    def clear(self) -> None:
        with self._lock:
            self._choice = None

    def _stale(self, choice: Choice) -> bool:
        return self.clock() - choice.made_at > self.lifetime_s
