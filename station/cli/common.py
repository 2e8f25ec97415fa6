"""What every command shares: the one-line usage error, the parser, and the station config.

Every user mistake (bad option, bad file, busy port) ends in one line on stderr and exit
code 2; nothing here prints a traceback at a user.
"""

from __future__ import annotations

import argparse
import dataclasses
from importlib import resources
from pathlib import Path
from typing import NoReturn

from station.core.config import ConfigError, StationConfig, load_config

EXIT_USAGE = 2


class UsageError(Exception):
    """Anything the user can fix: reported in one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def add_config(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="station config TOML (default: built in)")


def output_file(name: str) -> Path:
    """A file to write: its folder must exist and it must not be a folder itself."""
    out = Path(name)
    if out.is_dir():
        raise UsageError(f"{out} is a folder; give a file name, e.g. {out / 'recording.csv'}")
    if not out.parent.exists():
        raise UsageError(f"{out}: folder {out.parent} does not exist")
    return out


def port_number(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is not 0-65535")
    return port


def seconds_value(text: str) -> float:
    """A time in seconds, 0 to a day: argparse's own float would take "nan" or -5."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number of seconds {text!r}") from None
    if not 0.0 <= seconds <= 86400.0:
        raise argparse.ArgumentTypeError(f"{text} seconds is not 0-86400")
    return seconds


def default_config_path() -> Path:
    return Path(str(resources.files("station") / "default_config.toml"))


def station_config(args: argparse.Namespace) -> StationConfig:
    """The config file (or the built-in one) with this command's options laid over it."""
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
    if getattr(args, "start_delay", None) is not None:
        sim = dataclasses.replace(source.sim, start_delay_s=args.start_delay)
        source = dataclasses.replace(source, sim=sim)
    web = config.web
    if getattr(args, "host", None):
        web = dataclasses.replace(web, host=args.host)
    if getattr(args, "port", None) is not None:
        web = dataclasses.replace(web, port=args.port)
    storage = config.storage
    if getattr(args, "db", None):
        storage = dataclasses.replace(storage, path=args.db)
    return dataclasses.replace(config, source=source, web=web, storage=storage)
