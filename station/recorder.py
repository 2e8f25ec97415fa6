"""The store's side of the event bus: frames to the writer, reports built off the 80 Hz thread.

`Recorder` (inline: each call is a queue put) hands recorded frames and finished reports to
the store writer. `ReportBuilder` (its own thread) builds each closed visit's report from
what the live core saw, with the same code `analyze` uses, and publishes it as `VisitEnded`:
the live kiosk, the stored session and the coach all get that one report.
"""

from __future__ import annotations

from station.core.config import StationConfig
from station.core.report import build_report
from station.events import Event, EventBus, FrameRecorded, VisitClosed, VisitEnded, frozen_report
from station.store import StoreWriter


class Recorder:
    """Inline subscriber: recorded frames and ended visits into the store writer's queue."""

    KINDS = (FrameRecorded, VisitEnded)

    def __init__(self, writer: StoreWriter) -> None:
        self.writer = writer

    def __call__(self, event: Event) -> None:
        if isinstance(event, FrameRecorded):
            self.writer.add_frame(event.key, event.seq, event.t_s, event.forces_n)
        elif isinstance(event, VisitEnded):
            self.writer.end_session(event.key, dict(event.report), event.status)


class ReportBuilder:
    """Threaded subscriber: the report of every closed visit, published as `VisitEnded`."""

    KINDS = (VisitClosed,)

    def __init__(self, bus: EventBus, config: StationConfig) -> None:
        self.bus = bus
        self.config = config

    def __call__(self, event: Event) -> None:
        if not isinstance(event, VisitClosed) or event.recording is None:
            return
        r = event.recording
        report = build_report(
            r.t_s, r.fz_n, r.x_m, r.y_m, r.detector, r.expected_direction,
            forces=r.forces_n, mat=self.config.mat, station=r.station,
            support_config=self.config.support, quality_limits=self.config.quality,
            standing_weight_n=r.standing_weight_n,
        )  # fmt: skip
        self.bus.publish(VisitEnded(event.key, event.t_s, frozen_report(report), event.status))
