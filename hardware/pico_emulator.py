"""An emulated Raspberry Pi Pico: the real firmware, the real PIO program, emulated chips.

A child process runs hardware/pico/code.py unchanged under the CircuitPython shims
(hardware/circuitpython/), its pins wired to pin-level HX711 emulators and its USB data port
a pseudo-terminal: the station opens it through `port_path`, a link that comes and goes
like /dev/serial/by-id/... when a Pico is plugged in or pulled out. The parent can pull the
plug, make a chip stuck, set what the chips read, or hang the firmware; a hung firmware stops
feeding its watchdog and the "Pico" restarts, as the real one would.

The Pico's clock can be made to run fast or slow (`clock_ppm`), as a real crystal does.
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing as mp
import os
import signal
import sys
import tempfile
import threading
import time
import tty
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from station.core.config import StationConfig

from .hx711_emulator import HX711Emulator

FIRMWARE_DIR = Path(__file__).parent / "pico"
CLOCK_GPIO = 2
FIRST_DATA_GPIO = 3
FIRST_SEPARATE_CLOCK_GPIO = 10  # the adafruit reader: one clock line per chip
EMULATED_CLOCK_PPM = 150.0  # the emulated Pico's crystal runs this much fast


@dataclass
class EmulatedBoard:
    """What the firmware's pins are wired to (GPIO number -> object with a `value`)."""

    pins: dict[int, Any]
    chips: list[HX711Emulator]
    inputs: Any = None


@dataclass
class ConstantInputs:
    """Chips reading fixed codes (at gain 128, channel A): for exact read-back tests.

    Channel A at gain 64 reads half the code; channel B (gain 32) a quarter, negated, so a
    wrong gain or channel shows in the value read.
    """

    codes: list[int] = field(default_factory=list)

    def signal(self, cell: int) -> Callable[[float, str, int], float]:
        def read(t: float, channel: str, gain: int) -> float:
            code = self.codes[cell]
            return code * gain / 128 if channel == "A" else -code * gain / 128

        return read


def constant_board(codes: list[int], reader: str = "pio", rate_hz: float = 80.0) -> EmulatedBoard:
    inputs = ConstantInputs(list(codes))
    chips = [
        HX711Emulator(inputs.signal(i), rate_hz=rate_hz, name=f"cell{i}") for i in range(len(codes))
    ]
    return _wire(chips, reader, inputs)


def simulated_board(config: StationConfig, keep_truth: bool = True) -> EmulatedBoard:
    """The mat's chips on one clock, fed by the simulated member (as `--source emulated`).

    `keep_truth=False` (the running station) forgets visits that are over, so memory stays
    flat however long the station runs.
    """
    from .hx711_source import emulated_chips

    inputs, chips, _ = emulated_chips(config, keep_truth=keep_truth)
    return _wire(chips, "pio", inputs)


def _wire(chips: list[HX711Emulator], reader: str, inputs: Any) -> EmulatedBoard:
    pins: dict[int, Any] = {FIRST_DATA_GPIO + i: chip.dout for i, chip in enumerate(chips)}
    if reader == "pio":
        from .hx711_emulator import shared_clock

        pins[CLOCK_GPIO] = PioClockLine(shared_clock(chips), chips)
    else:
        for i, chip in enumerate(chips):
            pins[FIRST_SEPARATE_CLOCK_GPIO + i] = chip.pd_sck
    return EmulatedBoard(pins, chips, inputs)


