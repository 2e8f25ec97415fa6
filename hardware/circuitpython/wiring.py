"""What the CircuitPython shims are connected to: one emulated Pico per process."""

from __future__ import annotations

import errno
import fcntl
import os
import termios
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

PIN_COUNT = 30
LED_GPIO = 25


class Latch:
    """A GPIO nobody else drives (the LED): remembers what the firmware wrote."""

    def __init__(self) -> None:
        self.value = False
        self.changes = 0

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "value" and getattr(self, "value", None) != value:
            object.__setattr__(self, "changes", getattr(self, "changes", 0) + 1)
        object.__setattr__(self, name, value)


class UsbPort:
    """The Pico's USB data port: the device end (master) of a pseudo-terminal.

    The station opens the other end like any USB serial port. Writes never block: with no
    room (nobody reading) a message is dropped, as the firmware expects of an idle link.
    """

    def __init__(self, master_fd: int | None) -> None:
        self.timeout = 0.0
        self.write_timeout = 0.0
        self.dropped_writes = 0
        self.fd = None
        if master_fd is not None:
            self.plug(master_fd)

    def plug(self, master_fd: int) -> None:
        os.set_blocking(master_fd, False)
        self.fd = master_fd

    @property
    def connected(self) -> bool:
        return self.fd is not None

    @property
    def in_waiting(self) -> int:
        WIRING.poll()
        if self.fd is None:
            return 0
        try:
            raw = fcntl.ioctl(self.fd, termios.FIONREAD, b"\0\0\0\0")
        except OSError:
            return 0
        return int.from_bytes(raw, "little")

    def read(self, n: int = 1) -> bytes:
        if self.fd is None:
            return b""
        try:
            return os.read(self.fd, n)
        except OSError:
            return b""

    def write(self, data: bytes) -> int:
        if self.fd is None:
            return 0
        try:
            return os.write(self.fd, data)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EIO):
                raise
            self.dropped_writes += 1
            return 0

    def unplug(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


@dataclass
class Wiring:
    pins: dict[int, Any] = field(default_factory=dict)  # GPIO -> object with a `value`
    claimed: set[int] = field(default_factory=set)
    usb: UsbPort | None = None
    feed: Callable[[float], None] = lambda timeout_s: None  # the watchdog's
    poll: Callable[[], None] = lambda: None  # control from the emulator's owner
    monotonic_ns: Callable[[], int] = lambda: 0

    def __post_init__(self) -> None:
        self.pins.setdefault(LED_GPIO, Latch())

    def read(self, gpio: int, pull_up: bool) -> bool:
        pin = self.pins.get(gpio)
        if pin is None:
            return pull_up  # nothing wired: the pull decides
        return bool(pin.value)

    def write(self, gpio: int, level: bool) -> None:
        pin = self.pins.get(gpio)
        if pin is None:
            pin = self.pins[gpio] = Latch()
        pin.value = bool(level)

    def read_all(self, pull_up_mask: int = 0) -> int:
        """Every GPIO at once (bit n = GPn), as a PIO `in pins` or `wait` sees them."""
        wired = 0
        bits = 0
        for gpio, pin in self.pins.items():
            wired |= 1 << gpio
            if pin.value:
                bits |= 1 << gpio
        return bits | (pull_up_mask & ~wired)

    def drive_by_pio(self, gpio: int, attached: bool) -> None:
        """Tell a wired line that a state machine (not the CPU) drives it now, or no more."""
        hook = getattr(self.pins.get(gpio), "pio_driven", None)
        if hook is not None:
            hook(attached)

    def claim(self, gpio: int) -> None:
        if gpio in self.claimed:
            raise ValueError(f"GP{gpio} in use")
        self.claimed.add(gpio)

    def release(self, gpio: int) -> None:
        self.claimed.discard(gpio)


WIRING = Wiring()
