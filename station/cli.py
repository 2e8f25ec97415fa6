"""`balance-station`: the one place that wires source -> core -> store and kiosk.

Every user mistake (bad option, bad file, busy port) ends in one line on stderr and exit
code 2; nothing here prints a traceback at a user.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import signal
import sys
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from station import __version__
from station.core.config import SIM_SCENARIOS, ConfigError, StationConfig, load_config
from station.store import StoreError

EXIT_USAGE = 2
MAX_SIMULATE_S = 86_400.0


class UsageError(Exception):
    """Anything the user can fix: reported in one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _output_file(name: str) -> Path:
    """A file to write: its folder must exist and it must not be a folder itself."""
    out = Path(name)
    if out.is_dir():
        raise UsageError(f"{out} is a folder; give a file name, e.g. {out / 'recording.csv'}")
    if not out.parent.exists():
        raise UsageError(f"{out}: folder {out.parent} does not exist")
    return out


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is not 0-65535")
    return port


def default_config_path() -> Path:
    return Path(str(resources.files("station") / "default_config.toml"))


def _config(args: argparse.Namespace) -> StationConfig:
    path = Path(args.config) if args.config else default_config_path()
    try:
        config = load_config(path)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    source = config.source
    if getattr(args, "source", None):
        source = dataclasses.replace(source, kind=args.source)
    if getattr(args, "recording", None):
        source = dataclasses.replace(source, recording=args.recording)
        if not getattr(args, "source", None):
            source = dataclasses.replace(source, kind="replay")
    if getattr(args, "seed", None) is not None:
        source = dataclasses.replace(source, sim=dataclasses.replace(source.sim, seed=args.seed))
    if getattr(args, "scenario", None):
        source = dataclasses.replace(
            source, sim=dataclasses.replace(source.sim, scenario=args.scenario)
        )
    web = config.web
    if getattr(args, "host", None):
        web = dataclasses.replace(web, host=args.host)
    if getattr(args, "port", None) is not None:
        web = dataclasses.replace(web, port=args.port)
    storage = config.storage
    if getattr(args, "db", None):
        storage = dataclasses.replace(storage, path=args.db)
    return dataclasses.replace(config, source=source, web=web, storage=storage)


# --- run ---------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    from hardware.sources import SourceError, make_source
    from station.acquisition import Acquisition
    from station.backup import hold_database
    from station.coach import Coach
    from station.live import LiveHub
    from station.selection import SelectionDesk
    from station.store import StoreError, StoreWriter
    from web.addresses import kiosk_url, public_url
    from web.app import create_app
    from web.server import ServeError, make_server

    config = _config(args)
    try:
        writer = StoreWriter(
            config.storage.path,
            config.storage.flush_interval_s,
            queue_limit_frames=max(1, round(config.storage.queue_limit_s * config.source.rate_hz)),
        )
        lock = hold_database(config.storage.path)  # one station per database; `restore` waits
        stored = _stored_calibration(config)
        source = make_source(config, stored)
    except (SourceError, StoreError) as exc:
        raise UsageError(str(exc)) from None
    if stored is not None and hasattr(source, "calibration_state"):
        source.calibration_state = _calibration_state(config)  # what the last check found
    hub = LiveHub()
    acquisition = Acquisition(config, source, writer, hub)
    # the kiosk's choice is taken by the next visit only; the coach follows visits by events
    acquisition.selection = SelectionDesk(config.web.selection_s)
    coach = Coach(
        hub,
        history=_history_reader(config.storage.path),
        store=writer,
        desk=acquisition.selection,
    )
    acquisition.subscribe(coach.handle)
    app = create_app(config, hub, acquisition.status_dict, config.storage.path, coach)
    try:
        server = make_server(
            app, config.web.host, config.web.port, config.web.threads, config.web.max_viewers
        )
    except ServeError as exc:
        raise UsageError(str(exc)) from None
    port = server.effective_port if hasattr(server, "effective_port") else config.web.port
    app.config["PUBLIC_URL"] = public_url(config.web, port)

    panel = _start_panel(config, acquisition, source) if config.panel.enabled else None

    def shut_down(signum: int, _frame: Any) -> None:
        hub.close()  # releases every live viewer's thread
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, shut_down)
    signal.signal(signal.SIGINT, shut_down)
    writer.start()
    acquisition.start()
    print(
        f"Balance Station {__version__}: kiosk on {kiosk_url(config.web.host, port)}/, share "
        f"links for phones on {app.config['PUBLIC_URL']} "
        f"(source {source.name}, database {config.storage.path}); "
        "Ctrl+C stops",
        flush=True,
    )
    try:
        server.run()
    finally:
        hub.close()
        acquisition.stop()
        close = getattr(source, "close", None)
        if close is not None:
            close()  # a reader process ends with the station
        acquisition.join(timeout=5)
        writer.stop()
        writer.join(timeout=30)
        if panel is not None:
            panel.close()
        print(_stopped_message(writer), flush=True)
        lock.close()
    return 0


