"""Shared fixtures: configs, a station process on a free port, headless Chromium."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from station.cli import default_config_path
from station.core.config import SimConfig, StationConfig, load_config

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = os.environ.get("BALANCE_STATION_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def call_cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run `balance-station ARGS` in this process: (exit code, stdout, stderr)."""
    from station.cli import main

    try:
        code = main(list(args))
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def config():
    return load_config(default_config_path())


@pytest.fixture
def mat(config):
    return config.mat


def tracked_copy(dest: Path) -> Path:
    """A copy of the files git tracks, as a fresh clone has them (no venv, no build output)."""
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    for name in files:
        if name and (REPO / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, dest / name)
    return dest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class StationProcess:
    proc: subprocess.Popen
    port: int
    db: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def start_station(db: Path, *args: str, port: int | None = None) -> StationProcess:
    """Start `balance-station run` and wait (by reading its output) until it serves."""
    cmd = [
        sys.executable,
        "-m",
        "station.cli",
        "run",
        "--db",
        str(db),
        "--port",
        str(port if port is not None else 0),
        *args,
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(r"http://[^:]+:(\d+)/", line)
    if not match:
        rest = proc.stdout.read() if proc.poll() is not None else ""
        proc.kill()
        raise AssertionError(f"station did not start: {line}{rest}")
    return StationProcess(proc, int(match.group(1)), db)


@pytest.fixture
def station_factory(tmp_path) -> Iterator:
    started: list[StationProcess] = []

    def factory(*args: str, db: Path | None = None, port: int | None = None) -> StationProcess:
        st = start_station(db or tmp_path / "station.db", *args, port=port)
        started.append(st)
        return st

    yield factory
    for st in started:
        st.stop()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (install Debian's chromium package)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def simulated_config(db_path: Path, **sim) -> StationConfig:
    """The default config with the simulated mat (`SimConfig(**sim)`) as the source and the
    database at db_path: the station `balance-station run --source sim` makes."""
    config = load_config(default_config_path())
    source = dataclasses.replace(config.source, kind="sim", sim=SimConfig(**sim))
    storage = dataclasses.replace(config.storage, path=str(db_path))
    return dataclasses.replace(config, source=source, storage=storage)
