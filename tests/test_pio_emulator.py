"""The PIO interpreter on programs assembled by adafruit_pioasm, against the RP2040 datasheet."""

from __future__ import annotations

import adafruit_pioasm
import pytest

from hardware.pio_emulator import PioStateMachine


class Pins:
    """32 GPIOs: inputs the test sets, outputs the machine drives (with a log)."""

    def __init__(self) -> None:
        self.level = 0
        self.log: list[tuple[int, bool]] = []

    def read(self) -> int:
        return self.level

    def write(self, gpio: int, high: bool) -> None:
        self.log.append((gpio, high))
        self.level = self.level | (1 << gpio) if high else self.level & ~(1 << gpio)


def machine(text: str, pins: Pins | None = None, **kwargs) -> tuple[PioStateMachine, Pins]:
    program = adafruit_pioasm.Program(text)
    pins = pins or Pins()
    options = dict(program.pio_kwargs)
    options.pop("sideset_pin_count", None)
    sm = PioStateMachine(
        program.assembled,
        pins.read,
        pins.write,
        sideset_count=program.pio_kwargs.get("sideset_pin_count", 0),
        **{k: v for k, v in options.items() if k in ("sideset_enable", "wrap", "wrap_target")},
        **kwargs,
    )
    return sm, pins


def test_side_set_delays_and_cycles():
    sm, pins = machine(
        """
.side_set 1
    nop side 1 [3]
    nop side 0 [1]
""",
        sideset_base=5,
    )
    sm.step()
    assert pins.log == [(5, True)]
    sm.step()
    sm.step()  # wraps to the first instruction
    assert pins.log == [(5, True), (5, False), (5, True)]
    assert sm.cycles == 1 + 3 + 1 + 1 + 1  # delays count after their instruction
    assert sm.longest_high_cycles == [4]


def test_optional_side_set_leaves_the_pin_alone():
    sm, pins = machine(
        """
.side_set 1 opt
    nop side 1
    nop
    nop side 0
""",
        sideset_base=0,
    )
    sm.run(3)
    assert pins.log == [(0, True), (0, False)]


def test_jmp_conditions():
    sm, _ = machine(
        """
    set x, 3
loop:
    jmp x-- loop
    set y, 2
    jmp x!=y done
    set x, 5
done:
    jmp !x zero
    set y, 7
zero:
    jmp y-- zero
    jmp !y end
    set x, 9
end:
    jmp pin never
    jmp !osre never
    jmp end2
never:
    set x, 31
end2:
    wait 1 gpio 31
""",
        jmp_pin=2,
    )
    sm.run(100)
    assert sm.stall_reason == "wait 1 gpio 31"  # reached the end, not the `never` branch
    assert sm.x == 9  # x-- ran 3 -> 0 then wrapped; x != y jumped; !x did not
    assert sm.y == 0xFFFFFFFF  # y-- down to zero, the last decrement falls through


def test_wait_stalls_until_the_pin_matches():
    pins = Pins()
    sm, _ = machine(
        """
    wait 0 pin 1
    wait 1 gpio 7
    set x, 1
""",
        pins,
        in_base=4,
    )
    pins.level = 1 << 5  # pin 1 relative to in_base 4 is GPIO 5: high
    assert sm.run() == 0 and sm.stall_reason == "wait 0 pin 1"
    pins.level = 0
    assert sm.run() == 1 and sm.stall_reason == "wait 1 gpio 7"
    pins.level = 1 << 7
    sm.run(2)
    assert sm.x == 1


@pytest.mark.parametrize("shift_right", [False, True])
def test_in_autopush_both_directions(shift_right):
    pins = Pins()
    pins.level = 0b101 << 3
    sm, _ = machine(
        """
    in pins, 3
""",
        pins,
        in_base=3,
        auto_push=True,
        push_threshold=6,
        in_shift_right=shift_right,
    )
    sm.step()
    pins.level = 0b011 << 3
    sm.step()
    word = sm.rx.popleft()
    if shift_right:  # newest bits enter at the top
        assert word == (0b011101 << 26)
    else:  # newest bits enter at the bottom
        assert word == 0b101011


def test_autopush_stalls_on_a_full_fifo():
    sm, _ = machine("    in null, 32", auto_push=True, push_threshold=32)
    assert sm.run(10) == 4 and sm.stall_reason == "autopush: RX FIFO full"
    sm.rx.popleft()
    assert sm.run(10) == 1


def test_out_autopull_and_pull_blocking():
    sm, pins = machine(
        """
    out pins, 4
""",
        out_base=8,
        out_count=4,
        auto_pull=True,
        pull_threshold=8,
    )
    assert sm.run(5) == 0 and sm.stall_reason == "autopull: TX FIFO empty"
    sm.tx.append(0xA5)
    sm.run(2)
    assert (pins.level >> 8) & 0xF == 0xA  # low nibble first (shift right), then high
    sm2, _ = machine("    pull noblock\n    mov y, osr\n    pull block")
    sm2.x = 77
    assert sm2.run(5) == 2 and sm2.y == 77  # an empty noblock pull copies X
    assert sm2.stall_reason == "pull: TX FIFO empty"


def test_push_iffull_noblock_and_mov_ops():
    sm, _ = machine(
        """
    set x, 5
    mov isr, x
    push iffull noblock
    mov y, ~x
    mov osr, ::x
    push block
"""
    )
    sm.run(6)
    assert sm.y == 0xFFFFFFFA and sm.osr == 0xA0000000
    assert list(sm.rx) == [5]  # iffull did nothing (count 0 after mov); push block did


def test_mov_status_set_pins_wrap_irq_and_exec():
    sm, pins = machine(
        """
    set pins, 3
.wrap_target
    mov x, status
    irq 2
    wait 1 irq 2
    out exec, 16
.wrap
""",
        set_base=10,
        set_count=2,
        auto_pull=True,
        pull_threshold=16,
    )
    sm.tx.append(0xE000 | (1 << 5) | 9)  # "set x, 9", executed from data
    sm.run(5)
    assert (pins.level >> 10) & 3 == 3
    assert sm.x == 9
    assert sm.irq[2] is False  # the wait cleared the flag it waited for
    assert sm.pc == 1  # wrapped back to the target
