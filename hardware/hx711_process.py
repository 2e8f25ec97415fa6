"""The HX711 reader in its own process, and the factory that opens the Pi's GPIO for it.

This module imports nothing heavy (no numpy): the reader process locks its memory, and on
a Pi Zero 2 W (512 MB) every locked megabyte counts: about 10 MB here against 140 MB with
numpy loaded.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable
from typing import Any

from station.core.config import StationConfig

from .hx711 import AdafruitReader, ReaderTimeout, Reading, SharedClockReader
from .realtime import RealtimeReport, claim_realtime


class ProcessReader:
    """A reader running in its own process, so its clock train never waits for the GIL.

    In the station's process the web server and the store writer also run Python; the
    interpreter hands the GIL between threads every 5 ms, and a clock pulse caught by that
    switch stays high for milliseconds: the chips power down and the frame is lost (measured:
    about 40 % of frames with everything in one process). A child process keeps the timing
    critical part alone, as Klipper keeps it off the host. It asks for real-time priority,
    one core and locked memory (`realtime.claim_realtime`) and says what it got
    (`realtime`). Frames come back through a pipe.
    """

    def __init__(self, factory: Callable[[], Any], realtime: bool = True) -> None:
        ctx = mp.get_context("spawn")  # no fork of a process with threads
        self._conn, child = ctx.Pipe(duplex=False)
        self._stop = ctx.Event()
        self._proc = ctx.Process(
            target=_reader_main,
            args=(factory, child, self._stop, realtime),
            name="hx711-reader",
            daemon=True,
        )
        self._proc.start()
        self.dropped = 0
        self.realtime = RealtimeReport.not_asked()

    def read(self, timeout_s: float | None = None) -> Reading | None:
        # the first frame waits for the child to start (interpreter and imports: ~1 s)
        while True:
            if not self._conn.poll((timeout_s or 0.25) + 5.0):
                if not self._proc.is_alive():
                    raise ReaderStopped("the HX711 reader process stopped")
                return None
            try:
                message = self._conn.recv()
            except EOFError:
                raise ReaderStopped("the HX711 reader process stopped") from None
            if message[0] == "realtime":
                self.realtime = RealtimeReport.from_dict(message[1])
                continue
            if message[0] == "timeout":
                raise ReaderTimeout(message[1])
            if message[0] == "error":
                raise RuntimeError(message[1])
            _, t, codes, max_high_us, dropped, sample_t = message
            self.dropped = dropped
            return Reading(t, codes, max_high_us, sample_t)

    def close(self) -> None:
        self._stop.set()
        self._proc.join(timeout=2)
        if self._proc.is_alive():
            self._proc.terminate()


class ReaderStopped(RuntimeError):
    """The reader process is gone (the station is stopping, or it crashed)."""


def _reader_main(factory: Callable[[], Any], conn: Any, stop: Any, realtime: bool) -> None:
    import signal

    # The station stops its reader; Ctrl+C reaching the whole process group should not.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if realtime:
        conn.send(("realtime", claim_realtime().as_dict()))
    try:
        reader = factory()
    except Exception as exc:  # reported to the station as one line
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    while not stop.is_set():
        try:
            reading = reader.read()
        except ReaderTimeout as exc:
            conn.send(("timeout", exc.cells))
            continue
        if reading is not None:
            try:
                conn.send(
                    (
                        "frame",
                        reading.t,
                        reading.codes,
                        reading.max_high_us,
                        reader.dropped,
                        reading.sample_t,
                    )
                )
            except (BrokenPipeError, OSError):
                return  # the station has gone


def hardware_reader(config: StationConfig) -> Any:
    """The factory the reader process calls: opens the GPIO and builds the reader."""
    hw = config.source.hx711
    if hw.reader == "shared-clock":
        try:
            from .hx711 import LgpioPins

            pins = LgpioPins(hw.clock_gpio, hw.data_gpios)
        except ImportError:
            raise RuntimeError("no GPIO here (lgpio is not installed)") from None
        reader: Any = SharedClockReader(
            pins.clock, pins.data, hw.gain, read_all=pins.read_all, rate_hz=config.source.rate_hz
        )
    else:
        try:
            import board
            import digitalio
        except (ImportError, NotImplementedError, RuntimeError) as exc:
            raise RuntimeError(f"no GPIO here ({exc})") from None
        pairs = []
        for data_gpio, clock_gpio in zip(hw.data_gpios, hw.clock_gpios, strict=True):
            data = digitalio.DigitalInOut(getattr(board, f"D{data_gpio}"))
            data.direction = digitalio.Direction.INPUT
            clock = digitalio.DigitalInOut(getattr(board, f"D{clock_gpio}"))
            clock.direction = digitalio.Direction.OUTPUT
            pairs.append((data, clock))
        reader = AdafruitReader(pairs, hw.gain, rate_hz=config.source.rate_hz)
    return reader
