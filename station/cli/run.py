"""`balance-station run`: the station itself (composed in station.runtime)."""

from __future__ import annotations

import argparse
import signal
from typing import Any

from station import __version__
from station.core.config import SIM_SCENARIOS

from .common import UsageError, add_config, port_number, seconds_value, station_config


def add_parser(sub: Any) -> None:
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
    run.add_argument(
        "--start-delay",
        type=seconds_value,
        metavar="SECONDS",
        help="the simulated mat stays empty this long first: time to choose on the kiosk",
    )
    run.add_argument("--db", metavar="FILE", help="SQLite database (overrides config)")
    run.add_argument("--host", help="address for the kiosk (overrides config)")
    run.add_argument(
        "--port", type=port_number, help="port for the kiosk (overrides config; 0 = any)"
    )
    run.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    from station.runtime import StartError, Station
    from web.addresses import kiosk_url

    config = station_config(args)
    try:
        station = Station(config)
    except StartError as exc:
        raise UsageError(str(exc)) from None

    def shut_down(signum: int, _frame: Any) -> None:
        station.hub.close()  # releases every live viewer's thread
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, shut_down)
    signal.signal(signal.SIGINT, shut_down)
    station.start()
    print(
        f"Balance Station {__version__}: kiosk on {kiosk_url(config.web.host, station.port)}/, "
        f"share links for phones on {station.app.config['PUBLIC_URL']} "
        f"(source {station.source.name}, database {config.storage.path}); "
        "Ctrl+C stops",
        flush=True,
    )
    try:
        station.serve_forever()
    finally:
        print(station.close(), flush=True)
    return 0
