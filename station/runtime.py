"""The running station, composed in one place: source, acquisition, store writer, live hub,
coach, GPIO panel and the kiosk's web server.

`balance-station run` builds one `Station` and serves it; tests build the same object (on a
recording or the simulator, without the web server if they like) and drive the real wiring.
"""

from __future__ import annotations

from typing import Any

from station.core.calibration import Calibration
from station.core.config import StationConfig


class StartError(Exception):
    """The station cannot start as configured (source, database, address): a one-line reason."""


class Station:
    """Everything `run` starts, in the order it starts and stops.

    `serve=False` leaves out the web server (and its port); `realtime=False` reads a replay
    or the simulator as fast as it goes; `max_frames` stops acquisition after that many.
    """

    def __init__(
        self,
        config: StationConfig,
        *,
        serve: bool = True,
        realtime: bool = True,
        max_frames: int | None = None,
    ) -> None:
        from hardware.sources import SourceError, make_source
        from station.acquisition import Acquisition
        from station.backup import StationRunning, hold_database
        from station.coach import Coach
        from station.live import LiveHub
        from station.selection import SelectionDesk
        from station.store import StoreError, StoreWriter

        self.config = config
        try:
            self.writer = StoreWriter(
                config.storage.path,
                config.storage.flush_interval_s,
                queue_limit_frames=max(
                    1, round(config.storage.queue_limit_s * config.source.rate_hz)
                ),
            )
            self.lock = hold_database(config.storage.path)  # one station per database
            stored = stored_calibration(config)
            self.source = make_source(config, stored)
        except StationRunning as exc:  # a second station beside it needs its own database
            raise StartError(f"{exc}, or give this one its own database (--db FILE)") from None
        except (SourceError, StoreError) as exc:
            raise StartError(str(exc)) from None
        if stored is not None and hasattr(self.source, "calibration_state"):
            self.source.calibration_state = calibration_state(config)  # the last check's finding
        self.hub = LiveHub()
        self.acquisition = Acquisition(
            config, self.source, self.writer, self.hub, realtime=realtime, max_frames=max_frames
        )
        # the kiosk's choice is taken by the next visit only; the coach follows visits by events
        self.desk = SelectionDesk(
            config.web.selection_s, weigh=member_weight_reader(config.storage.path, config)
        )
        self.acquisition.selection = self.desk
        self.coach = Coach(
            self.hub,
            history=history_reader(config.storage.path),
            store=self.writer,
            desk=self.desk,
            mat=config.mat,
            quality_limits=config.quality,
        )
        self.acquisition.subscribe(self.coach.handle, name="coach", kinds=Coach.KINDS)
        self.panel = (
            start_panel(config, self.acquisition, self.source) if config.panel.enabled else None
        )
        self.app: Any = None
        self.server: Any = None
        self.port = config.web.port
        if serve:
            self._make_server()

    def _make_server(self) -> None:
        from web.addresses import public_url
        from web.app import create_app
        from web.server import ServeError, make_server

        config = self.config
        self.app = create_app(
            config, self.hub, self.acquisition.status_dict, config.storage.path, self.coach
        )
        try:
            self.server = make_server(
                self.app,
                config.web.host,
                config.web.port,
                config.web.threads,
                config.web.max_viewers,
            )
        except ServeError as exc:
            self.close()
            raise StartError(str(exc)) from None
        self.port = getattr(self.server, "effective_port", config.web.port)
        self.app.config["PUBLIC_URL"] = public_url(config.web, self.port)

    def start(self) -> None:
        self.writer.start()
        self.acquisition.start()

    def serve_forever(self) -> None:
        """Serve the kiosk until the server stops (a signal handler raises SystemExit)."""
        self.server.run()

    def close(self) -> str:
        """Stop everything in order, wait for the store, and say what the database holds."""
        self.hub.close()  # releases every live viewer's thread
        self.acquisition.stop()
        close = getattr(self.source, "close", None)
        if close is not None:
            close()  # a reader process ends with the station
        if self.acquisition.is_alive():
            self.acquisition.join(timeout=5)
        if self.writer.is_alive():
            self.writer.stop()
            self.writer.join(timeout=30)
        if self.panel is not None:
            self.panel.close()
        message = stopped_message(self.writer)
        self.lock.close()
        return message


