"""deploy/: scripts lint clean, units verify, the installer works into a throwaway root."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

from .conftest import REPO

pytestmark = pytest.mark.slow

SCRIPTS = [
    REPO / "deploy" / "install.sh",
    REPO / "deploy" / "uninstall.sh",
    REPO / "deploy" / "kiosk" / "balance-station-kiosk",
]
UNITS = [
    "balance-station.service",
    "balance-station-backup.service",
    "balance-station-backup.timer",
]


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed (tests/run.sh installs it)")
    return path


def test_shell_scripts_are_shellcheck_clean():
    result = subprocess.run(
        [tool("shellcheck"), *map(str, SCRIPTS)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


def install(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "SUDO_USER")}
    return subprocess.run(
        [
            "bash",
            str(REPO / "deploy" / "install.sh"),
            "--root",
            str(root),
            "--source",
            str(REPO),
            *args,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def snapshot(root: Path) -> dict[str, str]:
    """Every file's content hash and mode (the venv's compiled caches aside)."""
    out = {}
    for path in sorted(root.rglob("*")):
        if "__pycache__" in path.parts or path.is_dir():
            continue
        if path.is_symlink():
            out[str(path.relative_to(root))] = "-> " + os.readlink(path)
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        out[str(path.relative_to(root))] = f"{digest} {oct(path.stat().st_mode)}"
    return out


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    root = tmp_path_factory.mktemp("pi-root")
    result = install(root)
    assert result.returncode == 0, result.stderr
    return root, result


def test_every_file_lands_where_the_docs_say(installed):
    root, _ = installed
    for path in [
        "opt/balance-station/venv/bin/balance-station",
        "opt/balance-station/bin/balance-station-kiosk",
        "opt/balance-station/README.md",
        "etc/balance-station/station.toml",
        "etc/balance-station/station.toml.dist",
        *(f"etc/systemd/system/{u}" for u in UNITS),
        "home/pi/.config/labwc/autostart",
        "home/pi/.config/wayfire.ini",
    ]:
        assert (root / path).is_file(), path
    assert (root / "var/lib/balance-station/backups").is_dir()
    config = (root / "etc/balance-station/station.toml").read_text()
    assert 'path = "/var/lib/balance-station/station.db"' in config
    assert os.access(root / "opt/balance-station/bin/balance-station-kiosk", os.X_OK)
    assert "balance-station-kiosk &" in (root / "home/pi/.config/labwc/autostart").read_text()
    assert re.search(
        r"\[autostart\]\nbalance_station = /opt/balance-station/bin/",
        (root / "home/pi/.config/wayfire.ini").read_text(),
    )
    # the deploy docs name the same places
    docs = (REPO / "deploy" / "README.md").read_text()
    for place in (
        "/opt/balance-station",
        "/etc/balance-station/station.toml",
        "/var/lib/balance-station",
        "balance-station.service",
    ):
        assert place in docs


def test_units_pass_systemd_analyze_verify(installed, tmp_path):
    root, _ = installed
    # systemd needs its own targets inside the root to resolve After= and WantedBy=
    system = root / "usr/lib/systemd/system"
    if not system.exists():
        shutil.copytree("/usr/lib/systemd/system", system, symlinks=True)
    result = subprocess.run(
        [
            tool("systemd-analyze"),
            "verify",
            f"--root={root}",
            *(f"/etc/systemd/system/{u}" for u in UNITS),
        ],
        capture_output=True,
        text=True,
    )
    problems = [line for line in result.stderr.splitlines() if "balance-station" in line]
    assert result.returncode == 0 and not problems, result.stderr


def test_a_second_run_changes_nothing_and_keeps_the_config(installed):
    root, _ = installed
    config = root / "etc/balance-station/station.toml"
    edited = config.read_text().replace("port = 8080", "port = 8090")
    config.write_text(edited)
    before = snapshot(root)
    result = install(root)
    assert result.returncode == 0, result.stderr
    assert "already up to date, nothing changed" in result.stdout
    assert snapshot(root) == before
    assert config.read_text() == edited


def test_the_installed_station_starts_and_serves_the_kiosk(installed, tmp_path):
    root, _ = installed
    exe = root / "opt/balance-station/venv/bin/balance-station"
    proc = subprocess.Popen(
        [
            str(exe),
            "run",
            "--config",
            str(root / "etc/balance-station/station.toml"),
            "--db",
            str(tmp_path / "station.db"),
            "--port",
            "0",  # the station picks a free port and prints it
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
    )
    try:
        first = proc.stdout.readline()
        served = re.search(r"kiosk on http://[^:]+:(\d+)/", first)
        assert served, first
        port = int(served.group(1))
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/?kiosk=1", timeout=10) as r:
            assert "Balance Station" in r.read().decode()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=10) as r:
            assert json.loads(r.read())["source"] == "sim"
    finally:
        proc.terminate()
        proc.wait(30)


def test_uninstall_keeps_the_data_unless_purged(tmp_path):
    root = tmp_path / "root"
    assert install(root, "--no-kiosk").returncode == 0
    db = root / "var/lib/balance-station/station.db"
    db.write_bytes(b"sessions")
    uninstall = REPO / "deploy" / "uninstall.sh"
    result = subprocess.run(
        ["bash", str(uninstall), "--root", str(root)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert not (root / "opt/balance-station").exists()
    assert not (root / "etc/systemd/system/balance-station.service").exists()
    assert db.read_bytes() == b"sessions"
    assert (root / "etc/balance-station/station.toml").exists()
    subprocess.run(
        ["bash", str(uninstall), "--root", str(root), "--purge"], check=True, capture_output=True
    )
    assert not db.exists() and not (root / "etc/balance-station").exists()


def test_installer_refuses_bad_options(tmp_path):
    result = install(tmp_path / "r", "--keep-backups", "many")
    assert result.returncode == 2 and "whole number" in result.stderr
    result = install(tmp_path / "r", "--frobnicate")
    assert result.returncode == 2 and "unknown option" in result.stderr
