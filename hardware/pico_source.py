"""The mat read by a Raspberry Pi Pico over USB: `--source pico` (and `emulated-pico`).

The Pico (hardware/pico/) clocks the HX711s on hardware time and sends timestamped frames.
Here, on the station:
- `find_pico_port` finds its USB data port (CircuitPython's second serial port), unless the
  config names one;
- `PicoStream` is the protocol's state, with no I/O: checks the protocol version, maps the
  Pico's clock onto the host's (clock_sync.py), aligns cells read at different moments onto
  one frame time, counts frames lost from the sequence numbers and restarts from boot ids;
- `PicoReader` owns the serial port in a thread: pings for the clock, reconnects after an
  unplug without the station restarting, and hands readings to `HX711Source`, which adds
  what every HX711 source has (glitch filter, re-zero, rate and fault health).
"""

from __future__ import annotations

import contextlib
import functools
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from station.core.calibration import Calibration
from station.core.config import StationConfig

from .clock_sync import ClockSync, Unwrap32
from .hx711 import ReaderTimeout, Reading
from .hx711_source import HX711Source
from .pico_protocol import (
    HELLO_REQUEST,
    PROTOCOL_VERSION,
    Data,
    Decoder,
    Fault,
    Hello,
    Pong,
    ping,
)

READ_TIMEOUT_S = 0.25  # 20 frame periods at 80 frames/s: a Pico silent this long has a fault

# USB vendor ids of a Pico running CircuitPython: Adafruit's (CircuitPython's own builds)
# and Raspberry Pi's (some boards' builds).
PICO_VENDOR_IDS = (0x239A, 0x2E8A)
PING_INTERVAL_S = 0.5
HELLO_WAIT_S = 2.0
RECONNECT_INTERVAL_S = 0.25


def find_pico_port(configured: str = "") -> str | None:
    """The Pico's data port: the configured one, else found by USB vendor id and interface.

    CircuitPython with `usb_cdc.enable(data=True)` shows two serial ports; the data port is
    the second interface (its name says "CDC2"; its USB location ends in ".2").
    """
    if configured:
        return configured
    from serial.tools import list_ports

    candidates = [p for p in list_ports.comports() if p.vid in PICO_VENDOR_IDS]

    def is_data_port(p: Any) -> bool:
        return "CDC2" in (p.interface or "") or (p.location or "").endswith(".2")

    data_ports = sorted((p for p in candidates if is_data_port(p)), key=lambda p: p.device)
    return data_ports[0].device if data_ports else None


@dataclass
class LinkStats:
    frames: int = 0
    lost: int = 0  # from gaps in the sequence numbers
    corrupt: int = 0  # failed the checksum
    pico_restarts: int = 0  # a new boot id: the Pico restarted (watchdog, power)
    reconnects: int = 0
    clock_rejected: int = 0
    bytes_in: int = 0


