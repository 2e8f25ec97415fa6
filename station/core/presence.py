"""Who is on the mat: turns total force into visits (one session per visit).

Hysteresis in force (on above one threshold, off below a lower one) and in time (the
condition must hold for a while) keeps a wobble, a shuffle or a single heavy step from
splitting or starting a session.
"""

from __future__ import annotations

from collections import deque
from enum import Enum

from . import GRAVITY_M_PER_S2
from .config import SessionConfig


class Presence(Enum):
    EMPTY = "empty"
    OCCUPIED = "occupied"


class PresenceTracker:
    def __init__(self, config: SessionConfig) -> None:
        self.config = config
        self.state = Presence.EMPTY
        self._since: float | None = None  # start of the run that may flip the state

    def update(self, t: float, fz: float) -> str | None:
        """Feed one frame; returns "on" or "off" on the frame that confirms a change."""
        cfg = self.config
        if self.state is Presence.EMPTY:
            if fz >= cfg.on_threshold_n:
                if self._since is None:
                    self._since = t
                if t - self._since >= cfg.on_hold_s:
                    self.state = Presence.OCCUPIED
                    self._since = None
                    return "on"
            else:
                self._since = None
        else:
            if fz < cfg.off_threshold_n:
                if self._since is None:
                    self._since = t
                if t - self._since >= cfg.off_hold_s:
                    self.state = Presence.EMPTY
                    self._since = None
                    return "off"
            else:
                self._since = None
        return None


class WeightMeter:
    """The member's weight for the screen: one second's mean of the frames with somebody on.

    Somebody is on by the visit's own thresholds (on from `on_threshold_n`, off below
    `off_threshold_n`, without the hold times, so the number appears at once); the mean
    over a second is a steady number to read, not the bounce of every step.
    """

    def __init__(self, config: SessionConfig, window_s: float = 1.0) -> None:
        self.config = config
        self.window_s = window_s
        self.on = False
        self._loaded: deque[tuple[float, float]] = deque()
        self._sum_n = 0.0

    def update(self, t: float, fz: float) -> float | None:
        """Feed one frame; the weight in kg while somebody is on, else None."""
        if self.on:
            self.on = fz >= self.config.off_threshold_n
        else:
            self.on = fz >= self.config.on_threshold_n
        if self.on:
            self._loaded.append((t, fz))
            self._sum_n += fz
        while self._loaded and (not self.on or self._loaded[0][0] <= t - self.window_s):
            self._sum_n -= self._loaded.popleft()[1]
        if not self.on or not self._loaded:
            return None
        return self._sum_n / len(self._loaded) / GRAVITY_M_PER_S2