def _stopped_message(writer: Any) -> str:
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


def _start_panel(config: StationConfig, acquisition: Any, source: Any) -> Any:
    """The GPIO panel: button to the acquisition, LED from its status, buzzer on events."""
    import threading

    from hardware.panel import Panel, station_state

    def hold() -> None:
        if hasattr(source, "request_tare"):
            source.request_tare()
            panel.beep()
        else:
            panel.chirp()  # a simulated mat has nothing to re-zero

    try:
        panel = Panel(config.panel, on_press=acquisition.request_toggle, on_hold=hold)
    except Exception as exc:  # gpiozero raises several kinds where there are no pins
        raise UsageError(
            f"the GPIO panel cannot start ({exc}); set [panel] enabled = false"
        ) from None

    def on_event(kind: str, _payload: dict[str, Any]) -> None:
        if kind == "contact":
            panel.beep()
        elif kind == "session_ended":
            panel.chirp()

    acquisition.listeners.append(on_event)
    stop = threading.Event()

    def follow() -> None:
        while not stop.wait(0.2):  # the LED follows the station's state
            panel.set_state(station_state(acquisition.status_dict()))

    threading.Thread(target=follow, name="panel", daemon=True).start()
    return panel


def _history_reader(db_path: str):
    """Earlier runs of an exercise by a member, read from the database when needed."""
    from station.store import exercise_history, open_database

    def history(member_id: int | None, exercise: str) -> list[dict[str, Any]]:
        db = open_database(db_path)
        try:
            return exercise_history(db, member_id, exercise)
        finally:
            db.close()

    return history


def _stored_calibration(config: StationConfig):
    """The newest calibration in the database for this mat's cells, if any."""
    from station.core.calibration import Calibration
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


def _calibration_state(config: StationConfig) -> dict[str, Any]:
    from station.calibration_checks import calibration_state
    from station.store import open_database

    db = open_database(config.storage.path)
    try:
        return calibration_state(db, config.mat.cell_names)
    finally:
        db.close()


# --- simulate ----------------------------------------------------------------------------


def cmd_simulate(args: argparse.Namespace) -> int:
    from hardware.simulator.mat import SimulatedMat
    from station.core.recording import write_recording

    if not 0 < args.seconds <= MAX_SIMULATE_S:  # also refuses nan and inf
        raise UsageError(f"--seconds must be more than 0 and at most {MAX_SIMULATE_S:g} (a day)")
    config = _config(args)
    out = _output_file(args.out)
    sim = SimulatedMat(config.mat, config.source.sim, config.source.rate_hz)
    count = round(args.seconds * config.source.rate_hz)
    times, counts = sim.render(0, count)
    # Through the station's own calibration maths: the file holds what the station would see.
    forces = sim.calibration.to_newtons_batch(counts)
    write_recording(out, config.mat.cell_names, times, forces)
    t0 = float(times[0])
    end = float(times[-1])
    truth = {
        "recording": out.name,
        "seed": config.source.sim.seed,
        "scenario": config.source.sim.scenario,
        "body_mass_kg": config.source.sim.body_mass_kg,
        "body_weight_n": config.source.sim.body_mass_kg * 9.80665,
        "rate_hz": config.source.rate_hz,
        "contacts": [
            {**dataclasses.asdict(c), "t_s": round(c.t_s - t0, 6)}
            for c in sim.contacts
            if c.t_s <= end
        ],
        "segments": [
            {
                **dataclasses.asdict(s),
                "t_start_s": round(s.t_start_s - t0, 6),
                "t_end_s": round(min(s.t_end_s, end) - t0, 6),
            }
            for s in sim.segments
            if s.t_start_s <= end
        ],
    }
    truth_path = out.with_suffix(".truth.json")
    truth_path.write_text(json.dumps(truth, indent=1), encoding="utf-8")
    print(f"wrote {out} ({count} frames, {args.seconds:g} s) and {truth_path.name}")
    return 0


# --- export-recording --------------------------------------------------------------------


def cmd_export_recording(args: argparse.Namespace) -> int:
    from station.core.recording import write_recording
    from station.store import StoreError, open_database, session_frames

    config = _config(args)
    db_path = Path(config.storage.path)
    if not db_path.exists():
        raise UsageError(f"{db_path}: no station database here (use --db FILE)")
    out = _output_file(args.out)
    try:
        db = open_database(db_path)
        names, t, forces = session_frames(db, args.session_id)
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    write_recording(out, names, t, np.asarray(forces))
    print(f"wrote {out}: session {args.session_id}, {len(t)} frames, {t[-1] - t[0]:.2f} s")
    return 0


