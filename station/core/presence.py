"""Who is on the mat: turns total force into visits (one session per visit).

Hysteresis in force (on above one threshold, off below a lower one) and in time (the
condition must hold for a while) keeps a wobble, a shuffle or a single heavy step from
splitting or starting a session.
"""

from __future__ import annotations

from enum import Enum

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
