"""`--source emulated-pico` in the real station process: firmware, PIO, USB link, kiosk."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .conftest import REPO, call_cli
from .test_station_process import standing_weight_n, status


@pytest.mark.slow
def test_the_pico_path_runs_end_to_end_in_the_station(station_factory, tmp_path):
    """The emulated Pico (its firmware on emulated chips, behind a pseudo-terminal) feeds
    the station; the member's weight arrives, and health reports the Pico's link."""
    # the member steps on well after the link is up, as on a real mat: a load already there
    # when the station starts is the empty mat's zero
    config = tmp_path / "station.toml"
    config.write_text(
        (REPO / "station" / "default_config.toml")
        .read_text()
        .replace("start_delay_s = 0.0", "start_delay_s = 12.0")
    )
    st = station_factory(
        "--config", str(config), "--source", "emulated-pico", "--scenario", "stand"
    )
    assert standing_weight_n(st.port, timeout=30) == pytest.approx(70 * 9.80665, rel=0.02)
    s = status(st.port)
    health = s["health"]
    assert s["source"] == "emulated-pico" and health["faulty_cells"] == []
    # the chips give 80/s; the emulated firmware, interpreted, may miss a conversion on a
    # loaded machine (a real Pico does not), but the link loses nothing
    assert health["frame_rate_hz"] > 55
    pico = health["pico"]
    assert pico["state"] == "connected" and pico["protocol"] == 1 and pico["reader"] == "pio"
    assert pico["corrupt"] == 0 and pico["frames_lost"] == 0
    # the command a studio owner runs, against the running station
    result = subprocess.run(
        [sys.executable, "-m", "station.cli", "health", "--url", f"http://127.0.0.1:{st.port}"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pico        connected" in result.stdout
    assert "frames lost" in result.stdout and "ppm" in result.stdout
    assert st.stop() == 0


def test_a_configured_port_with_no_pico_is_named(tmp_path):
    from hardware.hx711 import ReaderTimeout
    from hardware.pico_source import PicoReader

    reader = PicoReader(["a", "b"], str(tmp_path / "no-pico"))
    try:
        with pytest.raises(ReaderTimeout) as timeout:
            reader.read(0.5)
        assert timeout.value.cells == [0, 1]
        health = reader.health()
        assert health["state"] == "unplugged"
        assert "not plugged in" in health["problem"] and "no-pico" in health["problem"]
        assert json.dumps(health)  # health is what /api/status serves
    finally:
        reader.close()


def test_pico_source_without_calibration_says_so(capsys, tmp_path):
    code, _, err = call_cli(capsys, "run", "--source", "pico", "--db", str(tmp_path / "d.db"))
    assert code == 2
    assert "balance-station calibrate" in err
    assert err.count("\n") == 1