# --- backup ------------------------------------------------------------------------------


def cmd_backup(args: argparse.Namespace) -> int:
    from station.backup import backup_database

    config = _config(args)
    db_path = Path(config.storage.path)
    dest = Path(args.dest or config.storage.backup_dir or db_path.parent / "backups")
    keep = args.keep if args.keep is not None else config.storage.backup_keep
    if keep < 1:
        raise UsageError("--keep must be at least 1")
    try:
        result = backup_database(
            db_path, dest, keep, require_other_device=config.storage.backup_other_device
        )
    except (StoreError, OSError) as exc:
        raise UsageError(str(exc)) from None
    print(
        f"backed up {db_path} to {result.path} (integrity ok; keeping the newest {keep}: "
        f"{len(result.kept) - len(result.bad)} of {len(result.kept)} pass the check)"
    )
    if result.same_device:
        print(
            f"warning: {dest} is on the same device as the database; this copy will not "
            "survive a failed SD card (set [storage] backup_dir to a USB stick or share)",
            file=sys.stderr,
        )
    for path, problem in result.bad:
        print(f"damaged backup: {path}: {problem}", file=sys.stderr)
    return 1 if result.bad else 0


def cmd_restore(args: argparse.Namespace) -> int:
    from station.backup import restore_database

    config = _config(args)
    db_path = Path(config.storage.path)
    try:
        kept = restore_database(args.backup, db_path)
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    before = f"; the database it replaced is kept as {kept}" if kept else ""
    print(f"restored {args.backup} as {db_path} (integrity ok){before}")
    return 0


# --- calibrate ---------------------------------------------------------------------------


def _ask(prompt: str) -> str:
    try:
        return input(prompt)
    except EOFError:
        raise UsageError("calibration stopped: no answer (nothing was saved)") from None


