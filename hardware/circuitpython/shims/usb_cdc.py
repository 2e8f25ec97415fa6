"""`usb_cdc` of an emulated Pico: `data` is a pseudo-terminal the station opens."""

from hardware.circuitpython.wiring import WIRING


def enable(console: bool = True, data: bool = False) -> None:
    pass  # boot.py's call: the emulated Pico always has its data port


def __getattr__(name: str):
    if name == "data":
        return WIRING.usb
    if name == "console":
        return None
    raise AttributeError(name)
