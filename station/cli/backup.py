"""`backup` and `restore`: consistent copies of the database, checked, and bringing one back."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from station.store import StoreError

from .common import UsageError, add_config, station_config


def add_parser(sub: Any) -> None:
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


def cmd_backup(args: argparse.Namespace) -> int:
    from station.backup import backup_database

    config = station_config(args)
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

    config = station_config(args)
    db_path = Path(config.storage.path)
    try:
        kept = restore_database(args.backup, db_path)
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    before = f"; the database it replaced is kept as {kept}" if kept else ""
    print(f"restored {args.backup} as {db_path} (integrity ok){before}")
    return 0
