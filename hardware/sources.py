"""Build the frame source a config asks for."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from station.core.calibration import Calibration
from station.core.config import StationConfig
from station.core.frames import RawFrame


class SourceError(RuntimeError):
    """A source that cannot start (missing recording, no GPIO): a one-line reason."""


class FrameSource(Protocol):
    name: str

    @property
    def calibration(self) -> Calibration: ...

    def frames(self, realtime: bool = True) -> Iterator[RawFrame]: ...


def make_source(config: StationConfig, calibration: Calibration | None = None) -> FrameSource:
    """The configured source; `calibration` is the newest stored one (needed for hx711)."""
    kind = config.source.kind
    if kind == "sim":
        from .simulator.mat import SimulatedMat

        return SimulatedMat(config.mat, config.source.sim, config.source.rate_hz, keep_truth=False)
    if kind == "replay":
        from station.core.recording import RecordingError

        from .replay import ReplaySource

        if not config.source.recording:
            raise SourceError("--source replay needs a recording: --recording REC.csv")
        try:
            return ReplaySource(config.mat, config.source.recording)
        except RecordingError as exc:
            raise SourceError(str(exc)) from None
    if kind == "emulated":
        from .hx711_source import build_emulated

        return build_emulated(config, calibration, process=True)
    if kind == "emulated-pico":
        try:
            import adafruit_pioasm  # noqa: F401
            import serial
        except ImportError:
            raise SourceError(
                "--source emulated-pico needs pyserial and adafruit-circuitpython-pioasm: "
                "pip install 'balance-station[pico]'"
            ) from None
        from .pico_source import build_emulated_pico

        return build_emulated_pico(config, calibration)
    if kind == "pico":
        try:
            import serial  # noqa: F401
        except ImportError:
            raise SourceError(
                "the pico source needs pyserial: pip install 'balance-station[pi]'"
            ) from None
        if calibration is None:
            raise SourceError(
                "no calibration stored for this mat's cells: run `balance-station calibrate`"
            )
        from .pico_source import build_pico

        return build_pico(config, calibration)
    if kind == "hx711":
        from .hx711_source import check_gpio

        try:
            check_gpio(config)
        except RuntimeError as exc:
            raise SourceError(f"{exc}; on a machine without the mat use --source sim") from None
        if calibration is None:
            raise SourceError(
                "no calibration stored for this mat's cells: run `balance-station calibrate`"
            )
        from .hx711_source import build_hardware

        try:
            return build_hardware(config, calibration)
        except RuntimeError as exc:
            raise SourceError(
                f"cannot read the HX711s: {exc}; on a machine without the mat use --source sim"
            ) from None
    raise SourceError(f"unknown source {kind!r}")
