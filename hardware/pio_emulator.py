"""An RP2040 PIO state machine in Python: runs an assembled program instruction by instruction.

It executes the 16-bit words `adafruit_pioasm` produces (not the source text), so the
program the Pico runs is the program the tests run. Covered, after the RP2040 datasheet
(chapter 3.4): JMP with all eight conditions, WAIT on GPIO / relative pin / IRQ, IN, OUT,
PUSH and PULL (block, noblock, iffull, ifempty), MOV with invert and bit-reverse (STATUS
too), IRQ set/clear/wait, SET; side-set (optional or not), delays, wrap, autopush and
autopull with either shift direction, 4-word FIFOs. Cycles are counted, not waited for:
the emulated HX711s care only that a clock pulse stays short, and one step here takes a
few microseconds of real time.

Pins are reached through two callables so the same machine drives the pin-level HX711
emulator or a plain test fixture: `read_gpio() -> int` (bit n = GPIO n) and
`write_gpio(n, level)`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

MASK32 = 0xFFFFFFFF
FIFO_DEPTH = 4


def _bits(count: int) -> int:
    return 32 if count == 0 else count


def _mask(n: int) -> int:
    return MASK32 if n >= 32 else (1 << n) - 1


def _reverse32(value: int) -> int:
    return int(f"{value & MASK32:032b}"[::-1], 2)


class PioStateMachine:
    """One state machine; `step()` runs one instruction (or finds it stalled)."""

    def __init__(
        self,
        program: Sequence[int],
        read_gpio: Callable[[], int],
        write_gpio: Callable[[int, bool], None],
        *,
        in_base: int = 0,
        out_base: int = 0,
        out_count: int = 0,
        set_base: int = 0,
        set_count: int = 0,
        sideset_base: int = 0,
        sideset_count: int = 0,
        sideset_enable: bool = False,
        jmp_pin: int | None = None,
        wrap_target: int = 0,
        wrap: int = -1,
        auto_push: bool = False,
        push_threshold: int = 32,
        in_shift_right: bool = True,
        auto_pull: bool = False,
        pull_threshold: int = 32,
        out_shift_right: bool = True,
        irq_flags: list[bool] | None = None,
    ) -> None:
        if not program or len(program) > 32:
            raise ValueError("a PIO program has 1 to 32 instructions")
        self.program = [int(w) & 0xFFFF for w in program]
        self.read_gpio, self.write_gpio = read_gpio, write_gpio
        self.in_base, self.out_base, self.out_count = in_base, out_base, out_count
        self.set_base, self.set_count = set_base, set_count
        self.sideset_base, self.sideset_count = sideset_base, sideset_count
        self.sideset_enable = bool(sideset_enable)
        self.jmp_pin = jmp_pin
        self.wrap_target = wrap_target
        self.wrap = len(self.program) - 1 if wrap < 0 else wrap
        self.auto_push, self.push_threshold = auto_push, _bits(push_threshold % 32)
        self.in_shift_right = in_shift_right
        self.auto_pull, self.pull_threshold = auto_pull, _bits(pull_threshold % 32)
        self.out_shift_right = out_shift_right
        self.irq = irq_flags if irq_flags is not None else [False] * 8
        self.rx: deque[int] = deque()
        self.tx: deque[int] = deque()
        self.status_level = 1  # MOV STATUS: all ones while the TX FIFO holds fewer words
        # Side-set pins' longest high time in cycles: what the chip on that line sees on real
        # hardware, whatever this interpreter's own speed.
        self.longest_high_cycles = [0] * sideset_count
        self._rose_at: list[int | None] = [None] * sideset_count
        self.restart()

    def restart(self) -> None:
        self.pc = 0
        self.x = self.y = 0
        self.isr = self.osr = 0
        self.isr_count = 0
        self.osr_count = 32  # empty: the first autopull / !OSRE sees no data
        self.delay = 0
        self.cycles = 0
        self.stalled = False
        self.stall_reason = ""

    # --- running --------------------------------------------------------------------

    def run(self, max_steps: int = 10_000) -> int:
        """Run until the machine stalls or `max_steps` instructions ran; returns steps run."""
        for done in range(max_steps):
            if not self.step():
                return done
        return max_steps

    def step(self) -> bool:
        """One instruction; False if it stalled (nothing changed but side-set)."""
        if self.delay:
            self.cycles += self.delay
            self.delay = 0
        word = self.program[self.pc]
        delay = self._side_set(word)
        next_pc = self._execute(word)
        if next_pc is None:
            self.stalled = True
            self.cycles += 1
            return False
        self.stalled = False
        self.stall_reason = ""
        self.cycles += 1
        self.delay = delay
        if next_pc == -1:  # fall through, honouring the wrap
            next_pc = self.wrap_target if self.pc == self.wrap else self.pc + 1
        self.pc = next_pc % len(self.program)
        return True

    def _side_set(self, word: int) -> int:
        field = (word >> 8) & 0x1F
        used = self.sideset_count + (1 if self.sideset_enable else 0)
        delay = field & _mask(5 - used)
        if self.sideset_count:
            applies = not self.sideset_enable or field & 0x10
            if applies:
                value = (field >> (5 - used)) & _mask(self.sideset_count)
                for i in range(self.sideset_count):
                    level = bool((value >> i) & 1)
                    self._time_high(i, level)
                    self.write_gpio(self.sideset_base + i, level)
        return delay

    def _time_high(self, i: int, level: bool) -> None:
        rose = self._rose_at[i]
        if level and rose is None:
            self._rose_at[i] = self.cycles
        elif not level and rose is not None:
            self.longest_high_cycles[i] = max(self.longest_high_cycles[i], self.cycles - rose)
            self._rose_at[i] = None

    def _pins_in(self) -> int:
        gpio = self.read_gpio() & MASK32
        return ((gpio >> self.in_base) | (gpio << (32 - self.in_base))) & MASK32

    def _source(self, source: int) -> int:
        """IN and MOV sources: PINS, X, Y, NULL, ISR, OSR."""
        if source == 0:
            return self._pins_in()
        return {1: self.x, 2: self.y, 3: 0, 6: self.isr, 7: self.osr}[source]

    def _stall(self, reason: str) -> None:
        self.stall_reason = reason
        return None

    def _execute(self, word: int) -> int | None:
        opcode = word >> 13
        arg = word & 0xFF
        if opcode == 0:
            return self._jmp(arg >> 5, arg & 0x1F)
        if opcode == 1:
            return self._wait(bool(arg & 0x80), (arg >> 5) & 3, arg & 0x1F)
        if opcode == 2:
            return self._in(arg >> 5, _bits(arg & 0x1F))
        if opcode == 3:
            return self._out(arg >> 5, _bits(arg & 0x1F))
        if opcode == 4:
            if arg & 0x80:
                return self._pull(if_empty=bool(arg & 0x40), block=bool(arg & 0x20))
            return self._push(if_full=bool(arg & 0x40), block=bool(arg & 0x20))
        if opcode == 5:
            return self._mov(arg >> 5, (arg >> 3) & 3, arg & 7)
        if opcode == 6:
            return self._irq(clear=bool(arg & 0x40), wait=bool(arg & 0x20), index=arg & 7)
        return self._set(arg >> 5, arg & 0x1F)

    def _jmp(self, condition: int, address: int) -> int:
        if condition == 0:
            take = True
        elif condition == 1:
            take = self.x == 0
        elif condition == 2:
            take = self.x != 0
            self.x = (self.x - 1) & MASK32
        elif condition == 3:
            take = self.y == 0
        elif condition == 4:
            take = self.y != 0
            self.y = (self.y - 1) & MASK32
        elif condition == 5:
            take = self.x != self.y
        elif condition == 6:
            if self.jmp_pin is None:
                raise ValueError("jmp pin needs a jmp_pin")
            take = bool((self.read_gpio() >> self.jmp_pin) & 1)
        else:
            take = self.osr_count < self.pull_threshold
        return address if take else -1

    def _wait(self, polarity: bool, source: int, index: int) -> int | None:
        if source == 0:
            level = bool((self.read_gpio() >> index) & 1)
        elif source == 1:
            level = bool((self._pins_in() >> index) & 1)
        elif source == 2:
            if self.irq[index & 7] != polarity:
                return self._stall(f"wait irq {index}")
            if polarity:
                self.irq[index & 7] = False  # a wait for a set flag clears it
            return -1
        else:
            if self.jmp_pin is None:
                raise ValueError("wait jmppin needs a jmp_pin")
            level = bool((self.read_gpio() >> self.jmp_pin) & 1)
        if level != polarity:
            kind = ("gpio", "pin", "", "jmppin")[source]
            return self._stall(f"wait {int(polarity)} {kind} {index}")
        return -1

    def _in(self, source: int, count: int) -> int | None:
        if (
            self.auto_push
            and self.isr_count + count >= self.push_threshold
            and len(self.rx) >= FIFO_DEPTH
        ):
            return self._stall("autopush: RX FIFO full")
        data = self._source(source) & _mask(count)
        if self.in_shift_right:
            shifted = (self.isr >> count) | (data << (32 - count)) if count < 32 else data
            self.isr = shifted & MASK32
        else:
            self.isr = ((self.isr << count) | data) & MASK32
        self.isr_count = min(32, self.isr_count + count)
        if self.auto_push and self.isr_count >= self.push_threshold:
            self.rx.append(self.isr)
            self.isr, self.isr_count = 0, 0
        return -1

    def _out(self, destination: int, count: int) -> int | None:
        if self.auto_pull and self.osr_count >= self.pull_threshold:
            if not self.tx:
                return self._stall("autopull: TX FIFO empty")
            self.osr, self.osr_count = self.tx.popleft(), 0
        if self.out_shift_right:
            data = self.osr & _mask(count)
            self.osr = self.osr >> count if count < 32 else 0
        else:
            data = self.osr >> (32 - count) if count < 32 else self.osr
            self.osr = (self.osr << count) & MASK32
        self.osr_count = min(32, self.osr_count + count)
        if destination == 0:
            self._write_pins(self.out_base, count if not self.out_count else self.out_count, data)
        elif destination == 1:
            self.x = data
        elif destination == 2:
            self.y = data
        elif destination == 5:
            return data & 0x1F
        elif destination == 6:
            self.isr, self.isr_count = data, count
        elif destination == 7:
            return self._exec(data)
        return -1  # NULL and PINDIRS: nothing to drive here

    def _push(self, if_full: bool, block: bool) -> int | None:
        if if_full and self.isr_count < self.push_threshold:
            return -1
        if len(self.rx) >= FIFO_DEPTH:
            if block:
                return self._stall("push: RX FIFO full")
        else:
            self.rx.append(self.isr)
        self.isr, self.isr_count = 0, 0
        return -1

    def _pull(self, if_empty: bool, block: bool) -> int | None:
        if if_empty and self.osr_count < self.pull_threshold:
            return -1
        if not self.tx:
            if block:
                return self._stall("pull: TX FIFO empty")
            self.osr = self.x  # a non-blocking pull from an empty FIFO copies X
        else:
            self.osr = self.tx.popleft()
        self.osr_count = 0
        return -1

    def _mov(self, destination: int, op: int, source: int) -> int | None:
        if source == 5:
            value = MASK32 if len(self.tx) < self.status_level else 0
        else:
            value = self._source(source)
        if op == 1:
            value = ~value & MASK32
        elif op == 2:
            value = _reverse32(value)
        if destination == 0:
            self._write_pins(self.out_base, self.out_count, value)
        elif destination == 1:
            self.x = value
        elif destination == 2:
            self.y = value
        elif destination == 4:
            return self._exec(value)
        elif destination == 5:
            return value & 0x1F
        elif destination == 6:
            self.isr, self.isr_count = value, 0
        elif destination == 7:
            self.osr, self.osr_count = value, 0
        return -1

    def _irq(self, clear: bool, wait: bool, index: int) -> int | None:
        if clear:
            self.irq[index] = False
            return -1
        if wait and self.stall_reason == f"irq {index}":
            return -1 if not self.irq[index] else self._stall(f"irq {index}")
        self.irq[index] = True
        if wait:
            return self._stall(f"irq {index}")
        return -1

    def _set(self, destination: int, data: int) -> int:
        if destination == 0:
            self._write_pins(self.set_base, self.set_count, data)
        elif destination == 1:
            self.x = data
        elif destination == 2:
            self.y = data
        return -1

    def _exec(self, word: int) -> int | None:
        """OUT EXEC / MOV EXEC: run a word from data as the next instruction, now."""
        return self._execute(word & 0xFFFF)

    def _write_pins(self, base: int, count: int, value: int) -> None:
        for i in range(count):
            self.write_gpio((base + i) % 32, bool((value >> i) & 1))
