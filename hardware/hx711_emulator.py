"""A pin-level HX711 emulator: what the chip does on its two wires, in real time.

Behaviour from the AVIA HX711 datasheet (v2.0):
- DOUT is high while a conversion is in progress and goes low when data is ready;
- each PD_SCK rising edge shifts out the next bit, MSB first (24 bits, two's complement);
- pulses 25, 26 or 27 pull DOUT high again and choose channel A gain 128, channel B gain 32
  or channel A gain 64 for the NEXT conversion;
- conversions complete 10 or 80 times a second; unread data is replaced by the next one;
- PD_SCK held high for more than 60 us powers the chip down; when it falls again the chip
  resets (channel A, gain 128) and its first data is ready only after settling (50 ms at
  80 SPS, 400 ms at 10 SPS);
- outputs saturate at 0x7FFFFF and 0x800000.

The pins are plain objects with a `value` attribute, the only thing the Adafruit driver and
the station's readers touch, so the real driver code runs against it unchanged.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

POWER_DOWN_US = 60.0
MAX_CODE = 0x7FFFFF
MIN_CODE = -0x800000
GAIN_PULSES = {25: ("A", 128), 26: ("B", 32), 27: ("A", 64)}


def to_code(counts: float) -> int:
    """Clamp to the ADC's range, as the chip's output saturates."""
    return int(max(MIN_CODE, min(MAX_CODE, round(counts))))


@dataclass
class ChipStats:
    conversions: int = 0
    reads: int = 0
    power_downs: int = 0
    overwritten: int = 0  # conversions replaced before anyone read them


class _DoutPin:
    def __init__(self, chip: HX711Emulator) -> None:
        self._chip = chip

    @property
    def value(self) -> bool:
        return self._chip._dout()

    @value.setter
    def value(self, _: bool) -> None:
        raise AttributeError("DOUT is an output of the HX711")


class _ClockPin:
    """PD_SCK: driven by the reader, seen by one chip or (shared) by several.

    `record()` keeps every edge as (perf_counter time, level): tests assert on this pulse
    timeline (how long each pulse was high, as the chips saw it), not on the wall clock.
    """

    def __init__(self, chips: list[HX711Emulator]) -> None:
        self._chips = chips
        self._value = False
        self.timeline: list[tuple[float, bool]] | None = None

    def record(self) -> list[tuple[float, bool]]:
        self.timeline = []
        return self.timeline

    def high_times_us(self) -> list[float]:
        """Every recorded clock-high pulse, in microseconds."""
        edges = self.timeline or []
        return [(t1 - t0) * 1e6 for (t0, up), (t1, _) in itertools.pairwise(edges) if up]

    @property
    def value(self) -> bool:
        return self._value

    @value.setter
    def value(self, high: bool) -> None:
        high = bool(high)
        if high == self._value:
            return
        self._value = high
        now = time.perf_counter()
        if self.timeline is not None:
            self.timeline.append((now, high))
        for chip in self._chips:
            chip._clock_edge(high, now)


@dataclass
class HX711Emulator:
    """One HX711. `signal(t, channel, gain)` gives the input in counts at time t.

    Pass `clock=` to share a PD_SCK line with other chips (see shared_clock()).
    """

    signal: Callable[[float, str, int], float]
    rate_hz: float = 80.0
    name: str = "hx711"
    stats: ChipStats = field(default_factory=ChipStats)
    stuck_busy: bool = False  # an unplugged or dead chip (DT pulled up): DOUT never goes low
    # a broken DT wire on a pin pulled down, or DT shorted to GND: DOUT always reads low
    dout_stuck_low: bool = False
    # The datasheet's 60 us. Tests of the data protocol may relax it: a virtual machine's
    # scheduler stretches about 1 in 3,000 microsecond waits past 60 us (worst seen 1.5 ms).
    power_down_us: float = POWER_DOWN_US
    glitch: Callable[[int, int], int] | None = None  # (reading number, code) -> code on the wire
    # when set, every conversion read out is logged as (sample time, code, gain)
    read_log: list[tuple[float, int, int]] | None = None

    def __post_init__(self) -> None:
        self.dout = _DoutPin(self)
        self.pd_sck = _ClockPin([self])
        self._channel, self._gain = "A", 128
        self._rise_t = 0.0
        self.last_sample_t = float("nan")  # when the newest latched conversion was sampled
        self._epoch = time.perf_counter() + self.settle_s  # first conversion after settling
        self._ready_code: int | None = None
        self._ready_t = float("nan")
        self._ready_index = -1
        self._shift_code = 0
        self._pulses = 0
        self._reading = False

    @property
    def period_s(self) -> float:
        return 1.0 / self.rate_hz

    @property
    def settle_s(self) -> float:
        return 4.0 * self.period_s  # 50 ms at 80 SPS, 400 ms at 10 SPS

    @property
    def powered(self) -> bool:
        return not self._held_down(time.perf_counter())

    def _conversion_index(self, now: float) -> int:
        if now < self._epoch:
            return -1
        return int((now - self._epoch) / self.period_s)

    def _refresh(self, now: float) -> None:
        """Latch the newest finished conversion (replacing an unread one)."""
        index = self._conversion_index(now)
        if index > self._ready_index and not self._reading:
            if self._ready_code is not None:
                self.stats.overwritten += 1
            t_sample = self._epoch + index * self.period_s
            self.last_sample_t = t_sample
            code = to_code(self.signal(t_sample, self._channel, self._gain))
            self._ready_code = code
            self._ready_t = t_sample
            self._ready_index = index
            self.stats.conversions += 1

    def _dout(self) -> bool:
        if self.dout_stuck_low:
            return False
        # One reader thread drives a chip, as one host drives the real one: no lock here, so
        # the emulated pulses stay as short as the reader makes them.
        if self._reading:
            if self._pulses < 25 or self.pd_sck.value:
                return self._current_bit()
            # clock low after the gain pulses: the train is over, a reader polls again
            self._reading = False
            self._pulses = 0
        now = time.perf_counter()
        if self.stuck_busy or self._held_down(now):
            return True
        self._refresh(now)
        return self._ready_code is None

    def _held_down(self, now: float) -> bool:
        """PD_SCK high for more than 60 us: the chip is powered down while it stays high."""
        return self.pd_sck.value and (now - self._rise_t) * 1e6 > self.power_down_us

    def _current_bit(self) -> bool:
        if 1 <= self._pulses <= 24:
            return bool((self._shift_code >> (24 - self._pulses)) & 1)
        return True  # after the 24th bit the chip pulls DOUT high

    def _clock_edge(self, high: bool, now: float) -> None:
        if high:
            self._rise_t = now
            if self.stuck_busy:
                return
            if self._reading:
                if self._pulses < 27:
                    self._pulses += 1
                return
            # the data shifted out is what was latched when DOUT went low (a reader saw it)
            if self._ready_code is None:
                return  # clocking a busy chip does nothing
            self._reading = True
            code = self._ready_code
            if self.glitch is not None:
                code = self.glitch(self.stats.reads, code)
            self._shift_code = code & 0xFFFFFF
            self._pulses = 1
            if self.read_log is not None:
                self.read_log.append((self._ready_t, code, self._gain))
            return
        if (now - self._rise_t) * 1e6 > self.power_down_us:
            # it powered down while the clock was high; falling resets it
            self.stats.power_downs += 1
            self._power_up(now)
            return
        if self._reading and self._pulses >= 25:
            self._after_data(now)

    def _power_up(self, now: float) -> None:
        self._channel, self._gain = "A", 128
        self._reading = False
        self._pulses = 0
        self._ready_code = None
        self._epoch = now + self.settle_s
        self._ready_index = -1

    def _after_data(self, now: float) -> None:
        """Pulses 25-27: the data is consumed and the next conversion's gain is chosen."""
        if self._pulses == 25:
            self.stats.reads += 1
            self._ready_code = None
        channel, gain = GAIN_PULSES[self._pulses]
        if (channel, gain) != (self._channel, self._gain):
            # a gain or channel change restarts the conversion, which must settle again
            self._channel, self._gain = channel, gain
            self._epoch = now + self.settle_s
            self._ready_index = -1


def shared_clock(chips: list[HX711Emulator]) -> _ClockPin:
    """One PD_SCK line wired to every chip: a single clock train reads them all at once."""
    pin = _ClockPin(chips)
    for chip in chips:
        chip.pd_sck = pin
    return pin
