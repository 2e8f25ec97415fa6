"""`simulate` and `export-recording`: recordings in the docs/design.md CSV format, in and out."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from station.core.config import SIM_SCENARIOS

from .common import UsageError, add_config, output_file, station_config

MAX_SIMULATE_S = 86_400.0


def add_parser(sub: Any) -> None:
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


def cmd_simulate(args: argparse.Namespace) -> int:
    from hardware.simulator.mat import SimulatedMat
    from station.core.recording import write_recording

    if not 0 < args.seconds <= MAX_SIMULATE_S:  # also refuses nan and inf
        raise UsageError(f"--seconds must be more than 0 and at most {MAX_SIMULATE_S:g} (a day)")
    config = station_config(args)
    out = output_file(args.out)
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


def cmd_export_recording(args: argparse.Namespace) -> int:
    from station.core.recording import write_recording
    from station.store import StoreError, open_database, session_frames

    config = station_config(args)
    db_path = Path(config.storage.path)
    if not db_path.exists():
        raise UsageError(f"{db_path}: no station database here (use --db FILE)")
    out = output_file(args.out)
    try:
        db = open_database(db_path)
        names, t, forces = session_frames(db, args.session_id)
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    status = db.execute("select status from sessions where id = ?", [args.session_id]).fetchone()
    write_recording(out, names, t, np.asarray(forces))
    print(f"wrote {out}: session {args.session_id}, {len(t)} frames, {t[-1] - t[0]:.2f} s")
    if status is not None and status[0] == "recording":
        print("  (the session was still being recorded: this is what was stored so far)")
    return 0
