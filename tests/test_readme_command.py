"""The README's first command, run as written in a fresh copy of the repo, starts the station."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import urllib.request

import pytest

from .conftest import REPO, tracked_copy

pytestmark = pytest.mark.slow


def readme_command(name: str) -> str:
    text = (REPO / "README.md").read_text()
    match = re.search(rf"<!-- command:{name} -->\s*```(?:sh|bash)\n(.+?)\n```", text, re.S)
    assert match, f"README has no command:{name} block"
    return match.group(1).strip()


def test_readme_names_the_test_command_that_ci_runs():
    assert readme_command("test") == "bash tests/run.sh"
    assert "bash tests/run.sh" in (REPO / ".ci" / "run").read_text()


def test_first_command_starts_the_station(tmp_path):
    command = readme_command("run")
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", 8080)) == 0:
            pytest.skip("port 8080 is taken on this machine; the README command uses it")
    copy = tracked_copy(tmp_path / "balance-station")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    proc = subprocess.Popen(
        ["bash", "-c", command],
        cwd=copy,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # pip's output, then the station's banner
            if "kiosk on http://127.0.0.1:8080/" in line:
                break
        else:
            pytest.fail(f"the station did not start (exit {proc.wait()})")
        with urllib.request.urlopen("http://127.0.0.1:8080/", timeout=10) as r:
            assert "Balance Station" in r.read().decode()
        with urllib.request.urlopen("http://127.0.0.1:8080/api/stream", timeout=10) as r:
            for raw in r:
                if raw.startswith(b"data: [{"):
                    frame = json.loads(raw[6:])[0]
                    assert set(frame) >= {"t", "fz", "x", "y"}
                    break
        assert (copy / "balance-station.db").exists()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