def _capture(frames: Any, seconds: float, rate_hz: float) -> np.ndarray:
    """Readings over `seconds`, after a quarter second for hands to leave and the load to settle."""
    for _ in range(int(0.25 * rate_hz)):
        next(frames)
    n = max(int(seconds * rate_hz), 10)
    return np.array([next(frames).counts for _ in range(n)])


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Step by step over SSH: tare, known masses on marked spots, cross-check, report, save.

    With --check: the same steps with the stored calibration, reporting the drift since.
    """
    from hardware.sources import SourceError, make_source
    from station.core.calibrate import (
        CalibrationError,
        Limits,
        Placement,
        check_still,
        corner_check,
        cross_check,
        find_misplaced,
        find_shifted_marks,
        fit_gains,
        residuals,
        reversed_cells_advice,
        standard_spots,
        tare,
    )
    from station.store import open_database
    from station.store_calibrations import latest_calibration, save_calibration

    config = _config(args)
    if config.source.kind not in ("hx711", "emulated", "pico"):
        config = dataclasses.replace(
            config, source=dataclasses.replace(config.source, kind="emulated")
        )
        print("No HX711 source configured: calibrating the emulated mat (a dry run).")
    mat = config.mat
    stored = None
    if args.check:
        db = open_database(config.storage.path)
        try:
            stored = latest_calibration(db, mat.cell_names)
        finally:
            db.close()
        if stored is None:
            raise UsageError(
                "no calibration stored for this mat's cells: run `balance-station calibrate`"
            )
    try:
        if config.source.kind == "emulated":
            from hardware.hx711_source import build_emulated

            # in this process: the emulated "operator" puts the masses down for each step
            source = build_emulated(config, process=False)
        else:
            source = make_source(config, _dummy_cal(config))
    except SourceError as exc:
        raise UsageError(str(exc)) from None
    if getattr(source, "zero", None) is not None:
        source.zero = None  # no automatic re-zero while calibrating
    emulated = getattr(source, "inputs", None)
    if emulated is not None:
        _emulate_mistakes(args, mat, emulated.sim.electronics)
    real_mass = args.emulate_true_mass or args.mass  # the emulated operator's real mass
    shift_m = args.emulate_shift_mm / 1000.0
    frames = source.frames()
    limits = Limits()
    spots = standard_spots(mat)[: args.spots]
    rate = config.source.rate_hz
    what = "Checking the calibration of" if args.check else "Calibrating"
    print(
        f"{what} {mat.name}: {len(mat.cells)} cells, {len(spots)} spots, "
        f"{args.mass:g} kg mass. Ctrl+C stops without saving."
    )

    while True:
        _ask("\n1. Clear the mat completely, step away, then press Enter. ")
        if emulated is not None:
            emulated.loads = []
        try:
            offsets = tare(_capture(frames, args.seconds, rate))
            break
        except CalibrationError as exc:
            print(f"   Refused: {exc}")
    print("   Tare done.")

    def measure(label: str, kg: float, x_m: float, y_m: float, ask: str) -> np.ndarray:
        """Mean counts with the mass on a spot, asked again until the load is still."""
        while True:
            _ask(ask)
            if emulated is not None:
                dx = 0.05 if label == args.emulate_misplace else 0.0
                emulated.loads = [(kg, x_m + dx + shift_m, y_m)]
            try:
                mean = check_still(_capture(frames, args.seconds, rate), offsets, limits.stable_rel)
                print("   Measured.")
                return mean
            except CalibrationError as exc:
                print(f"   Refused: {exc}")

    placements = []
    for n, spot in enumerate(spots, start=2):
        ask = (
            f"\n{n}. Put the {args.mass:g} kg mass on the {spot.label.upper()} mark "
            f"(x = {spot.x_m:+.2f} m, y = {spot.y_m:+.2f} m), hands off, then press Enter. "
        )
        mean = measure(spot.label, real_mass, spot.x_m, spot.y_m, ask)
        placements.append(Placement(spot, args.mass, mean))
    if args.check:
        assert stored is not None
        return _report_check(config, np.array(stored[1]), offsets, placements)

    try:
        shift = find_shifted_marks(mat, offsets, placements, limits.misplaced_mm)
        if shift is not None:
            dx, dy = (1000 * v for v in shift)
            raise CalibrationError(
                f"every mark seems about {np.hypot(dx, dy):.0f} mm off the spots asked for "
                f"({dx:+.0f} mm along the mat, {dy:+.0f} mm across): measure the marks again "
                "from the mat's centre (and the cell positions in the config), then calibrate "
                "again"
            )
        misplaced = find_misplaced(mat, offsets, placements, limits.misplaced_mm)
        if misplaced:
            raise CalibrationError(
                f"the mass on the {misplaced} mark was not where the mark is: "
                "check the marks and run the calibration again"
            )
        gains = fit_gains(mat, offsets, placements)
    except CalibrationError as exc:
        raise UsageError(f"calibration refused: {exc}") from None

    n = len(spots) + 2
    while True:
        ask = (
            f"\n{n}. Cross-check: put a second known mass (a different one, or the same one "
            "again) on the CENTRE mark, type its mass in kg, then press Enter: "
        )
        typed = _ask(ask).strip()
        try:
            second_kg = float(typed.replace(",", "."))
            if second_kg <= 0:
                raise ValueError
            break
        except ValueError:
            print(f"   Refused: {typed!r} is not a mass in kg (e.g. 10 or 20.5)")
    if emulated is not None:
        emulated.loads = [(second_kg, 0.0, 0.0)]
    counts = check_still(_capture(frames, args.seconds, rate), offsets, limits.stable_rel)
    if emulated is not None:
        emulated.loads = []
    try:
        second_measured = cross_check(offsets, gains, counts, second_kg, limit=0.01)
    except CalibrationError as exc:
        raise UsageError(f"calibration refused: {exc}") from None
    print(f"   The mat weighs it at {second_measured:.2f} kg: the typed masses agree.")

    res = residuals(mat, offsets, gains, placements)
    ok, failures = corner_check(res, limits)
    print("\n   spot                    mass error     CoP error")
    for r in res:
        print(f"   {r.label:22s} {r.mass_error_kg * 1000:+8.1f} g   {r.cop_error_mm:8.2f} mm")
    verdict = "PASS" if ok else "FAIL"
    print(
        f"\nCorner-load check: {verdict} (limits {limits.mass_error_kg * 1000:.0f} g, "
        f"{limits.cop_error_mm:.0f} mm)"
    )
    for line in failures:
        print(f"   {line}")
    if not ok and not args.force:
        raise UsageError("calibration not saved: the corner-load check failed")
    reversed_advice = reversed_cells_advice(mat.cell_names, gains)
    if reversed_advice:
        print(f"\nNote: {reversed_advice}.")
        if not (args.accept_reversed or args.yes) and _ask(
            "Accept it as it is? [y/N] "
        ).strip().lower() not in ("y", "yes"):
            raise UsageError("calibration not saved: swap the A+/A- wires, then calibrate again")
    if not args.yes and _ask("Save this calibration? [y/N] ").strip().lower() not in ("y", "yes"):
        print("Not saved.")
        return 0
    report = {
        "mass_kg": args.mass,
        "cross_check": {"typed_kg": second_kg, "measured_kg": round(second_measured, 4)},
        "reversed_cells": reversed_advice,
        "check": verdict,
        "residuals": [r.__dict__ for r in res],
    }
    db = open_database(config.storage.path)
    try:
        cal_id = save_calibration(db, mat.cell_names, offsets.tolist(), gains.tolist(), report)
    finally:
        db.close()
    print(
        f"Saved as calibration {cal_id} in {config.storage.path}; "
        "the station uses it from its next start."
    )
    return 0


def _emulate_mistakes(args: argparse.Namespace, mat: Any, electronics: Any) -> None:
    """Tests and dry runs: a cell wired reversed, or one whose gain changed since."""
    if args.emulate_reversed:
        electronics.gains[mat.cell_names.index(args.emulate_reversed)] *= -1
    if args.emulate_gain_change:
        cell, pct = args.emulate_gain_change.split(":")
        electronics.gains[mat.cell_names.index(cell)] *= 1 + float(pct) / 100


def _report_check(
    config: StationConfig, stored_gains: np.ndarray, offsets: np.ndarray, placements: list
) -> int:
    """Print and store what the check weight says about the stored calibration."""
    from station.core.calibrate import check_drift
    from station.store import open_database
    from station.store_calibrations import newest_calibration_id, save_check

    drift = check_drift(config.mat, stored_gains, offsets, placements)
    print("\n   spot                    weighs          off by")
    for r in drift.spots:
        print(
            f"   {r.label:22s} {r.mass_kg + r.mass_error_kg:8.3f} kg   "
            f"{100 * r.mass_error_kg / r.mass_kg:+6.2f} %  {r.cop_error_mm:6.1f} mm"
        )
    print(
        "\n   gain drift since calibration: "
        + ", ".join(f"{cell} {pct:+.2f} %" for cell, pct in drift.gain_drift_pct.items())
    )
    verdict = "NEEDS RECALIBRATING" if drift.needs_recalibration else "OK"
    print(f"\nCheck: {verdict}: {drift.advice()}")
    report = {
        "needs_recalibration": drift.needs_recalibration,
        "advice": drift.advice(),
        "gain_drift_pct": {k: round(v, 3) for k, v in drift.gain_drift_pct.items()},
        "spots": [r.__dict__ for r in drift.spots],
    }
    db = open_database(config.storage.path)
    try:
        save_check(db, newest_calibration_id(db, config.mat.cell_names), report)
    finally:
        db.close()
    print("Stored; the station shows it in `balance-station health` from its next start.")
    return 1 if drift.needs_recalibration else 0


def _dummy_cal(config: StationConfig):
    """Calibrating needs raw counts only; a placeholder lets the source start without one."""
    from station.core.calibration import Calibration

    n = len(config.mat.cells)
    return Calibration((0.0,) * n, (4000.0,) * n)


# --- health ------------------------------------------------------------------------------


def cmd_health(args: argparse.Namespace) -> int:
    """What the running station says about itself: rate, jitter, faults, glitches."""
    import urllib.error
    import urllib.request

    config = _config(args)
    url = args.url or f"http://127.0.0.1:{config.web.port}"
    try:
        with urllib.request.urlopen(f"{url}/api/status", timeout=5) as response:
            status = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise UsageError(f"no station answers at {url} ({exc})") from None
    if args.json:
        print(json.dumps(status, indent=1))
        return 0
    health = status.get("health", {})
    print(
        f"station     {status['state']} (source {status['source']}), "
        f"{status['frames']} frames, {status['frame_rate_hz']:.0f} frames/s"
    )
    if status.get("error"):
        print(f"problem     {status['error']}")
    if status.get("warning"):
        print(f"warning     {status['warning']}")
    if health:
        print(
            f"timing      {health['frame_rate_hz']:.1f} frames/s over 5 s, "
            f"jitter {health['jitter_ms']:.2f} ms"
        )
        print(
            f"frames      {health['frames_dropped']} dropped (slow clock pulse), "
            f"{health['read_timeouts']} read timeouts, "
            f"{health['rezero_adjustments']} re-zero steps"
        )
        glitches = ", ".join(f"{k} {v}" for k, v in health["glitches_rejected"].items())
        print(f"glitches    rejected per cell: {glitches}")
        faulty = health["faulty_cells"]
        print(f"cells       {'faulty: ' + ', '.join(faulty) if faulty else 'all answering'}")
        for fault in health.get("faults", []):
            print(f"  check     {fault['cause']}")
        if "realtime" in health:
            from hardware.realtime import RealtimeReport

            print(f"reader      {RealtimeReport.from_dict(health['realtime']).summary()}")
        calibration = health.get("calibration") or {}
        if calibration:
            flag = "NEEDS RECALIBRATING: " if calibration["needs_recalibration"] else ""
            print(f"calibration {flag}{calibration['advice']}")
    if health.get("pico"):
        _print_pico_health(health["pico"])
    store = status.get("store")
    if store:
        print(
            f"storage     {store['state']}: {store['queued_frames']} frames queued "
            f"(limit {store['queue_limit_frames']}), {store['frames_dropped']} dropped, "
            f"last commit {store['last_commit_at'] or 'none yet'}"
        )
        if store["last_error"]:
            print(f"            last error {store['last_error']} at {store['last_error_at']}")
    print(f"viewers     {status.get('viewers', 0)} kiosk screen(s) connected")
    failing = store is not None and store["state"] == "failing"
    return 1 if status["state"] == "fault" or failing else 0


def _print_pico_health(pico: dict[str, Any]) -> None:
    """The Pico's USB link: where, what firmware, how its clock and frames fare."""
    print(f"pico        {pico['state']} on {pico['port']}, {pico['firmware'] or 'no hello yet'}")
    if pico["problem"]:
        print(f"pico fault  {pico['problem']}")
    rtt = pico["round_trip_ms"]
    print(
        f"pico link   {pico['frames_lost']} frames lost, {pico['corrupt']} corrupt, "
        f"{pico['reconnects']} reconnects, {pico['pico_restarts']} Pico restarts, clock "
        f"{pico['clock_drift_ppm']:+.1f} ppm, round trip "
        + (f"{rtt:.2f} ms" if rtt is not None else "not measured yet")
    )


