"""A small filesystem for storage-failure tests and the disk-full benchmark.

A size-limited tmpfs mounted by the test itself (needs root; otherwise the test is skipped
with that reason), a way to fill it to the last byte, and a station config whose storage
settings the test chooses.
"""

from __future__ import annotations

import errno
import os
import subprocess
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import tomli_w

from station.cli import default_config_path


class CannotMount(RuntimeError):
    pass


@contextmanager
def small_disk(path: Path, size: str = "4m") -> Iterator[Path]:
    """A tmpfs of `size` at `path`, unmounted afterwards."""
    if os.geteuid() != 0:
        raise CannotMount("mounting a size-limited tmpfs needs root")
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise CannotMount(f"cannot mount a tmpfs: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(disk: Path) -> Path:
    """Take every free byte of `disk` with a filler file; remove it to give the room back."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)
    try:
        for chunk in (1 << 16, 1 << 12, 1):
            while True:
                try:
                    os.write(fd, b"\0" * chunk)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)
    return filler


def station_config(path: Path, **storage: object) -> Path:
    """The default config with these [storage] settings, written to `path`."""
    raw = tomllib.loads(default_config_path().read_text())
    raw.setdefault("storage", {}).update(storage)
    path.write_bytes(tomli_w.dumps(raw).encode())
    return path
