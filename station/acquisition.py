"""The acquisition loop: source -> calibration -> CoP -> presence and steps -> event bus.

One thread does it per frame in a few microseconds and publishes typed events
(station.events); it never waits for anyone. The live feed and the recorder subscribe
inline (a JSON encoding, a queue put: publishing to viewers never blocks, and the store
writer has its own thread and a bounded queue, so a failing disk costs stored frames, never
the live screen); the end-of-visit report, the coach and the panel have their own threads.

A visit longer than `session.max_visit_s` ends, flagged `too_long`, and no new one starts
until the mat has been empty: a bag left on the mat costs neither memory nor a session a
minute.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from array import array
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from hardware.panel import station_state
from hardware.sources import FrameSource
from station.core.config import StationConfig
from station.core.cop import CopCalculator
from station.core.frames import ForceFrame
from station.core.gait import live_feet_told_later, live_foot
from station.core.presence import Presence, PresenceTracker, WeightMeter
from station.core.steps import Contact, StepDetector
from station.core.support import SupportDetector
from station.events import (
    ContactReported,
    EventBus,
    FrameRecorded,
    FrameSeen,
    Handler,
    StationStateChanged,
    StatusChanged,
    VisitClosed,
    VisitRecording,
    VisitStarted,
    contact_snapshot,
    frozen_report,
    read_only,
)

from .live import LiveFeed, LiveHub
from .recorder import Recorder, ReportBuilder
from .schema import TIME_DECIMALS
from .selection import SelectionDesk
from .session_quality import quality_inputs, source_health
from .store import StoreWriter

log = logging.getLogger(__name__)


@dataclass
class _ActiveSession:
    """One visit being recorded; its detector sees exactly the frames that are stored."""

    key: int
    t0: float
    detector: StepDetector = field(default_factory=StepDetector)
    seq: int = 0
    # compact buffers (8 bytes a value) for the end-of-visit report
    t: array = field(default_factory=lambda: array("d"))
    fz: array = field(default_factory=lambda: array("d"))
    x: array = field(default_factory=lambda: array("d"))
    y: array = field(default_factory=lambda: array("d"))
    forces: list[tuple[float, ...]] = field(default_factory=list)  # the empty mat's noise
    announced: set[int] = field(default_factory=set)
    feet_shown: dict[int, str] = field(default_factory=dict)  # each contact's live foot guess
    support: SupportDetector = field(default_factory=SupportDetector)  # hand on the wall
    # the member's reference weight, given to the live detector and to the report
    standing_weight_n: float | None = None
    health_at_start: dict[str, Any] | None = None  # the source's counts, for the quality
    # which way the exercise is walked; "none" for a walk-up (nobody chose): the signal decides
    expected_direction: str = "backward"


@dataclass
class AcquisitionStatus:
    source: str
    state: str = "starting"  # starting, running, stopped, fault
    frames: int = 0
    frame_rate_hz: float = 0.0
    on_mat: bool = False  # a session is open
    on_mat_now: bool = False  # someone stands on the mat this frame
    session_key: int | None = None
    sessions_recorded: int = 0
    visit_limit_reached: bool = False  # a visit hit max_visit_s; waiting for an empty mat
    error: str = ""
    warning: str = ""  # e.g. storage failing: the station runs, sessions are not saved

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Acquisition(threading.Thread):
    def __init__(
        self,
        config: StationConfig,
        source: FrameSource,
        writer: StoreWriter,
        hub: LiveHub,
        *,
        realtime: bool = True,
        max_frames: int | None = None,
        expected_direction: str = "backward",
    ) -> None:
        super().__init__(name="acquisition", daemon=True)
        self.config = config
        self.source = source
        self.writer = writer
        self.hub = hub
        self.realtime = realtime
        self.max_frames = max_frames
        self.expected_direction = expected_direction
        self.status = AcquisitionStatus(source=source.name)
        self._stop_requested = threading.Event()
        self._session: _ActiveSession | None = None
        # Monotonic frame time -> wall clock, so a browser can measure end-to-end latency.
        self.wall_offset = time.time() - time.monotonic()
        # Everything this loop finds goes out as typed events on one bus. Its own outputs
        # subscribe here: the kiosk's live feed and the recorder (inline, both a queue put)
        # and the report builder (own thread); the runtime adds the coach and the panel.
        self.bus = EventBus()
        self.bus.subscribe(LiveFeed(hub, self.wall_offset), inline=True, kinds=LiveFeed.KINDS)
        self.bus.subscribe(Recorder(writer), inline=True, kinds=Recorder.KINDS)
        reports = ReportBuilder(self.bus, config)
        self.bus.subscribe(reports, name="reports", kinds=ReportBuilder.KINDS)
        # Who the next visit belongs to (the kiosk's choice), taken once when it starts.
        self.selection: SelectionDesk | None = None
        self._toggle_requested = threading.Event()
        self._state = ""  # the last StationStateChanged published
        self._faulty = False  # the source names faulty cells
        # a source that names faulty cells (HX711) tells the kiosk at once, frames or not
        fault_listeners = getattr(source, "on_fault_change", None)
        if fault_listeners is not None:
            fault_listeners.append(self._fault_changed)

    def request_toggle(self) -> None:
        """The panel's button: end the session now, or start one now if someone is on."""
        self._toggle_requested.set()

    def subscribe(
        self, handler: Handler, *, inline: bool = False, name: str = "", kinds: tuple = ()
    ) -> None:
        """Follow the station's events (see EventBus.subscribe)."""
        self.bus.subscribe(handler, inline=inline, name=name, kinds=kinds)

    def _fault_changed(self) -> None:
        status = self.status_dict()
        self._faulty = status["state"] == "fault"
        self.bus.publish(StatusChanged(frozen_report(status)))
        self._publish_state()

    def _publish_state(self) -> None:
        """The panel's state, published only when it changes."""
        state = station_state(
            {
                "state": "fault" if self._faulty else self.status.state,
                "session_key": self.status.session_key,
                "on_mat_now": self.status.on_mat_now,
            }
        )
        if state != self._state:
            self._state = state
            self.bus.publish(StationStateChanged(state))

    def stop(self) -> None:
        self._stop_requested.set()

    def status_dict(self) -> dict[str, Any]:
        """Acquisition status, with the source's health where it reports one (HX711)."""
        out = self.status.as_dict()
        store = self.writer.health()
        out["store"] = store
        if store["state"] == "failing":
            out["warning"] = (
                f"sessions are not being saved: {store['last_error']} "
                f"({store['frames_dropped']} frames lost so far)"
            )
        elif store["frames_dropped"]:
            out["warning"] = f"storage recovered; {store['frames_dropped']} frames were lost"
        health = getattr(self.source, "health", None)
        if health is not None:
            out["health"] = health()
            if out["health"].get("faulty_cells"):
                out["state"] = "fault"
                out["error"] = out["health"].get("problem") or (
                    "no reading from cell(s) " + ", ".join(out["health"]["faulty_cells"])
                )
        return out

    def run(self) -> None:
        cfg = self.config
        cop = CopCalculator(cfg.mat)
        presence = PresenceTracker(cfg.session)
        weight = WeightMeter(cfg.session)
        preroll: deque[ForceFrame] = deque()
        rate_window: deque[float] = deque()
        self.status.state = "running"
        try:
            for raw in self.source.frames(realtime=self.realtime):
                # read each frame: a hardware source re-zeroes slow drift of the empty mat
                frame = cop.update(raw.t, self.source.calibration.to_newtons(raw.counts))
                kg = weight.update(frame.t, frame.fz)
                self.bus.publish(FrameSeen(frame.t, frame.fz, frame.x, frame.y, frame.forces, kg))
                self.status.frames += 1
                rate_window.append(frame.t)
                while rate_window[0] < frame.t - 1.0:
                    rate_window.popleft()
                span = rate_window[-1] - rate_window[0]  # frames over the last second's span
                self.status.frame_rate_hz = (len(rate_window) - 1) / span if span > 0 else 0.0

                event = presence.update(frame.t, frame.fz)
                self.status.on_mat_now = weight.on
                if self._toggle_requested.is_set():
                    self._toggle_requested.clear()
                    if self._session is not None:
                        event = "off"
                    elif self.status.on_mat_now:
                        presence.state = Presence.OCCUPIED
                        event = "on"
                if self._session is not None:
                    self._record(frame)
                    if frame.t - self._session.t0 >= cfg.session.max_visit_s:
                        self.status.visit_limit_reached = True
                        self._end_session("too_long")
                else:
                    preroll.append(frame)
                    while preroll[0].t < frame.t - cfg.session.preroll_s:
                        preroll.popleft()
                if event == "on" and self._session is None:
                    self._start_session(list(preroll))
                    preroll.clear()
                elif event == "off":
                    self.status.visit_limit_reached = False  # the mat is empty again
                    if self._session is not None:
                        self._end_session()
                self.status.on_mat = self._session is not None
                self._publish_state()
                if self._stop_requested.is_set() or (
                    self.max_frames is not None and self.status.frames >= self.max_frames
                ):
                    break
        except Exception as exc:  # a source fault must never take the station down silently
            log.exception("acquisition stopped by a source fault")
            self.status.state = "fault"
            self.status.error = f"{type(exc).__name__}: {exc}"
            self.bus.publish(StatusChanged(frozen_report(self.status.as_dict())))
            self._publish_state()
        finally:
            if self._session is not None:
                self._end_session()
            # the last visit's report is built and handed to the store before we say stopped
            self.bus.drain()
            if self.status.state != "fault":
                self.status.state = "stopped"

    def _start_session(self, preroll: list[ForceFrame]) -> None:
        mat = self.config.mat
        meta = {
            "source": self.source.name,
            "exercise": "free",
            "mat_json": json.dumps(
                {
                    "name": mat.name,
                    "length_m": mat.length_m,
                    "width_m": mat.width_m,
                    "cells": [c.__dict__ for c in mat.cells],
                }
            ),
            "calibration_json": json.dumps(self.source.calibration.as_dict()),
        }
        choice = None
        if self.selection is not None:  # the member and exercise chosen for this visit only
            choice = self.selection.take()
            meta["member_id"] = choice.member_id
            meta["exercise"] = choice.exercise
        key = self.writer.start_session(meta)
        weight = choice.standing_weight_n if choice else None
        walk_up = choice is not None and not choice.chosen
        self._session = _ActiveSession(
            key=key,
            t0=preroll[0].t,
            health_at_start=source_health(self.source),
            support=SupportDetector(self.config.support, weight),
            standing_weight_n=weight,
            expected_direction="none" if walk_up else self.expected_direction,
        )
        self.status.session_key = key
        self.bus.publish(
            VisitStarted(
                key,
                preroll[0].t,
                choice.member_id if choice else None,
                choice.exercise if choice else "free",
            )
        )
        for frame in preroll:
            self._record(frame)

    def _record(self, frame: ForceFrame) -> None:
        s = self._session
        assert s is not None
        t_rel = round(frame.t - s.t0, TIME_DECIMALS)  # exactly the time that is stored
        self.bus.publish(FrameRecorded(s.key, s.seq, t_rel, tuple(frame.forces)))
        s.seq += 1
        s.t.append(t_rel)
        s.fz.append(frame.fz)
        s.x.append(math.nan if frame.x is None else frame.x)
        s.y.append(math.nan if frame.y is None else frame.y)
        s.forces.append(tuple(frame.forces))
        for contact in s.detector.update(t_rel, frame.fz, frame.x, frame.y):
            self._publish_contact(s, contact)
        if s.support.update(t_rel, frame.fz) is not None:  # a hand went on or off the wall
            payload = {"key": s.key, "supported": s.support.supported_now, "t_s": t_rel}
            self.hub.publish("support", json.dumps(payload))

    def _publish_contact(self, s: _ActiveSession, contact: Contact) -> None:
        # a first guess for the screen; the report relabels feet from the whole pass
        foot = live_foot(s.detector.contacts, contact, s.expected_direction)
        foot = foot or s.feet_shown.get(contact.index, "")  # once told, kept when made final
        steps = sum(1 for c in s.detector.contacts if not c.retracted)
        new = contact.index not in s.announced and not contact.retracted
        if new:
            s.announced.add(contact.index)
        if not contact.retracted:
            s.feet_shown[contact.index] = foot
        self.bus.publish(ContactReported(s.key, contact_snapshot(contact), foot, steps, new))
        if foot:  # the feet that stepped on, unguessed till the walk showed the way they face
            told = live_feet_told_later(
                s.detector.contacts, contact, s.expected_direction, s.feet_shown
            )
            for earlier, its_foot in told:
                s.feet_shown[earlier.index] = its_foot
                snapshot = contact_snapshot(earlier)
                self.bus.publish(ContactReported(s.key, snapshot, its_foot, steps, False))

    def _end_session(self, status: str = "complete") -> None:
        s = self._session
        assert s is not None
        for contact in s.detector.finish():
            self._publish_contact(s, contact)
        # handed over whole: the report builder (its own thread) owns these from here on
        recording = VisitRecording(
            read_only(s.t), read_only(s.fz), read_only(s.x), read_only(s.y),
            read_only(s.forces), s.detector,
            support=s.support.summary(), standing_weight_n=s.standing_weight_n,
            expected_direction=s.expected_direction,
            station=quality_inputs(s.health_at_start, source_health(self.source)),
        )  # fmt: skip
        self._session = None
        self.status.session_key = None
        self.status.sessions_recorded += 1
        self.bus.publish(VisitClosed(s.key, s.t0 + (s.t[-1] if s.t else 0.0), status, recording))
