"""Build the frame source a config asks for."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from station.core.calibration import Calibration
from station.core.config import StationConfig
from station.core.frames import RawFrame


class SourceError(RuntimeError):
    """A source that cannot start (missing recording, no GPIO): a one-line reason."""


class FrameSource(Protocol):
    name: str

    @property
    def calibration(self) -> Calibration: ...

    def frames(self, realtime: bool = True) -> Iterator[RawFrame]: ...


def make_source(config: StationConfig) -> FrameSource:
    kind = config.source.kind
    if kind == "sim":
        from .simulator.mat import SimulatedMat

        return SimulatedMat(config.mat, config.source.sim, config.source.rate_hz)
    if kind == "replay":
        from station.core.recording import RecordingError

        from .replay import ReplaySource

        if not config.source.recording:
            raise SourceError("--source replay needs a recording: --recording REC.csv")
        try:
            return ReplaySource(config.mat, config.source.recording)
        except RecordingError as exc:
            raise SourceError(str(exc)) from None
    raise SourceError(f"unknown source {kind!r}")
