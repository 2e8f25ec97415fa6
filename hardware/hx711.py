"""HX711 readers: the Adafruit driver one chip per cell, and one clock train for every chip.

Both take pin objects with a `value` attribute (a Blinka DigitalInOut, a gpiozero device, the
emulator's pins, or `LgpioPins` below) and return signed 24-bit codes.

What running adafruit-circuitpython-hx711 1.1.2 on a Pi showed, and what this
module does about it:
- `read_fast` calls `microcontroller.disable_interrupts()`, which Blinka lacks:
  `blinka_compat()` supplies it (and `enable_interrupts`) as no-ops. Linux user space cannot
  mask interrupts; instead every clock-high pulse is kept short by a busy-wait `delay_us`,
  and the shared-clock reader times each pulse and drops a frame that came near the limit.
- Blinka's `delay_us(1)` is `time.sleep(1e-6)`, 60-90 us on Linux: long enough to power the
  chip down. `blinka_compat()` replaces it with a busy-wait on `time.perf_counter`.
- Negative readings come back as large positive numbers: `to_signed()` fixes them.
- `read()` spends two conversions (a discarded one first, to set the gain): we keep the gain
  constant, so every conversion is read once (40 -> 80 readings a second).
- The wait for a ready chip has no timeout: we wait ourselves, with one, before reading.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

GAIN_PULSES = {128: 25, 32: 26, 64: 27}  # channel A 128, channel B 32, channel A 64
POWER_DOWN_US = 60.0


class Pin(Protocol):
    value: Any


def busy_wait_us(us: float) -> None:
    """Wait a few microseconds without sleeping (time.sleep cannot wait less than ~60 us)."""
    end = time.perf_counter() + us * 1e-6
    while time.perf_counter() < end:
        pass


def blinka_compat() -> None:
    """Give Blinka's `microcontroller` what the Adafruit HX711 driver expects of it."""
    import microcontroller

    if not hasattr(microcontroller, "disable_interrupts"):
        microcontroller.disable_interrupts = lambda: None
    if not hasattr(microcontroller, "enable_interrupts"):
        microcontroller.enable_interrupts = lambda: None
    microcontroller.delay_us = busy_wait_us


def to_signed(raw: int) -> int:
    """24-bit two's complement to a Python int (also undoes the driver's `|= 0xFF000000`)."""
    raw &= 0xFFFFFF
    return raw - (1 << 24) if raw & 0x800000 else raw


class ReaderTimeout(RuntimeError):
    """A chip did not become ready in time: unplugged, unpowered or dead."""

    def __init__(self, cells: list[int]) -> None:
        super().__init__(f"HX711 not ready on cell(s) {cells}")
        self.cells = cells