# --- staff password ----------------------------------------------------------------------


def cmd_staff_password(args: argparse.Namespace) -> int:
    """Set the password of the kiosk's staff pages (stored hashed in the database)."""
    import getpass

    from station.store import open_database
    from web.security import set_staff_password

    config = _config(args)
    if args.stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("New staff password: ")
        if getpass.getpass("Again: ") != password:
            raise UsageError("the two passwords differ; nothing was changed")
    db = open_database(config.storage.path)
    try:
        set_staff_password(db, password)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    finally:
        db.close()
    print("Staff password set.")
    return 0


# --- analyze -----------------------------------------------------------------------------


def cmd_analyze(args: argparse.Namespace) -> int:
    from station.core.config import load_mat_config
    from station.core.recording import RecordingError, read_recording
    from station.core.report import analyse

    config_path = Path(args.config) if args.config else default_config_path()
    try:
        mat = load_mat_config(config_path)
        recording = read_recording(args.recording, expected_cells=mat.cell_names)
    except (ConfigError, RecordingError) as exc:
        raise UsageError(str(exc)) from None
    report = analyse(recording.t, recording.forces, mat, expected_direction=args.direction)
    if args.json:
        try:
            text = json.dumps(report, indent=1, allow_nan=False)
        except ValueError:
            raise UsageError(
                f"{args.recording}: its forces give numbers out of range (check the file)"
            ) from None
        print(text)
    else:
        print(format_report(report))
    return 0


