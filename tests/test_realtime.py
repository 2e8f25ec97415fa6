"""The reader's real-time headroom: what the systemd unit grants is what the reader asks for."""

from __future__ import annotations

import configparser
import json
import os
import resource
import shutil
import subprocess
import sys

import pytest

from hardware.realtime import FIFO_PRIORITY, MEMLOCK_LIMIT_MB

from .conftest import REPO

UNIT = REPO / "deploy" / "systemd" / "balance-station.service"
PROBE = (
    "import json, os; from hardware.realtime import claim_realtime; r = claim_realtime(); "
    "print(json.dumps({**r.as_dict(), 'seen_policy': os.sched_getscheduler(0)}))"
)


def unit_service() -> dict[str, list[str]]:
    parser = configparser.ConfigParser(
        strict=False, interpolation=None, empty_lines_in_values=False
    )
    parser.optionxform = str  # keys are case-sensitive in systemd units
    values: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            values.setdefault(key.strip(), []).append(value.strip())
    return values


def test_the_unit_allows_exactly_the_readers_priority_and_locked_memory_and_stays_hardened():
    service = unit_service()
    assert service["LimitRTPRIO"] == [str(FIFO_PRIORITY)]
    assert service["LimitMEMLOCK"] == [f"{MEMLOCK_LIMIT_MB}M"]
    assert "RestrictRealtime" not in service or service["RestrictRealtime"] == ["no"]
    assert service["CapabilityBoundingSet"] == [""]  # no capability: the limits suffice
    for key in ("NoNewPrivileges", "ProtectSystem", "ProtectKernelTunables", "LockPersonality"):
        assert service[key] in (["yes"], ["strict"]), key


def run_probe_as_nobody(rtprio: int, memlock_mb: int) -> dict:
    def drop() -> None:
        resource.setrlimit(resource.RLIMIT_RTPRIO, (rtprio, rtprio))
        memlock = memlock_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (memlock, memlock))
        os.setgid(65534)
        os.setuid(65534)

    # the system's Python: an unprivileged user may not reach this one (hardware.realtime
    # needs the standard library only)
    python = shutil.which("python3", path="/usr/bin:/bin") or sys.executable
    result = subprocess.run(
        [python, "-c", PROBE],
        capture_output=True,
        text=True,
        cwd=REPO,
        preexec_fn=drop,
        timeout=60,
        env={"PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def can_raise_limits() -> bool:
    """Root in a container may lack CAP_SYS_RESOURCE: then the limits cannot be raised."""
    if os.geteuid() != 0:
        return False
    code = "import resource; resource.setrlimit(resource.RLIMIT_RTPRIO, (40, 40))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


@pytest.mark.skipif(not can_raise_limits(), reason="needs root that may raise rlimits")
def test_an_unprivileged_reader_gets_fifo_and_locked_memory_with_the_units_limits():
    granted = run_probe_as_nobody(FIFO_PRIORITY, MEMLOCK_LIMIT_MB)
    assert granted["fifo_priority"] == FIFO_PRIORITY and granted["seen_policy"] == os.SCHED_FIFO
    assert granted["memory_locked"] and granted["refused"] == []


@pytest.mark.skipif(os.geteuid() != 0, reason="dropping to an unprivileged user needs root")
def test_without_the_units_limits_the_reader_is_refused_and_says_so():
    refused = run_probe_as_nobody(0, 0)
    assert refused["fifo_priority"] is None and not refused["memory_locked"]
    assert refused["seen_policy"] == os.SCHED_OTHER
    assert any("SCHED_FIFO" in r for r in refused["refused"])
    assert any("mlockall" in r for r in refused["refused"])
