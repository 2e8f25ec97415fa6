"""`rp2pio.StateMachine` of an emulated Pico, backed by hardware.pio_emulator.

The machine runs when the firmware looks at it (`in_waiting`, `readinto`, `write`): it
steps until it stalls, as the real one would have by then. Stalled on a `wait` for a pin,
it lets 0.2 ms pass first, the time the real one would spend waiting, so a firmware loop
polling it does not spin a host core at 100 %.
"""

import time as _time

from hardware.circuitpython.wiring import WIRING
from hardware.pio_emulator import PioStateMachine


def _number(pin):
    return None if pin is None else pin.number


class StateMachine:
    def __init__(
        self,
        program,
        frequency,
        *,
        first_in_pin=None,
        in_pin_count=1,
        pull_in_pin_up=0,
        first_out_pin=None,
        out_pin_count=1,
        first_set_pin=None,
        set_pin_count=1,
        first_sideset_pin=None,
        sideset_pin_count=1,
        sideset_enable=False,
        jmp_pin=None,
        wrap_target=0,
        wrap=-1,
        auto_push=False,
        push_threshold=32,
        in_shift_right=True,
        auto_pull=False,
        pull_threshold=32,
        out_shift_right=True,
        **_ignored,
    ) -> None:
        self.frequency = frequency
        self._pins = []
        self._driven = []
        for first, count, output in (
            (first_in_pin, in_pin_count, False),
            (first_out_pin, out_pin_count, True),
            (first_set_pin, set_pin_count, True),
            (first_sideset_pin, sideset_pin_count, True),
        ):
            if first is not None:
                for gpio in range(first.number, first.number + count):
                    if gpio not in self._pins:
                        WIRING.claim(gpio)
                        self._pins.append(gpio)
                    if output:
                        WIRING.drive_by_pio(gpio, True)
                        self._driven.append(gpio)
        in_base = _number(first_in_pin) or 0
        pull_up = (pull_in_pin_up << in_base) if first_in_pin is not None else 0
        self.machine = PioStateMachine(
            list(program),
            lambda: WIRING.read_all(pull_up),
            WIRING.write,
            in_base=in_base,
            out_base=_number(first_out_pin) or 0,
            out_count=out_pin_count if first_out_pin is not None else 0,
            set_base=_number(first_set_pin) or 0,
            set_count=set_pin_count if first_set_pin is not None else 0,
            sideset_base=_number(first_sideset_pin) or 0,
            sideset_count=sideset_pin_count if first_sideset_pin is not None else 0,
            sideset_enable=sideset_enable,
            jmp_pin=_number(jmp_pin),
            wrap_target=wrap_target,
            wrap=wrap,
            auto_push=auto_push,
            push_threshold=push_threshold,
            in_shift_right=in_shift_right,
            auto_pull=auto_pull,
            pull_threshold=pull_threshold,
            out_shift_right=out_shift_right,
        )

    def _advance(self) -> None:
        self.machine.run()
        if self.machine.stall_reason.startswith("wait"):
            _time.sleep(0.0002)
            self.machine.run()

    @property
    def in_waiting(self) -> int:
        self._advance()
        return len(self.machine.rx)

    @property
    def txstall(self) -> bool:
        return self.machine.stall_reason.startswith("pull")

    def readinto(self, buffer, *, start=0, end=None, swap=False) -> None:
        end = len(buffer) if end is None else end
        for i in range(start, end):
            while not self.machine.rx:
                self._advance()
            buffer[i] = self.machine.rx.popleft()

    def write(self, buffer, *, start=0, end=None, swap=False) -> None:
        end = len(buffer) if end is None else end
        for word in list(buffer)[start:end]:
            while len(self.machine.tx) >= 4:
                self._advance()
            self.machine.tx.append(int(word))
        self.machine.run()

    def clear_rxfifo(self) -> None:
        self.machine.rx.clear()

    def restart(self) -> None:
        self.machine.restart()

    def deinit(self) -> None:
        for gpio in self._driven:
            WIRING.drive_by_pio(gpio, False)
        for gpio in self._pins:
            WIRING.release(gpio)
        self._pins = []
        self._driven = []