def wait_ready(data_pins: Sequence[Pin], timeout_s: float) -> list[int]:
    """Wait until every DOUT is low; returns the indices still busy at the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        busy = [i for i, pin in enumerate(data_pins) if pin.value]
        if not busy:
            return []
        if time.monotonic() >= deadline:
            return busy
        time.sleep(0.0003)  # a conversion takes 12.5 ms: poll gently


@dataclass
class Reading:
    t: float  # monotonic seconds, when the clock train began
    codes: list[int]
    max_high_us: float


class AdafruitCellReader:
    """One HX711 through the Adafruit driver, one conversion per reading."""

    def __init__(self, data_pin: Pin, clock_pin: Pin, gain: int = 128) -> None:
        blinka_compat()
        from adafruit_hx711.hx711 import HX711  # the card's driver

        self.data_pin = data_pin
        self.chip = HX711(data_pin, clock_pin)  # power-cycles the chip: channel A, gain 128
        self.pulses = GAIN_PULSES[gain]
        # after power-up the chip converts at gain 128: another gain needs one conversion
        # read (and dropped) to switch
        self._discard = gain != 128

    def read(self, timeout_s: float = 0.2) -> int:
        if wait_ready([self.data_pin], timeout_s):
            raise ReaderTimeout([0])
        # _read_channel_raw is the driver's one-conversion read; its public read() discards
        # one conversion every time to set a gain we never change.
        value = to_signed(self.chip._read_channel_raw(self.pulses))
        if self._discard:
            self._discard = False
            if wait_ready([self.data_pin], timeout_s):
                raise ReaderTimeout([0])
            value = to_signed(self.chip._read_channel_raw(self.pulses))
        return value


class AdafruitReader:
    """Every cell through its own chip and clock line, read one after the other.

    The chips convert unsynchronised, so cells are sampled up to one period (12.5 ms) apart:
    the shared-clock reader is the recommended wiring for a CoP mat.
    """

    def __init__(self, pins: Sequence[tuple[Pin, Pin]], gain: int = 128) -> None:
        self.cells = [AdafruitCellReader(data, clock, gain) for data, clock in pins]

    def read(self, timeout_s: float = 0.2) -> Reading:
        t = time.monotonic()
        codes = []
        for i, cell in enumerate(self.cells):
            try:
                codes.append(cell.read(timeout_s))
            except ReaderTimeout:
                raise ReaderTimeout([i]) from None
        return Reading(t, codes, 0.0)


class SharedClockReader:
    """Several HX711s on ONE clock line, each with its own data line: one train reads all.

    Every chip shifts out its bit on the same rising edge, so all cells are sampled at the
    same instant. Each clock-high pulse is timed: a frame in which any pulse came within
    `max_high_us` of the 60 us power-down limit is dropped (`dropped` counts them), since a
    chip may have reset in the middle of it.
    """

    def __init__(
        self,
        clock: Pin,
        data_pins: Sequence[Pin],
        gain: int = 128,
        max_high_us: float = 45.0,
        read_all: Any = None,
    ) -> None:
        self.clock = clock
        self.data_pins = list(data_pins)
        self.pulses = GAIN_PULSES[gain]
        self.max_high_us = max_high_us
        # Reading all data lines in one call (lgpio's group read) keeps the pulses short.
        self.read_all = read_all or (lambda: [pin.value for pin in self.data_pins])
        self.dropped = 0
        self.reset()
        self._discard = gain != 128

    def reset(self) -> None:
        """Power every chip down and up together, so their conversions start in step."""
        self.clock.value = True
        time.sleep(0.001)  # well past the 60 us power-down threshold, on purpose
        self.clock.value = False

    def read(self, timeout_s: float = 0.2) -> Reading | None:
        """One frame of codes, None if it had to be dropped; ReaderTimeout names dead cells."""
        reading = self._train(timeout_s)
        if self._discard:
            self._discard = False
            reading = self._train(timeout_s)
        return reading

    def _train(self, timeout_s: float) -> Reading | None:
        busy = wait_ready(self.data_pins, timeout_s)
        if busy:
            raise ReaderTimeout(busy)
        n = len(self.data_pins)
        codes = [0] * n
        clock = self.clock
        read_all = self.read_all
        perf = time.perf_counter
        longest = 0.0
        t = time.monotonic()
        for _ in range(24):
            t0 = perf()
            clock.value = True
            bits = read_all()
            clock.value = False
            high = perf() - t0
            longest = max(longest, high)
            for i in range(n):
                codes[i] = (codes[i] << 1) | (1 if bits[i] else 0)
        for _ in range(self.pulses - 24):  # 1-3 more: the gain of the next conversion
            t0 = perf()
            clock.value = True
            clock.value = False
            longest = max(longest, perf() - t0)
        longest_us = longest * 1e6
        if longest_us > self.max_high_us:
            self.dropped += 1
            return None
        return Reading(t, [to_signed(c) for c in codes], longest_us)


class LgpioPins:
    """Raspberry Pi GPIO through lgpio, for the shared-clock reader.

    Why lgpio: a gpiozero device write costs tens of microseconds in Python, which makes 24
    clock pulses slow and risks the 60 us limit; libgpiod's Python binding is fast too but
    differs between Bookworm releases. lgpio is what gpiozero itself uses on a Pi 5, is
    packaged for Raspberry Pi OS (python3-lgpio), writes in about a microsecond, and reads
    every data line in one group read.
    """

    def __init__(self, clock_gpio: int, data_gpios: Sequence[int], chip: int | None = None):
        import lgpio

        self._lgpio = lgpio
        last_error: Exception | None = None
        for candidate in [chip] if chip is not None else [4, 0]:  # Pi 5: gpiochip4
            try:
                self.handle = lgpio.gpiochip_open(candidate)
                break
            except lgpio.error as exc:
                last_error = exc
        else:
            raise RuntimeError(f"no GPIO chip could be opened ({last_error})")
        self.clock_gpio = clock_gpio
        self.data_gpios = list(data_gpios)
        lgpio.gpio_claim_output(self.handle, clock_gpio, 0)
        lgpio.group_claim_input(self.handle, self.data_gpios)
        self.clock = _LgpioOut(lgpio, self.handle, clock_gpio)
        self.data = [_LgpioIn(lgpio, self.handle, g) for g in self.data_gpios]

    def read_all(self) -> list[int]:
        _, bits = self._lgpio.group_read(self.handle, self.data_gpios[0])
        return [(bits >> i) & 1 for i in range(len(self.data_gpios))]

    def close(self) -> None:
        self._lgpio.gpiochip_close(self.handle)


class _LgpioOut:
    def __init__(self, lgpio: Any, handle: int, gpio: int) -> None:
        self._w = lgpio.gpio_write
        self._h = handle
        self._g = gpio
        self._v = False

    @property
    def value(self) -> bool:
        return self._v

    @value.setter
    def value(self, v: bool) -> None:
        self._v = bool(v)
        self._w(self._h, self._g, 1 if v else 0)


class _LgpioIn:
    def __init__(self, lgpio: Any, handle: int, gpio: int) -> None:
        self._r = lgpio.gpio_read
        self._h = handle
        self._g = gpio

    @property
    def value(self) -> int:
        return self._r(self._h, self._g)