def stopped_message(writer: Any) -> str:
    """The last line of `run`: only claims what the database really holds."""
    health = writer.health()
    if writer.is_alive():
        return (
            "Balance Station stopped; the database did not answer in time, some frames may be lost."
        )
    lost = health["frames_dropped"] + health["queued_frames"]
    if lost == 0:
        return "Balance Station stopped; every session is saved."
    return (
        f"Balance Station stopped; {lost} frames could not be saved "
        f"({health['sessions_interrupted']} session(s) marked interrupted; "
        f"last error: {health['last_error'] or 'none'})."
    )


def start_panel(config: StationConfig, acquisition: Any, source: Any) -> Any:
    """The GPIO panel: button to the acquisition; LED and buzzer follow the station's events."""
    from hardware.panel import Panel
    from station.events import ContactReported, StationStateChanged, VisitEnded

    def hold() -> None:
        if hasattr(source, "request_tare"):
            source.request_tare()
            panel.beep()
        else:
            panel.chirp()  # a simulated mat has nothing to re-zero

    try:
        panel = Panel(config.panel, on_press=acquisition.request_toggle, on_hold=hold)
    except Exception as exc:  # gpiozero raises several kinds where there are no pins
        raise StartError(
            f"the GPIO panel cannot start ({exc}); set [panel] enabled = false"
        ) from None

    def follow(event: Any) -> None:
        if isinstance(event, StationStateChanged):
            panel.set_state(event.state)
        elif isinstance(event, ContactReported) and event.new:
            panel.beep()
        elif isinstance(event, VisitEnded):
            panel.chirp()

    acquisition.subscribe(
        follow, name="panel", kinds=(StationStateChanged, ContactReported, VisitEnded)
    )
    return panel


def history_reader(db_path: str):
    """Earlier runs of an exercise by a member, read from the database when needed."""
    from station.store import exercise_history, open_database

    def history(member_id: int | None, exercise: str) -> list[dict[str, Any]]:
        db = open_database(db_path)
        try:
            return exercise_history(db, member_id, exercise)
        finally:
            db.close()

    return history


def member_weight_reader(db_path: str, config: StationConfig):
    """A member's reference weight for the hand on the wall, read when they are chosen."""
    import logging
    import sqlite3

    from station.store import StoreError, open_database
    from station.store_members import member_standing_weight_n

    def weigh(member_id: int) -> float | None:
        try:
            db = open_database(db_path)
            try:
                return member_standing_weight_n(
                    db, member_id, config.support.history_visits, config.support.history_days
                )
            finally:
                db.close()
        except (StoreError, sqlite3.Error) as exc:  # the visit is then judged on its own
            logging.getLogger(__name__).warning("member weight not read: %s", exc)
            return None

    return weigh


def stored_calibration(config: StationConfig) -> Calibration | None:
    """The newest calibration in the database for this mat's cells, if any."""
    from station.store import open_database
    from station.store_calibrations import latest_calibration

    db = open_database(config.storage.path)
    try:
        found = latest_calibration(db, config.mat.cell_names)
    finally:
        db.close()
    if found is None:
        return None
    offsets, gains, _ = found
    return Calibration(tuple(offsets), tuple(gains))


def calibration_state(config: StationConfig) -> dict[str, Any]:
    """What the last check-weight run found about the stored calibration."""
    from station.calibration_checks import calibration_state as state
    from station.store import open_database

    db = open_database(config.storage.path)
    try:
        return state(db, config.mat.cell_names)
    finally:
        db.close()