class PioClockLine:
    """The shared PD_SCK line, knowing whether the PIO or the CPU drives it.

    The PIO program holds the clock high 3 us (3 cycles at 1 MHz, which the interpreter
    counts: `PioStateMachine.longest_high_cycles`). Interpreted in Python the same pulse
    lasts about 17 us of real time, and on a loaded machine a preemption now and then
    stretches it to milliseconds, which the real PIO never does. So while a state machine
    drives the line the chips' power-down is off; driven from the CPU (the firmware's 1 ms
    reset pulse, through digitalio) it is the datasheet's 60 us again.
    """

    def __init__(self, line: Any, chips: list[HX711Emulator]) -> None:
        self.line = line
        self.chips = chips
        self.limits_us = [chip.power_down_us for chip in chips]

    @property
    def value(self) -> bool:
        return self.line.value

    @value.setter
    def value(self, high: bool) -> None:
        self.line.value = high

    def pio_driven(self, attached: bool) -> None:
        for chip, limit in zip(self.chips, self.limits_us, strict=True):
            chip.power_down_us = float("inf") if attached else limit


def firmware_config(cells: int, reader: str = "pio", gain: int = 128) -> dict[str, Any]:
    """The values of the firmware's config.py for the emulated wiring above."""
    return {
        "READER": reader,
        "CLOCK_PIN": f"GP{CLOCK_GPIO}",
        "DATA_PINS": tuple(f"GP{FIRST_DATA_GPIO + i}" for i in range(cells)),
        "CLOCK_PINS": tuple(f"GP{FIRST_SEPARATE_CLOCK_GPIO + i}" for i in range(cells)),
        "GAIN": gain,
        "READ_TIMEOUT_MS": 250,
        "WATCHDOG_S": 2.0,
    }


class EmulatedPico:
    """The emulated Pico, run in a child process and restarted when its watchdog expires."""

    def __init__(
        self,
        board_factory: Callable[[], EmulatedBoard],
        config: dict[str, Any],
        port_path: str | None = None,
        clock_ppm: float = 0.0,
    ) -> None:
        self.board_factory = board_factory
        self.config = config
        self._tmp = None if port_path else tempfile.TemporaryDirectory(prefix="pico-")
        self.port_path = port_path or os.path.join(self._tmp.name, "pico-data")  # type: ignore[union-attr]
        self.clock_ppm = clock_ppm
        self.resets = 0  # watchdog restarts
        self._ctx = mp.get_context("spawn")
        self._feed = self._ctx.Array("d", [0.0, 0.0])  # last feed (host monotonic), timeout
        self._proc: Any = None
        self._conn: Any = None
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._watch = threading.Thread(target=self._watchdog, name="pico-watchdog", daemon=True)

    @classmethod
    def for_mat(
        cls, config: StationConfig, factory: Callable[[StationConfig], EmulatedBoard]
    ) -> EmulatedPico:
        return cls(
            functools.partial(factory, config),
            firmware_config(len(config.mat.cells)),
            clock_ppm=EMULATED_CLOCK_PPM,
        )

    def start(self) -> EmulatedPico:
        self._spawn()
        self._watch.start()
        return self

    def _spawn(self) -> None:
        self._feed[0], self._feed[1] = 0.0, 0.0
        self._conn, child = self._ctx.Pipe()
        self._proc = self._ctx.Process(
            target=_pico_main,
            args=(
                self.board_factory,
                self.config,
                self.port_path,
                self.clock_ppm,
                child,
                self._feed,
            ),
            name="emulated-pico",
            daemon=True,
        )
        self._proc.start()

    def _watchdog(self) -> None:
        """The RP2040's watchdog, seen from outside: no feed in time, the Pico restarts."""
        while not self._closing.wait(0.05):
            last, timeout = self._feed[0], self._feed[1]
            expired = timeout > 0 and time.monotonic() - last > timeout
            with self._lock:
                if self._closing.is_set():
                    return
                if expired or not self._proc.is_alive():
                    self._proc.kill()
                    self._proc.join(2)
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(self.port_path)  # USB gone while it restarts
                    self.resets += 1
                    self._spawn()

    def _send(self, *command: Any) -> None:
        with self._lock, contextlib.suppress(OSError):
            self._conn.send(command)

    def unplug(self) -> None:
        """Pull the USB cable: the port disappears (the firmware keeps running here; a
        bus-powered Pico would stop, and restart with a new boot id when plugged back)."""
        self._send("unplug")

    def plug(self) -> None:
        self._send("plug")

    def set_stuck(self, cell: int, stuck: bool = True) -> None:
        """A chip whose DOUT stays high: unplugged, unpowered or dead."""
        self._send("stuck", cell, stuck)

    def set_codes(self, codes: list[int]) -> None:
        self._send("codes", list(codes))

    def freeze(self) -> None:
        """Hang the firmware's loop (a bug, a stuck USB write): the watchdog must act."""
        self._send("freeze")

    def close(self) -> None:
        self._closing.set()
        with self._lock:
            if self._proc is not None:
                self._proc.kill()
                self._proc.join(2)
        if self._watch.is_alive():
            self._watch.join(2)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.port_path)
        if self._tmp is not None:
            self._tmp.cleanup()


