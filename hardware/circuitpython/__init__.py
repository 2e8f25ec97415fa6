"""CircuitPython on CPython: just enough of `board`, `digitalio`, `microcontroller`, `usb_cdc`,
`watchdog` and `rp2pio` to run the Pico firmware (hardware/pico/code.py) unchanged on any
machine, wired to the pin-level HX711 emulators.

`shims/` holds the modules under their CircuitPython names; `wiring.WIRING` is what they are
connected to (emulated pins, the USB port as a pseudo-terminal, the watchdog's feed).
"""

from pathlib import Path

SHIM_DIR = Path(__file__).parent / "shims"
