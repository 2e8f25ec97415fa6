"""`balance-station calibrate`: the step-by-step calibration over SSH (station.calibration)."""

from __future__ import annotations

import argparse
from typing import Any

from .common import UsageError, add_config, station_config


def add_parser(sub: Any) -> None:
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


def cmd_calibrate(args: argparse.Namespace) -> int:
    from station.calibration import Options, ProcedureError, run_procedure

    config = station_config(args)
    try:
        return run_procedure(config, Options.from_args(args))
    except ProcedureError as exc:
        raise UsageError(str(exc)) from None
