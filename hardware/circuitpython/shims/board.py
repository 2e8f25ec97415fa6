"""`board` for an emulated Raspberry Pi Pico: GP0-GP28 and LED."""


class Pin:
    def __init__(self, number: int) -> None:
        self.number = number

    def __repr__(self) -> str:
        return f"board.GP{self.number}"


for _n in range(29):
    globals()[f"GP{_n}"] = Pin(_n)
LED = globals()["GP25"]
