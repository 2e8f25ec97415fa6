"""`microcontroller` of an emulated Pico: microsecond delays, interrupts, the watchdog.

CPython cannot mask interrupts: disable_interrupts() is a no-op here. The emulated HX711s
power down if a clock pulse stays high over 60 us, so a reader that needs it shows it.
"""

import time as _time

from hardware.circuitpython.wiring import WIRING


def delay_us(us: int) -> None:
    end = _time.perf_counter() + us * 1e-6
    while _time.perf_counter() < end:
        pass


def disable_interrupts() -> None:
    pass


def enable_interrupts() -> None:
    pass


class _WatchDog:
    def __init__(self) -> None:
        self.timeout = 0.0
        self._mode = None

    @property
    def mode(self):
        return self._mode

    @mode.setter
    def mode(self, mode) -> None:
        self._mode = mode
        self.feed()

    def feed(self) -> None:
        if self._mode is not None:
            WIRING.feed(self.timeout)


watchdog = _WatchDog()
