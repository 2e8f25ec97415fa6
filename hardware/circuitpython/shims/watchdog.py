"""`watchdog` of an emulated Pico."""


class WatchDogMode:
    RAISE = "raise"
    RESET = "reset"


class WatchDogTimeout(Exception):
    pass
