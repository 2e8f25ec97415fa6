"""HX711 readers: the Adafruit driver one chip per cell, and one clock train for every chip.

Both take pin objects with a `value` attribute (a Blinka DigitalInOut, a gpiozero device, the
emulator's pins, or `LgpioPins` below) and return signed 24-bit codes, each with the instant
its chip finished that conversion (`Reading.sample_t`).

What running adafruit-circuitpython-hx711 1.1.2 on a Pi showed, and what this module does
about it:
- `read_fast` calls `microcontroller.disable_interrupts()`, which Blinka lacks:
  `blinka_compat()` supplies it (and `enable_interrupts`) as no-ops. Linux user space cannot
  mask interrupts; instead every clock-high pulse is timed (both readers) and a reading in
  which any pulse came near the 60 us power-down limit is dropped, never returned.
- Blinka's `delay_us(1)` is `time.sleep(1e-6)`, 60-90 us on Linux: long enough to power the
  chip down. `blinka_compat()` replaces it with a busy-wait on `time.perf_counter`.
- Negative readings come back as large positive numbers: `to_signed()` fixes them.
- `read()` spends two conversions (a discarded one first, to set the gain): we keep the gain
  constant, so every conversion is read once (40 -> 80 readings a second), and discard one
  only where the datasheet needs it (after a power-up at a gain other than 128).
- The wait for a ready chip has no timeout: we wait ourselves, with one, before reading.

Datasheet timing both readers respect: the first data after a power-up (or gain change)
comes after settling, 50 ms at 80 SPS and 400 ms at 10 SPS; a clock held high more than
60 us powers the chip down, and it wakes at channel A, gain 128.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

GAIN_PULSES = {128: 25, 32: 26, 64: 27}  # channel A 128, channel B 32, channel A 64
POWER_DOWN_US = 60.0
MAX_HIGH_US = 45.0  # a pulse longer than this may have reset a chip: its reading is dropped
POLL_S = 0.0003  # how often a waiting reader looks at DOUT (a conversion takes 12.5 ms)
PRECISE_S = 0.001  # an edge seen between polls this close dates the chip's period


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


def settle_s(rate_hz: float) -> float:
    """Datasheet settling after power-up or a gain change: 50 ms at 80 SPS, 400 ms at 10 SPS."""
    return 4.0 / rate_hz


def read_timeout_s(rate_hz: float) -> float:
    """How long a chip may stay busy before it is named faulty: 3 periods, at least 0.25 s."""
    return max(0.25, 3.0 / rate_hz)


class ReaderTimeout(RuntimeError):
    """A chip did not become ready in time: unplugged, unpowered or dead."""

    def __init__(self, cells: list[int]) -> None:
        super().__init__(f"HX711 not ready on cell(s) {cells}")
        self.cells = cells


class ConversionClock:
    """When one chip finishes its conversions, from the DOUT ready edges a reader sees.

    Every HX711 converts on its own oscillator (rates differ by up to a few %), so chips on
    one clock line are *read* together but *sample* at different instants. A falling DOUT
    seen while polling dates a conversion to within a poll; a conversion that finished
    unseen (during a clock train, or replacing an unread one) is dated by the chip's own
    period, learnt from the edges it was seen to make.
    """

    def __init__(self, rate_hz: float) -> None:
        self.nominal_s = 1.0 / rate_hz
        self.period_s = self.nominal_s
        self.last_edge: float | None = None
        self._last_seen: float | None = None

    def forget(self) -> None:
        """After a reset the chip restarts its conversions: nothing known about the phase."""
        self.last_edge = None
        self._last_seen = None

    def saw_edge(self, t_low: float, t_high: float) -> None:
        """DOUT fell between two polls: at `t_low` it was still high, at `t_high` low.

        A late poll (a busy machine) leaves a wide interval: the edge is then put where the
        chip's own period predicts it, within that interval.
        """
        estimate = (t_low + t_high) / 2
        if self.last_edge is not None:
            periods = round((estimate - self.last_edge) / self.period_s)
            predicted = self.last_edge + periods * self.period_s
            estimate = min(t_high, max(t_low, predicted))
        if t_high - t_low < PRECISE_S:
            if self._last_seen is not None:
                periods = round((estimate - self._last_seen) / self.period_s)
                if periods >= 1:
                    measured = (estimate - self._last_seen) / periods
                    if abs(measured / self.nominal_s - 1.0) < 0.05:  # ignore a mismatch
                        self.period_s += 0.3 * (measured - self.period_s)
            self._last_seen = estimate
        self.last_edge = estimate

    def sample_time(self, t_read: float) -> float:
        """The instant of the newest conversion finished before `t_read` (its data is read)."""
        if self.last_edge is None:
            self.last_edge = t_read
            return t_read
        periods = math.floor((t_read - self.last_edge) / self.period_s)
        if periods > 0:
            self.last_edge += periods * self.period_s
        return self.last_edge


def wait_ready(
    data_pins: Sequence[Pin], timeout_s: float, clocks: Sequence[ConversionClock] | None = None
) -> list[int]:
    """Wait until every DOUT is low; returns the indices still busy at the timeout.

    With `clocks`, each falling DOUT seen is dated (the middle of the poll that saw it).
    """
    deadline = time.monotonic() + timeout_s
    seen_high = [False] * len(data_pins)
    last_poll = time.monotonic()
    while True:
        now = time.monotonic()
        busy = []
        for i, pin in enumerate(data_pins):
            if pin.value:
                busy.append(i)
                seen_high[i] = True
            elif seen_high[i]:
                seen_high[i] = False
                if clocks is not None:
                    clocks[i].saw_edge(last_poll, now)
        if not busy:
            return []
        if now >= deadline:
            return busy
        last_poll = now
        time.sleep(POLL_S)


@dataclass
class Reading:
    t: float  # monotonic seconds, when the clock train began
    codes: list[int]
    max_high_us: float
    # monotonic seconds at which each chip finished the conversion read (one per cell)
    sample_t: list[float] = field(default_factory=list)


class _Reader:
    """What both readers share: timeouts that fit the rate, recovery after a reset."""

    def __init__(self, cells: int, gain: int, rate_hz: float, max_high_us: float) -> None:
        self.pulses = GAIN_PULSES[gain]
        self.gain = gain
        self.rate_hz = rate_hz
        self.max_high_us = max_high_us
        self.clocks = [ConversionClock(rate_hz) for _ in range(cells)]
        self.dropped = 0
        self._discard = False
        self._settled_at = 0.0

    def _after_reset(self) -> None:
        """A chip may have powered down: it wakes at gain 128 and settles before data."""
        # the first conversion after a power-up is at gain 128: read and drop it when we
        # want 64 or 32 (the datasheet's gain is that of the NEXT conversion)
        self._discard = self.gain != 128
        self._settled_at = time.monotonic() + settle_s(self.rate_hz)
        for clock in self.clocks:
            clock.forget()

    def read(self, timeout_s: float | None = None) -> Reading | None:
        """One frame of codes, None if it had to be dropped; ReaderTimeout names dead cells."""
        reading = self._frame(timeout_s)
        while reading is not None and self._discard:
            self._discard = False  # the gain-128 conversion after a reset: read and dropped
            reading = self._frame(timeout_s)
        return reading

    def _frame(self, timeout_s: float | None) -> Reading | None:
        raise NotImplementedError

    def _timeout(self, timeout_s: float | None) -> float:
        base = read_timeout_s(self.rate_hz) if timeout_s is None else timeout_s
        return base + max(0.0, self._settled_at - time.monotonic())


class AdafruitCellReader:
    """One HX711 through the Adafruit driver, one conversion per reading, every pulse timed."""

    def __init__(self, data_pin: Pin, clock_pin: Pin, gain: int = 128) -> None:
        blinka_compat()
        from adafruit_hx711.hx711 import HX711  # the card's driver

        self.data_pin = data_pin
        self.clock = TimedPin(clock_pin)
        self.chip = HX711(data_pin, self.clock)  # power-cycles the chip: channel A, gain 128
        self.pulses = GAIN_PULSES[gain]

    def read_raw(self) -> tuple[int, float]:
        """One conversion through the driver (DOUT must be low): code, longest pulse in us."""
        self.clock.start()
        # _read_channel_raw is the driver's one-conversion read; its public read() discards
        # one conversion every time to set a gain we never change.
        value = to_signed(self.chip._read_channel_raw(self.pulses))
        return value, self.clock.longest_us


class AdafruitReader(_Reader):
    """Every cell through its own chip and clock line, read one after the other.

    A reading with any clock pulse over `max_high_us` is dropped (`dropped` counts them) and
    the reader recovers as after a reset: the driver alone returns such corrupted values
    silently (a chip that powered down mid-read shifts out ones).
    """

    def __init__(
        self,
        pins: Sequence[tuple[Pin, Pin]],
        gain: int = 128,
        rate_hz: float = 80.0,
        max_high_us: float = MAX_HIGH_US,
    ) -> None:
        super().__init__(len(pins), gain, rate_hz, max_high_us)
        self.cells = [AdafruitCellReader(data, clock, gain) for data, clock in pins]
        self._after_reset()  # the driver power-cycled every chip

    def _frame(self, timeout_s: float | None) -> Reading | None:
        t = time.monotonic()
        codes, samples = [], []
        longest = 0.0
        for i, cell in enumerate(self.cells):
            if wait_ready([cell.data_pin], self._timeout(timeout_s), [self.clocks[i]]):
                raise ReaderTimeout([i])
            t_read = time.monotonic()
            code, high_us = cell.read_raw()
            longest = max(longest, high_us)
            codes.append(code)
            samples.append(self.clocks[i].sample_time(t_read))
        if longest > self.max_high_us:
            self.dropped += 1
            self._after_reset()
            return None
        return Reading(t, codes, longest, samples)


class TimedPin:
    """A clock pin that times how long each pulse stays high (write to write, conservatively)."""

    def __init__(self, pin: Pin) -> None:
        self._pin = pin
        self._rise = 0.0
        self.longest_us = 0.0

    def start(self) -> None:
        self.longest_us = 0.0

    @property
    def value(self) -> Any:
        return self._pin.value

    @value.setter
    def value(self, high: Any) -> None:
        if high:
            self._rise = time.perf_counter()
            self._pin.value = True
        else:
            self._pin.value = False
            if self._rise:
                self.longest_us = max(self.longest_us, (time.perf_counter() - self._rise) * 1e6)
                self._rise = 0.0


class SharedClockReader(_Reader):
    """Several HX711s on ONE clock line, each with its own data line: one train reads all.

    Every chip shifts out its bit on the same rising edge. Each chip still converts on its
    own oscillator, so each cell's conversion instant is reported (`Reading.sample_t`) and
    the source aligns the cells onto one instant. Each clock-high pulse is timed: a frame in
    which any pulse came within `max_high_us` of the 60 us power-down limit is dropped
    (`dropped` counts them), since a chip may have reset in the middle of it.
    """

    def __init__(
        self,
        clock: Pin,
        data_pins: Sequence[Pin],
        gain: int = 128,
        max_high_us: float = MAX_HIGH_US,
        read_all: Any = None,
        rate_hz: float = 80.0,
    ) -> None:
        super().__init__(len(data_pins), gain, rate_hz, max_high_us)
        self.clock = clock
        self.data_pins = list(data_pins)
        # Reading all data lines in one call (lgpio's group read) keeps the pulses short.
        self.read_all = read_all or (lambda: [pin.value for pin in self.data_pins])
        self.reset()

    def reset(self) -> None:
        """Power every chip down and up together, so their conversions start in step."""
        self.clock.value = True
        time.sleep(0.001)  # well past the 60 us power-down threshold, on purpose
        self.clock.value = False
        self._after_reset()

    def _frame(self, timeout_s: float | None) -> Reading | None:
        busy = wait_ready(self.data_pins, self._timeout(timeout_s), self.clocks)
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
            self._after_reset()
            return None
        samples = [c.sample_time(t) for c in self.clocks]
        return Reading(t, [to_signed(c) for c in codes], longest_us, samples)


# Raspberry Pi GPIO controllers, as lgpio's chip info labels them (Pi 5: RP1; Pi 4; Pi 3/Zero)
PI_GPIO_LABELS = ("pinctrl-rp1", "pinctrl-bcm2711", "pinctrl-bcm2835")


class LgpioPins:
    """Raspberry Pi GPIO through lgpio, for the shared-clock reader.

    Why lgpio: a gpiozero device write costs tens of microseconds in Python, which makes 24
    clock pulses slow and risks the 60 us limit; libgpiod's Python binding is fast too but
    differs between Bookworm releases. lgpio is what gpiozero itself uses on a Pi 5, is
    packaged for Raspberry Pi OS (python3-lgpio), writes in about a microsecond, and reads
    every data line in one group read.

    The data lines get the Pi's internal pull-ups: a broken DT wire then reads "busy" and is
    named as a missing chip, instead of reading low (the power-on pull-down of GPIO 9-27)
    and passing as a cell that measures exactly 0.
    """

    def __init__(self, clock_gpio: int, data_gpios: Sequence[int], chip: int | None = None):
        import lgpio

        self._lgpio = lgpio
        self.handle = self._open_chip(lgpio, chip)
        self.clock_gpio = clock_gpio
        self.data_gpios = list(data_gpios)
        lgpio.gpio_claim_output(self.handle, clock_gpio, 0)
        lgpio.group_claim_input(self.handle, self.data_gpios, lgpio.SET_PULL_UP)
        self.clock = _LgpioOut(lgpio, self.handle, clock_gpio)
        self.data = [_LgpioIn(lgpio, self.handle, g) for g in self.data_gpios]

    @staticmethod
    def _open_chip(lgpio: Any, chip: int | None) -> int:
        """The chip whose label is the Pi's GPIO controller (gpiochip0, or 4 on early Pi 5
        kernels); `chip` forces one."""
        if chip is not None:
            return lgpio.gpiochip_open(chip)
        seen = []
        for candidate in range(6):
            try:
                handle = lgpio.gpiochip_open(candidate)
            except lgpio.error:
                continue
            label = lgpio.gpio_get_chip_info(handle)[3]
            if label in PI_GPIO_LABELS:
                return handle
            seen.append(f"gpiochip{candidate} ({label})")
            lgpio.gpiochip_close(handle)
        found = ", ".join(seen) or "none"
        raise RuntimeError(f"no Raspberry Pi GPIO chip found (seen: {found})")

    def read_all(self) -> list[int]:
        """Every data line in one group read: bit i of the result is data_gpios[i]."""
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
