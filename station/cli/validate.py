"""`balance-station validate`: score the station against real measured data."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .common import UsageError


def add_parser(sub: Any) -> None:
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