def _fmt(value: Any, scale: float = 1.0, spec: str = ".2f", unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{value * scale:{spec}}{unit}"


def format_report(r: dict[str, Any]) -> str:
    """The report as a short table a teacher can read."""
    g, s = r["gait"], r["sway"]
    lines = [
        f"Recording     {r['duration_s']:.1f} s at {r['sample_rate_hz']:.1f} frames/s, "
        f"body weight {r['body_weight_n']:.0f} N ({r['body_weight_n'] / 9.80665:.1f} kg)",
        f"Direction     {r['direction']}, {len(r['passes'])} pass(es)",
        "",
        "Walking",
        f"  steps                 {g['step_count']} foot contacts, "
        f"{g['walking_steps']} walking steps",
        f"  cadence               {_fmt(g['cadence_steps_per_min'], spec='.0f')} steps/min",
        f"  step length           {_fmt(g['step_length_m'], 100, '.1f', ' cm')}",
        f"  step width            {_fmt(g['step_width_m'], 100, '.1f', ' cm')}",
        f"  step time             {_fmt(g['step_time_s'], 1, '.2f', ' s')}",
        f"  speed                 {_fmt(g['speed_m_per_s'], 1, '.2f', ' m/s')}",
        f"  lateral sway          {_fmt(g['lateral_sway_m'], 100, '.1f', ' cm')}",
        f"  step time CV          {_fmt(g['step_time_cv'], 100, '.1f', ' %')}",
        f"  double support        {_fmt(g['double_support_share'], 100, '.0f', ' %')}",
        f"  heel roll             {_fmt(g['heel_roll_m'], 100, '.1f', ' cm')}",
        "",
        "Standing"
        + ("" if s["duration_s"] is None else f" ({s['duration_s']:.1f} s of quiet stance)"),
        f"  mean velocity         {_fmt(s['mean_velocity_m_per_s'], 100, '.2f', ' cm/s')}",
        f"  95 % ellipse area     {_fmt(s['ellipse95_area_m2'], 1e4, '.2f', ' cm2')}",
        f"  RMS ML / AP           {_fmt(s['rms_ml_m'], 1000, '.1f')} / "
        f"{_fmt(s['rms_ap_m'], 1000, '.1f', ' mm')}",
        f"  mean frequency        {_fmt(s['mean_frequency_hz'], 1, '.2f', ' Hz')}",
    ]
    if r["steps"]:
        lines += ["", "  t (s)     x (m)    y (m)  foot"]
        lines += [
            f"  {st['t_s']:7.3f} {st['x_m']:8.3f} {st['y_m']:8.3f}  {st['foot']}"
            for st in r["steps"]
        ]
    return "\n".join(lines)


# --- validate ----------------------------------------------------------------------------


def cmd_validate(args: argparse.Namespace) -> int:
    from station.validation.run import default_data_dir
    from station.validation.run import main as validate_main

    data_dir = Path(args.data) if args.data else default_data_dir()
    if not data_dir.is_dir():
        raise UsageError(
            f"{data_dir}: validation data not found (use --data DIR or BALANCE_STATION_DATA; "
            "a clone ships a subset in tests/data/validation, docs/validation.md has the full sets)"
        )
    return validate_main(data_dir, args.json, args.quick)


# --- parser ------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="balance-station",
        description="A smart yoga mat for movement studios: live centre of pressure, "
        "backward-walking steps and sway, with a kiosk beside the mat.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add_config(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", metavar="FILE", help="station config TOML (default: built in)")

    run = sub.add_parser(
        "run",
        help="run the station: acquisition, storage and the kiosk",
        description="Run the station. The simulated mat is the default source.",
    )
    add_config(run)
    run.add_argument(
        "--source",
        choices=["sim", "replay", "hx711", "emulated", "pico", "emulated-pico"],
        help="frame source (overrides config): the simulated member, a recording, the real "
        "HX711 mat, the HX711 path on emulated chips, the mat read by a Pico on USB, or the "
        "Pico path emulated",
    )
    run.add_argument("--recording", metavar="REC.csv", help="recording to replay (implies replay)")
    run.add_argument("--scenario", choices=SIM_SCENARIOS, help="what the simulated member does")
    run.add_argument("--seed", type=int, help="simulator seed")
    run.add_argument("--db", metavar="FILE", help="SQLite database (overrides config)")
    run.add_argument("--host", help="address for the kiosk (overrides config)")
    run.add_argument("--port", type=_port, help="port for the kiosk (overrides config; 0 = any)")
    run.set_defaults(func=cmd_run)

    sim = sub.add_parser(
        "simulate",
        help="write a simulated recording CSV and its ground truth",
        description="Simulate a member on the mat and write a recording CSV "
        "(docs/design.md format) with the ground truth beside it as .truth.json.",
    )
    add_config(sim)
    sim.add_argument("--seconds", type=float, required=True, help="length of the recording")
    sim.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    sim.add_argument("--scenario", choices=SIM_SCENARIOS, help="what the simulated member does")
    sim.add_argument("--out", required=True, metavar="REC.csv", help="where to write")
    sim.set_defaults(func=cmd_simulate)

    exp = sub.add_parser(
        "export-recording",
        help="write a stored session as a recording CSV",
        description="Write one stored session's frames as a recording CSV.",
    )
    add_config(exp)
    exp.add_argument("session_id", type=int, metavar="SESSION_ID")
    exp.add_argument("--out", required=True, metavar="REC.csv")
    exp.add_argument("--db", metavar="FILE", help="SQLite database (overrides config)")
    exp.set_defaults(func=cmd_export_recording)

    ana = sub.add_parser(
        "analyze",
        help="steps, gait and sway of a recording CSV",
        description="Analyse a recording (docs/design.md CSV format) with the same "
        "detector and metrics the live station uses.",
    )
    ana.add_argument("recording", metavar="REC.csv")
    add_config(ana)
    ana.add_argument("--json", action="store_true", help="print the report JSON")
    ana.add_argument(
        "--direction",
        choices=["backward", "forward", "none"],
        default="backward",
        help="the exercise's walking direction, used when the signal cannot tell "
        "(default backward; none: the signal alone)",
    )
    ana.set_defaults(func=cmd_analyze)

    cal = sub.add_parser(
        "calibrate",
        help="calibrate the mat with a known mass, step by step (works over SSH)",
        description="Tare the empty mat, then put a known mass on each marked spot when asked. "
        "Gains come from a least-squares fit; the residuals and a corner-load check decide "
        "whether the result is saved. Uses the configured hx711 source, or the emulated mat.",
    )
    add_config(cal)
    cal.add_argument("--source", choices=["hx711", "emulated", "pico"], help="the mat to calibrate")
    cal.add_argument("--db", metavar="FILE", help="SQLite database (overrides config)")
    cal.add_argument("--mass", type=float, default=20.0, help="the known mass in kg (default 20)")
    cal.add_argument(
        "--spots",
        type=int,
        default=5,
        choices=[3, 5, 7],
        help="centre + corners (5, default), or 3 / 7 spots",
    )
    cal.add_argument("--seconds", type=float, default=2.0, help="capture per step (default 2)")
    cal.add_argument("--yes", action="store_true", help="save without asking when it passes")
    cal.add_argument("--force", action="store_true", help="save even if the check fails")
    cal.add_argument(
        "--check",
        action="store_true",
        help="check weight: measure the known mass with the stored calibration and report "
        "the drift since (exit code 1 when the mat needs recalibrating)",
    )
    cal.add_argument(
        "--accept-reversed",
        action="store_true",
        help="keep a cell whose A+/A- wires are swapped (its gain is negative) without asking",
    )
    # tests and dry runs: the emulated operator's mistakes
    cal.add_argument("--emulate-misplace", metavar="SPOT", default="", help=argparse.SUPPRESS)
    cal.add_argument("--emulate-true-mass", type=float, default=0.0, help=argparse.SUPPRESS)
    cal.add_argument("--emulate-shift-mm", type=float, default=0.0, help=argparse.SUPPRESS)
    cal.add_argument("--emulate-reversed", metavar="CELL", default="", help=argparse.SUPPRESS)
    cal.add_argument(
        "--emulate-gain-change", metavar="CELL:PCT", default="", help=argparse.SUPPRESS
    )
    cal.set_defaults(func=cmd_calibrate)

    hea = sub.add_parser(
        "health",
        help="read rate, timing jitter and faults of the running station",
        description="Ask the running station (on this machine's kiosk port) how it is: "
        "frames per second, timing jitter, dropped frames, faulty cells, rejected glitches, "
        "and storage (queue depth, last commit, last error, frames dropped). "
        "Exit code 1 while a cell is faulty or storage is failing.",
    )
    add_config(hea)
    hea.add_argument("--url", help="the station's address (default: http://127.0.0.1:PORT)")
    hea.add_argument("--json", action="store_true", help="the raw status JSON")
    hea.set_defaults(func=cmd_health)

    stp = sub.add_parser(
        "staff-password",
        help="set the password of the kiosk's staff pages",
        description="Set the staff password (at least 8 characters), stored hashed.",
    )
    add_config(stp)
    stp.add_argument("--db", metavar="FILE", help="SQLite database (overrides config)")
    stp.add_argument("--stdin", action="store_true", help="read the password from stdin")
    stp.set_defaults(func=cmd_staff_password)

    bak = sub.add_parser(
        "backup",
        help="a consistent copy of the database, safe while the station runs",
        description="Copy the station database with SQLite's online backup into a folder "
        "(best on a second device: a USB stick or a mounted share), check the copy and every "
        "kept copy with PRAGMA integrity_check, keep the newest N. Exit code 1 when a kept "
        "copy is damaged. Bring one back with `balance-station restore FILE`.",
    )
    add_config(bak)
    bak.add_argument("--db", metavar="FILE", help="database to back up (overrides config)")
    bak.add_argument("--dest", metavar="DIR", help="folder for the copies (default: config)")
    bak.add_argument("--keep", type=int, help="copies to keep (default: config, 7)")
    bak.set_defaults(func=cmd_backup)

    res = sub.add_parser(
        "restore",
        help="bring a backup back as the station's database (station stopped)",
        description="Check a backup (PRAGMA integrity_check), keep the current database beside "
        "it as DB.before-restore-STAMP.db, and put the backup in its place. Refused while "
        "the station runs on that database.",
    )
    add_config(res)
    res.add_argument("backup", metavar="FILE", help="the backup to restore")
    res.add_argument("--db", metavar="FILE", help="database to replace (overrides config)")
    res.set_defaults(func=cmd_restore)

    val = sub.add_parser(
        "validate",
        help="score the station against real measured data",
        description="Turn the real data sets into mat recordings and score "
        "the detector and metrics against their truth (docs/validation.md).",
    )
    val.add_argument(
        "--data",
        metavar="DIR",
        help="data folder (default: BALANCE_STATION_DATA, else the subset a clone ships in "
        "tests/data/validation)",
    )
    val.add_argument("--json", action="store_true", help="print the scores as JSON")
    val.add_argument("--quick", action="store_true", help="fewer files, for a fast check")
    val.set_defaults(func=cmd_validate)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    # Databases, backups, exports and the key file hold personal data: only our user reads them.
    os.umask(os.umask(0o077) | 0o077)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"balance-station: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. `balance-station analyze REC.csv | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print("balance-station: error: output closed early (broken pipe)", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
