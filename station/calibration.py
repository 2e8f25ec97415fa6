"""The calibration procedure: the console steps around the pure maths of core.calibrate.

It talks to the mat (through its frame source) and to the person calibrating (questions on
the console, answered with Enter); `balance-station calibrate` runs it. With the emulated
mat, an emulated operator puts the masses down at each step, and the hidden `emulate_*`
options make the mistakes real people make (a misplaced mass, a reversed cell), so tests
drive this very procedure.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from station.core.config import StationConfig


class ProcedureError(Exception):
    """The calibration stops: a one-line reason; nothing was saved."""


@dataclass(frozen=True)
class Options:
    """What `balance-station calibrate` was asked (see its --help)."""

    mass: float = 20.0  # kg
    spots: int = 5
    seconds: float = 2.0
    yes: bool = False
    force: bool = False
    check: bool = False
    accept_reversed: bool = False
    # tests and dry runs: the emulated operator's mistakes
    emulate_misplace: str = ""
    emulate_true_mass: float = 0.0
    emulate_shift_mm: float = 0.0
    emulate_reversed: str = ""
    emulate_gain_change: str = ""

    @classmethod
    def from_args(cls, args: Any) -> Options:
        return cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(cls)})


def _ask(prompt: str) -> str:
    try:
        return input(prompt)
    except EOFError:
        raise ProcedureError("calibration stopped: no answer (nothing was saved)") from None


def _capture(frames: Any, seconds: float, rate_hz: float) -> np.ndarray:
    """Readings over `seconds`, after a quarter second for hands to leave and the load to settle."""
    for _ in range(int(0.25 * rate_hz)):
        next(frames)
    n = max(int(seconds * rate_hz), 10)
    return np.array([next(frames).counts for _ in range(n)])


def run_procedure(config: StationConfig, opts: Options) -> int:
    """Step by step over SSH: tare, known masses on marked spots, cross-check, report, save.

    With `check`: the same steps with the stored calibration, reporting the drift since.
    Returns the exit code (0 saved or not asked to, 1 a check that needs recalibrating).
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

    if config.source.kind not in ("hx711", "emulated", "pico"):
        config = dataclasses.replace(
            config, source=dataclasses.replace(config.source, kind="emulated")
        )
        print("No HX711 source configured: calibrating the emulated mat (a dry run).")
    mat = config.mat
    stored = None
    if opts.check:
        db = open_database(config.storage.path)
        try:
            stored = latest_calibration(db, mat.cell_names)
        finally:
            db.close()
        if stored is None:
            raise ProcedureError(
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
        raise ProcedureError(str(exc)) from None
    if getattr(source, "zero", None) is not None:
        source.zero = None  # no automatic re-zero while calibrating
    emulated = getattr(source, "inputs", None)
    if emulated is not None:
        _emulate_mistakes(opts, mat, emulated.sim.electronics)
    real_mass = opts.emulate_true_mass or opts.mass  # the emulated operator's real mass
    shift_m = opts.emulate_shift_mm / 1000.0
    frames = source.frames()
    limits = Limits()
    spots = standard_spots(mat)[: opts.spots]
    rate = config.source.rate_hz
    what = "Checking the calibration of" if opts.check else "Calibrating"
    print(
        f"{what} {mat.name}: {len(mat.cells)} cells, {len(spots)} spots, "
        f"{opts.mass:g} kg mass. Ctrl+C stops without saving."
    )

    while True:
        _ask("\n1. Clear the mat completely, step away, then press Enter. ")
        if emulated is not None:
            emulated.loads = []
        try:
            offsets = tare(_capture(frames, opts.seconds, rate))
            break
        except CalibrationError as exc:
            print(f"   Refused: {exc}")
    print("   Tare done.")

    def measure(label: str, kg: float, x_m: float, y_m: float, ask: str) -> np.ndarray:
        """Mean counts with the mass on a spot, asked again until the load is still."""
        while True:
            _ask(ask)
            if emulated is not None:
                dx = 0.05 if label == opts.emulate_misplace else 0.0
                emulated.loads = [(kg, x_m + dx + shift_m, y_m)]
            try:
                mean = check_still(_capture(frames, opts.seconds, rate), offsets, limits.stable_rel)
                print("   Measured.")
                return mean
            except CalibrationError as exc:
                print(f"   Refused: {exc}")

    placements = []
    for n, spot in enumerate(spots, start=2):
        ask = (
            f"\n{n}. Put the {opts.mass:g} kg mass on the {spot.label.upper()} mark "
            f"(x = {spot.x_m:+.2f} m, y = {spot.y_m:+.2f} m), hands off, then press Enter. "
        )
        mean = measure(spot.label, real_mass, spot.x_m, spot.y_m, ask)
        placements.append(Placement(spot, opts.mass, mean))
    if opts.check:
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
        raise ProcedureError(f"calibration refused: {exc}") from None

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
    counts = check_still(_capture(frames, opts.seconds, rate), offsets, limits.stable_rel)
    if emulated is not None:
        emulated.loads = []
    try:
        second_measured = cross_check(offsets, gains, counts, second_kg, limit=0.01)
    except CalibrationError as exc:
        raise ProcedureError(f"calibration refused: {exc}") from None
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
    if not ok and not opts.force:
        raise ProcedureError("calibration not saved: the corner-load check failed")
    reversed_advice = reversed_cells_advice(mat.cell_names, gains)
    if reversed_advice:
        print(f"\nNote: {reversed_advice}.")
        if not (opts.accept_reversed or opts.yes) and _ask(
            "Accept it as it is? [y/N] "
        ).strip().lower() not in ("y", "yes"):
            raise ProcedureError(
                "calibration not saved: swap the A+/A- wires, then calibrate again"
            )
    if not opts.yes and _ask("Save this calibration? [y/N] ").strip().lower() not in ("y", "yes"):
        print("Not saved.")
        return 0
    report = {
        "mass_kg": opts.mass,
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


def _emulate_mistakes(opts: Options, mat: Any, electronics: Any) -> None:
    """Tests and dry runs: a cell wired reversed, or one whose gain changed since."""
    if opts.emulate_reversed:
        electronics.gains[mat.cell_names.index(opts.emulate_reversed)] *= -1
    if opts.emulate_gain_change:
        cell, pct = opts.emulate_gain_change.split(":")
        electronics.gains[mat.cell_names.index(cell)] *= 1 + float(pct) / 100


def _report_check(
    config: StationConfig, stored_gains: np.ndarray, offsets: np.ndarray, placements: list
) -> int:
    """Print and store what the check weight says about the stored calibration."""
    from station.core.calibrate import check_drift
    from station.store import open_database
    from station.store_calibrations import newest_calibration_id, save_check

    # the quality mark's limit: a check that passes here never marks "recalibrate" later
    drift = check_drift(config.mat, stored_gains, offsets, placements, config.quality.drift_pct)
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
