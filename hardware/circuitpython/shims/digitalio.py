"""`digitalio` on the emulated Pico's wiring."""

from hardware.circuitpython.wiring import WIRING


class Direction:
    INPUT = "input"
    OUTPUT = "output"


class Pull:
    UP = "up"
    DOWN = "down"


class DigitalInOut:
    def __init__(self, pin) -> None:
        WIRING.claim(pin.number)
        self.pin = pin
        self.direction = Direction.INPUT
        self.pull = None

    def switch_to_output(self, value: bool = False) -> None:
        self.direction = Direction.OUTPUT
        self.value = value

    def switch_to_input(self, pull=None) -> None:
        self.direction = Direction.INPUT
        self.pull = pull

    @property
    def value(self) -> bool:
        return WIRING.read(self.pin.number, self.pull == Pull.UP)

    @value.setter
    def value(self, level: bool) -> None:
        if self.direction != Direction.OUTPUT:
            raise AttributeError("Cannot set value when direction is input.")
        WIRING.write(self.pin.number, level)

    def deinit(self) -> None:
        WIRING.release(self.pin.number)
