"""`balance-station staff-password`: the password of the kiosk's staff pages."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .common import UsageError, add_config, station_config


def add_parser(sub: Any) -> None:
    stp = sub.add_parser(
        "staff-password",
        help="set the password of the kiosk's staff pages",
        description="Set the staff password (at least 8 characters), stored hashed.",
    )
    add_config(stp)
    stp.add_argument("--db", metavar="FILE", help="SQLite database (overrides config)")
    stp.add_argument("--stdin", action="store_true", help="read the password from stdin")
    stp.set_defaults(func=cmd_staff_password)


def cmd_staff_password(args: argparse.Namespace) -> int:
    """Set the password of the kiosk's staff pages (stored hashed in the database)."""
    import getpass

    from station.store import open_database
    from web.security import set_staff_password

    config = station_config(args)
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
