"""Load the Pico firmware (hardware/pico/code.py) in this process, on the CircuitPython shims.

The firmware's modules (`board`, `digitalio`, ...) are put in sys.modules only inside the
`with`, and everything is put back after, so Blinka's modules of the same names stay intact
for the other tests.
"""

from __future__ import annotations

import contextlib
import sys
import types
from collections.abc import Iterator
from typing import Any

from hardware.circuitpython import SHIM_DIR
from hardware.circuitpython.wiring import WIRING, UsbPort
from hardware.pico_emulator import FIRMWARE_DIR, EmulatedBoard

SHADOWED = ("board", "digitalio", "microcontroller", "usb_cdc", "rp2pio", "watchdog", "config")


@contextlib.contextmanager
def firmware(board: EmulatedBoard, config: dict[str, Any]) -> Iterator[types.ModuleType]:
    saved_modules = {name: sys.modules.pop(name, None) for name in SHADOWED}
    saved_pins, saved_usb = dict(WIRING.pins), WIRING.usb
    WIRING.pins.clear()
    WIRING.pins.update(board.pins)
    WIRING.claimed.clear()
    WIRING.usb = UsbPort(None)
    settings = types.ModuleType("config")
    settings.__dict__.update(config)
    sys.modules["config"] = settings
    sys.path.insert(0, str(SHIM_DIR))
    try:
        module = types.ModuleType("pico_code")
        module.__file__ = str(FIRMWARE_DIR / "code.py")
        source = (FIRMWARE_DIR / "code.py").read_text()
        exec(compile(source, module.__file__, "exec"), module.__dict__)
        yield module
    finally:
        sys.path.remove(str(SHIM_DIR))
        for name, old in saved_modules.items():
            sys.modules.pop(name, None)
            if old is not None:
                sys.modules[name] = old
        WIRING.pins.clear()
        WIRING.pins.update(saved_pins)
        WIRING.claimed.clear()
        WIRING.usb = saved_usb
