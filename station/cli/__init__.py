"""`balance-station`: the command line, one module per command family.

`main` parses and dispatches; each command module adds its own sub-parser. The running
station itself is composed in `station.runtime`.
"""

from __future__ import annotations

import logging
import os
import sys

from station import __version__

from . import analyze, backup, calibrate, data, health, run, staff, validate
from .common import EXIT_USAGE, Parser, UsageError, default_config_path

__all__ = ["build_parser", "default_config_path", "main"]

COMMANDS = (run, data, analyze, calibrate, health, staff, backup, validate)
EXIT_PIPE_CLOSED = 141  # what a shell reports for a program ended by SIGPIPE (`cmd | head`)


def build_parser() -> Parser:
    parser = Parser(
        prog="balance-station",
        description="A smart yoga mat for movement studios: live centre of pressure, "
        "backward-walking steps and sway, with a kiosk beside the mat.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(sub)
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
        code = args.func(args)
        sys.stdout.flush()  # a reader that left early is noticed here, not at exit
        return code
    except UsageError as exc:
        print(f"balance-station: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # e.g. `balance-station health --json | head -c 10`: the reader has what it wanted;
        # end quietly, like any Unix tool, and keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_PIPE_CLOSED
    except KeyboardInterrupt:
        return 130