# --- in the child process -----------------------------------------------------------------


class _Usb:
    """The pty behind the shim's USB port, and the by-id style link to it."""

    def __init__(self, port_path: str) -> None:
        self.port_path = port_path
        self.slave: int | None = None

    def plug(self, port: Any) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)  # a USB CDC port is raw: no echo, no line editing
        self.slave = slave
        tmp = self.port_path + ".new"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        os.symlink(os.ttyname(slave), tmp)
        os.replace(tmp, self.port_path)
        port.plug(master)

    def unplug(self, port: Any) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.port_path)
        port.unplug()
        if self.slave is not None:
            os.close(self.slave)
            self.slave = None


def _drifting_time(ppm: float) -> types.ModuleType:
    """`time` for the firmware: the Pico's clock runs `ppm` fast (or slow, if negative)."""
    real = time
    start = real.monotonic_ns()
    scale = 1.0 + ppm * 1e-6
    module = types.ModuleType("time")
    for name in dir(real):
        if not name.startswith("_"):
            setattr(module, name, getattr(real, name))

    def monotonic_ns() -> int:
        return start + int((real.monotonic_ns() - start) * scale)

    module.monotonic_ns = monotonic_ns  # type: ignore[attr-defined]
    module.monotonic = lambda: monotonic_ns() / 1e9  # type: ignore[attr-defined]
    return module


def _pico_main(
    board_factory: Callable[[], EmulatedBoard],
    config: dict[str, Any],
    port_path: str,
    clock_ppm: float,
    conn: Any,
    feed: Any,
) -> None:
    import runpy

    from .circuitpython import SHIM_DIR
    from .circuitpython.wiring import WIRING, UsbPort

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the station stops us, not Ctrl+C
    board = board_factory()
    WIRING.pins.update(board.pins)
    WIRING.usb = UsbPort(None)
    usb = _Usb(port_path)
    usb.plug(WIRING.usb)
    real_monotonic = time.monotonic

    def on_feed(timeout_s: float) -> None:
        feed[0], feed[1] = real_monotonic(), timeout_s

    def poll() -> None:
        while conn.poll():
            command, *args = conn.recv()
            if command == "unplug":
                usb.unplug(WIRING.usb)
            elif command == "plug" and not WIRING.usb.connected:
                usb.plug(WIRING.usb)
            elif command == "stuck":
                board.chips[args[0]].stuck_busy = args[1]
            elif command == "codes":
                board.inputs.codes[:] = args[0]
            elif command == "freeze":
                while True:
                    time.sleep(1)

    WIRING.feed = on_feed
    WIRING.poll = poll
    settings = types.ModuleType("config")
    settings.__dict__.update(config)
    sys.modules["config"] = settings
    sys.path.insert(0, str(SHIM_DIR))
    sys.modules["time"] = _drifting_time(clock_ppm)
    try:
        runpy.run_path(str(FIRMWARE_DIR / "code.py"), run_name="__main__")
    finally:
        sys.modules["time"] = time
