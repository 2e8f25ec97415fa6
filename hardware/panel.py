"""The GPIO panel beside the mat, with gpiozero: one button, one status LED, one buzzer.

- Button: a press starts or ends the exercise; holding it 3 s re-zeroes the empty mat.
- LED: a pattern a teacher can tell apart from across the room:
  idle (nobody on the mat) a short blink every 3 s; ready (someone on the mat, not
  recording) steadily on; recording a slow even blink; fault a fast flicker.
- Buzzer: an optional short beep at each foot contact, a three-note chirp at the end.

gpiozero's MockFactory stands in for the pins in tests, as on any machine without GPIO.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from gpiozero import LED, Button, Buzzer

from station.core.config import PanelConfig

# on-time, off-time in seconds; None = steadily on
LED_PATTERNS: dict[str, tuple[float, float] | None] = {
    "idle": (0.1, 2.9),
    "ready": None,
    "recording": (0.5, 0.5),
    "fault": (0.08, 0.08),
}


class Panel:
    def __init__(
        self,
        config: PanelConfig,
        on_press: Callable[[], None],
        on_hold: Callable[[], None],
        pin_factory: Any = None,
    ) -> None:
        self.config = config
        self._on_press = on_press
        self._on_hold = on_hold
        self.button = Button(config.button_gpio, hold_time=config.hold_s, pin_factory=pin_factory)
        self.led = LED(config.led_gpio, pin_factory=pin_factory)
        self.buzzer = Buzzer(config.buzzer_gpio, pin_factory=pin_factory)
        self._held = False
        self.button.when_held = self._when_held
        self.button.when_pressed = self._when_pressed
        self.button.when_released = self._when_released
        self.state = ""
        self._lock = threading.Lock()
        self.set_state("idle")

    def _when_pressed(self) -> None:
        self._held = False

    def _when_held(self) -> None:
        self._held = True
        self._on_hold()

    def _when_released(self) -> None:
        if not self._held:
            self._on_press()
        self._held = False

    def set_state(self, state: str) -> None:
        """Show a station state on the LED (idle, ready, recording, fault)."""
        with self._lock:
            if state == self.state:
                return
            self.state = state
            pattern = LED_PATTERNS[state]
            if pattern is None:
                self.led.on()
            else:
                self.led.blink(on_time=pattern[0], off_time=pattern[1])

    def beep(self) -> None:
        if self.config.beep_on_step:
            self.buzzer.blink(on_time=0.04, off_time=0.0, n=1)

    def chirp(self) -> None:
        self.buzzer.blink(on_time=0.07, off_time=0.05, n=3)

    def close(self) -> None:
        for device in (self.button, self.led, self.buzzer):
            device.close()


def station_state(status: dict[str, Any]) -> str:
    """The panel state for an acquisition status."""
    if status.get("state") == "fault":
        return "fault"
    if status.get("session_key") is not None:
        return "recording"
    if status.get("on_mat_now"):
        return "ready"
    return "idle"
