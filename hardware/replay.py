"""Replay a recording CSV as a live source, paced by its own timestamps."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

from station.core.calibration import Calibration
from station.core.config import MatConfig
from station.core.frames import RawFrame
from station.core.recording import read_recording


class ReplaySource:
    name = "replay"

    def __init__(self, mat: MatConfig, path: str | Path, loop: bool = True) -> None:
        # Raises RecordingError (a clear one-liner) for a bad file or mismatched columns.
        self.recording = read_recording(path, expected_cells=mat.cell_names)
        self.loop = loop
        self._calibration = Calibration.identity(len(self.recording.cell_names))

    @property
    def calibration(self) -> Calibration:
        return self._calibration

    def frames(self, realtime: bool = True) -> Iterator[RawFrame]:
        rec = self.recording
        base = time.monotonic()
        # Gap between the end of one play and the start of the next: one mean frame period.
        period = float(rec.t[-1]) / max(len(rec.t) - 1, 1)
        while True:
            for t, row in zip(rec.t.tolist(), rec.forces.tolist(), strict=True):
                stamp = base + t
                if realtime:
                    delay = stamp - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)  # pacing playback, not synchronisation
                yield RawFrame(stamp, tuple(row))
            if not self.loop:
                return
            base += float(rec.t[-1]) + period