class PicoStream:
    """The protocol's state: bytes and host times in, readings and faults out. No I/O."""

    def __init__(self, cells: int, rate_hz: float = 80.0) -> None:
        self.cells = cells
        self.rate_hz = rate_hz
        self.decoder = Decoder()
        self.stats = LinkStats()
        self.hello: Hello | None = None
        self.problem = ""  # why the link is unusable (wrong version, wrong cell count)
        self._pings: dict[int, float] = {}
        self._token = 0
        self._boot_id: int | None = None
        self._new_pico()

    def _new_pico(self) -> None:
        self.clock = ClockSync()
        self._unwrap = Unwrap32()
        self._next_seq: int | None = None
        self._previous: list[tuple[float, float]] | None = None  # per cell (t, code)

    def ping(self, host_s: float) -> bytes:
        self._token = (self._token + 1) & 0xFFFFFFFF
        self._pings[self._token] = host_s
        if len(self._pings) > 64:  # answers that never came
            for token in sorted(self._pings)[:-16]:
                del self._pings[token]
        return ping(self._token)

    def feed(self, data: bytes, host_s: float) -> list[Reading | Fault]:
        """Decode bytes read at host time `host_s`; readings carry host times."""
        out: list[Reading | Fault] = []
        self.stats.bytes_in += len(data)
        for message in self.decoder.feed(data):
            if isinstance(message, Hello):
                self._on_hello(message)
            elif self.hello is None or self.problem:
                continue  # frames from before the hello (or an incompatible Pico)
            elif isinstance(message, Pong):
                sent = self._pings.pop(message.token, None)
                if sent is not None:
                    pico_us = self._unwrap(message.t_us)
                    if not self.clock.add(sent, pico_us, host_s):
                        self.stats.clock_rejected += 1
            elif isinstance(message, Data):
                reading = self._on_data(message)
                if reading is not None:
                    out.append(reading)
            elif isinstance(message, Fault):
                out.append(message)
        self.stats.corrupt = self.decoder.corrupt
        return out

    def _on_hello(self, hello: Hello) -> None:
        if self._boot_id is not None and hello.boot_id != self._boot_id:
            self.stats.pico_restarts += 1
            self._new_pico()  # a new clock and new sequence numbers
        self._boot_id = hello.boot_id
        self.hello = hello
        if hello.version != PROTOCOL_VERSION:
            self.problem = (
                f"the Pico's firmware speaks protocol {hello.version}, this station "
                f"{PROTOCOL_VERSION}: copy hardware/pico/ onto the Pico again"
            )
        elif hello.cells != self.cells:
            self.problem = (
                f"the Pico reads {hello.cells} cells, the mat config has {self.cells}: "
                "set DATA_PINS in the Pico's config.py"
            )
        else:
            self.problem = ""

    def _on_data(self, data: Data) -> Reading | None:
        if len(data.codes) != self.cells or not self.clock.ready:
            return None  # no clock mapping yet: the first ping answer comes within 0.5 s
        if self._next_seq is not None:
            gap = (data.seq - self._next_seq) & 0xFFFFFFFF
            if gap >= 1 << 31:
                return None  # older than one already taken: a duplicate
            self.stats.lost += gap
        self._next_seq = (data.seq + 1) & 0xFFFFFFFF
        self.stats.frames += 1
        t_frame = self._unwrap(data.t_us)
        times = [self.clock.to_host(t_frame + off) for off in data.offsets_us]
        return Reading(times[0], self._align(times, data.codes), 0.0)

    def _align(self, times: list[float], codes: tuple[int, ...]) -> list[int]:
        """Every cell's value at the frame time (its first cell's conversion).

        The PIO reader samples all cells at once (offsets 0): nothing to do. Read one after
        the other (the adafruit reader), a cell converted later than the frame time is
        interpolated between its previous and its current conversion.
        """
        previous, self._previous = self._previous, list(zip(times, codes, strict=True))
        t_frame = times[0]
        if previous is None or all(t == t_frame for t in times):
            return list(codes)
        aligned = []
        for (t_prev, c_prev), t, code in zip(previous, times, codes, strict=True):
            if t_prev < t_frame < t:
                share = (t_frame - t_prev) / (t - t_prev)
                aligned.append(round(c_prev + share * (code - c_prev)))
            else:
                aligned.append(code)
        return aligned


