"""The GPIO panel on gpiozero's mock pins: presses, holds, LED patterns, buzzer."""

from __future__ import annotations

import threading
import time

import pytest
from gpiozero.pins.mock import MockFactory

from hardware.panel import LED_PATTERNS, Panel, station_state
from station.core.config import PanelConfig


@pytest.fixture
def panel():
    factory = MockFactory()
    calls = {"press": threading.Event(), "hold": threading.Event(), "presses": 0}

    def press():
        calls["presses"] += 1
        calls["press"].set()

    p = Panel(PanelConfig(enabled=True, hold_s=0.3), press, calls["hold"].set, pin_factory=factory)
    yield p, factory, calls
    p.close()


def test_a_press_starts_or_ends_the_exercise(panel):
    _p, factory, calls = panel
    pin = factory.pin(16)
    pin.drive_low()  # pressed (the button pulls up; pressing grounds it)
    pin.drive_high()
    assert calls["press"].wait(1.0)
    assert calls["presses"] == 1 and not calls["hold"].is_set()


def test_holding_three_seconds_tares_and_is_not_a_press(panel):
    _p, factory, calls = panel
    pin = factory.pin(16)
    pin.drive_low()
    assert calls["hold"].wait(2.0)  # hold_s = 0.3 here; 3 s by default
    pin.drive_high()
    assert not calls["press"].wait(0.3)
    assert calls["presses"] == 0


def blink_timing(pin, flips: int, timeout_s: float = 8.0) -> list[float]:
    """Durations between the LED pin's changes, once it has changed `flips` times."""
    deadline = time.monotonic() + timeout_s
    while len(pin.states) < flips + 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    # MockPin records each change with the time since the one before
    return [s.timestamp for s in pin.states[2:]]


def near(gap: float, target: float) -> bool:
    """A blink's phase as the eye sees it: a timer is never early, but a loaded machine may
    make it late by a fraction of a second, which still tells the patterns apart."""
    return target - 0.02 <= gap <= target + 0.2


@pytest.mark.parametrize("state", ["recording", "fault"])
def test_led_patterns_are_distinct(panel, state):
    p, factory, _ = panel
    pin = factory.pin(20)
    p.set_state(state)
    pin.clear_states()
    on_time, off_time = LED_PATTERNS[state]
    gaps = blink_timing(pin, 6)
    assert len(gaps) >= 4
    for gap in gaps:
        assert near(gap, on_time) or near(gap, off_time)


def test_ready_is_steady_and_idle_is_a_heartbeat(panel):
    p, factory, _ = panel
    pin = factory.pin(20)
    p.set_state("ready")
    assert pin.state is True
    p.set_state("idle")
    pin.clear_states()
    gaps = blink_timing(pin, 3, timeout_s=7)
    assert any(near(g, LED_PATTERNS["idle"][0]) for g in gaps)
    assert any(near(g, LED_PATTERNS["idle"][1]) for g in gaps)


def test_buzzer_beeps_and_chirps(panel):
    p, factory, _ = panel
    pin = factory.pin(21)
    pin.clear_states()
    p.beep()
    deadline = time.monotonic() + 1
    while len(pin.states) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [s.state for s in pin.states[1:3]] == [True, False]
    pin.clear_states()
    p.chirp()
    deadline = time.monotonic() + 2
    while len(pin.states) < 7 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [s.state for s in pin.states[1:]].count(True) == 3


def test_station_state_mapping():
    assert station_state({"state": "fault"}) == "fault"
    assert station_state({"state": "running", "session_key": 3}) == "recording"
    assert station_state({"state": "running", "session_key": None, "on_mat_now": True}) == "ready"
    assert station_state({"state": "running", "session_key": None}) == "idle"