class PicoReader:
    """The serial link in a thread; `read()` as the HX711 readers have it, for HX711Source."""

    def __init__(
        self,
        cell_names: list[str],
        port: str = "",
        rate_hz: float = 80.0,
        open_port: Callable[[str], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cell_names = cell_names
        self.configured_port = port
        self.rate_hz = rate_hz
        self.stream = PicoStream(len(cell_names), rate_hz)
        self._open_port = open_port or _open_serial
        self._clock = clock
        self._queue: queue.Queue[Reading | Fault] = queue.Queue(maxsize=int(rate_hz * 5))
        self._stop = threading.Event()
        self.state = "starting"  # starting, connected, unplugged, incompatible
        self.port = ""
        self.fault = ""  # the link's problem in one line, "" while frames flow
        self.connected_at: float | None = None
        self._thread = threading.Thread(target=self._run, name="pico-link", daemon=True)
        self._thread.start()

    # --- the reader interface HX711Source uses --------------------------------------

    @property
    def dropped(self) -> int:
        return self.stream.stats.lost

    def read(self, timeout_s: float = READ_TIMEOUT_S) -> Reading | None:
        try:
            item = self._queue.get(timeout=timeout_s)
        except queue.Empty:
            if self.state == "connected" and not self.fault:
                self._set_fault("connected", "the Pico is plugged in but sends no frames")
            raise ReaderTimeout(list(range(len(self.cell_names)))) from None
        if isinstance(item, Fault):
            raise ReaderTimeout(item.cells(len(self.cell_names)) or [0])
        return item

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def health(self) -> dict[str, Any]:
        stats = self.stream.stats
        hello = self.stream.hello
        return {
            "state": self.state,
            "port": self.port or self.configured_port or "(searching USB)",
            "problem": self.fault,
            "firmware": hello.firmware if hello else "",
            "reader": hello.reader if hello else "",
            "protocol": hello.version if hello else None,
            "frames": stats.frames,
            "frames_lost": stats.lost,
            "corrupt": stats.corrupt,
            "pico_restarts": stats.pico_restarts,
            "reconnects": stats.reconnects,
            "clock_drift_ppm": round(self.stream.clock.drift_ppm, 1),
            "round_trip_ms": round(self.stream.clock.best_rtt_s * 1e3, 3)
            if self.stream.clock.ready
            else None,
        }

    # --- the link thread --------------------------------------------------------------

    def _set_fault(self, state: str, message: str) -> None:
        self.state, self.fault = state, message

    def _run(self) -> None:
        while not self._stop.is_set():
            port = find_pico_port(self.configured_port)
            if port is None:
                self._set_fault("unplugged", "no Pico found on USB (set [source.pico] port)")
            else:
                try:
                    link = self._open_port(port)
                except OSError as exc:
                    self._set_fault("unplugged", f"Pico not plugged in at {port} ({_why(exc)})")
                else:
                    self.port = port
                    self._serve(link)
                    with contextlib.suppress(OSError):
                        link.close()
            self._stop.wait(RECONNECT_INTERVAL_S)

    def _serve(self, link: Any) -> None:
        """Talk to one plugged-in Pico until it goes away (or the station stops)."""
        stream = self.stream
        stream.hello = None
        stream.decoder.reset()  # a partial message from the last connection is gone
        asked_hello = next_ping = 0.0
        try:
            while not self._stop.is_set():
                now = self._clock()
                if stream.hello is None and now - asked_hello > HELLO_WAIT_S:
                    link.write(HELLO_REQUEST)
                    asked_hello = now
                if stream.hello is not None and now >= next_ping:
                    link.write(stream.ping(self._clock()))
                    next_ping = now + PING_INTERVAL_S
                data = link.read(max(1, link.in_waiting))
                if not data:
                    continue
                for item in stream.feed(data, self._clock()):
                    self._deliver(item)
                if stream.problem:
                    self._set_fault("incompatible", stream.problem)
                elif stream.hello is not None and self.state != "connected":
                    if self.connected_at is not None:
                        stream.stats.reconnects += 1
                    self.state, self.fault = "connected", ""
                    self.connected_at = self._clock()
        except OSError as exc:  # serial.SerialException is an OSError
            self._set_fault("unplugged", f"Pico unplugged from {self.port} ({_why(exc)})")

    def _deliver(self, item: Reading | Fault) -> None:
        if isinstance(item, Fault):
            names = [self.cell_names[i] for i in item.cells(len(self.cell_names))]
            self.fault = "no data from " + ", ".join(names)
        elif self.state == "connected":
            self.fault = ""
        try:
            self._queue.put_nowait(item)
        except queue.Full:  # the station stopped reading: keep the newest
            with contextlib.suppress(queue.Empty):
                self._queue.get_nowait()
            self._queue.put_nowait(item)


def _why(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__


def _open_serial(port: str) -> Any:
    import serial

    if not os.path.exists(port):
        raise FileNotFoundError(f"no such device {port}")
    # A USB CDC port ignores the baud rate; the short timeout keeps the pings on time.
    return serial.Serial(port, 115200, timeout=0.05, exclusive=True)


class PicoSource(HX711Source):
    """HX711Source on a PicoReader: the same health, plus the USB link's."""

    def health(self) -> dict[str, Any]:
        out = super().health()
        out["frames_dropped"] = self.reader.dropped
        out["pico"] = self.reader.health()
        return out


def build_pico(config: StationConfig, calibration: Calibration) -> PicoSource:
    """A real Pico on USB."""
    reader = PicoReader(
        [c.name for c in config.mat.cells], config.source.pico.port, config.source.rate_hz
    )
    return PicoSource(config.mat, reader, calibration, name="pico")


def build_emulated_pico(
    config: StationConfig, calibration: Calibration | None = None
) -> PicoSource:
    """The whole Pico path on any machine: the firmware on emulated chips, behind a pty."""
    from .hx711_source import emulated_mat
    from .pico_emulator import EmulatedPico, simulated_board

    # the running station never looks back at a visit's truth: forget it (flat memory)
    pico = EmulatedPico.for_mat(config, functools.partial(simulated_board, keep_truth=False))
    pico.start()
    reader = PicoReader([c.name for c in config.mat.cells], pico.port_path, config.source.rate_hz)
    # the chips' own electronics (emulated_mat), so the weight reads true without calibrating
    true_calibration = emulated_mat(config).calibration
    source = _EmulatedPicoSource(
        config.mat, reader, calibration or true_calibration, name="emulated-pico"
    )
    source.pico = pico
    return source


class _EmulatedPicoSource(PicoSource):
    pico: Any = None

    def close(self) -> None:
        super().close()
        if self.pico is not None:
            self.pico.close()
