"""The Pico firmware (hardware/pico/code.py) on CircuitPython shims against emulated HX711s.

Its PIO program is assembled by adafruit_pioasm and executed instruction by instruction
(hardware/pio_emulator.py); the chips are hardware/hx711_emulator.py.
"""

from __future__ import annotations

import itertools
import struct
import types
import zlib

import pytest

from hardware.pico_emulator import constant_board, firmware_config
from hardware.pico_protocol import DATA, FAULT, HELLO, Decoder, Fault, Hello

from .pico_firmware import firmware

EXTREMES = [0, 1, -1, 0x7FFFFF, -0x800000, 0x555555, -0x2AAAAB, 123456, -654321]


def board_for(codes: list[int], reader_kind: str):
    """Chips holding these codes, wired for the reader. The adafruit reader's pulses are
    bit-banged in CPython: on a loaded machine one may outlast the 60 us power-down, so its
    chips wait longer (see RELAXED_US in test_hx711); what that costs is a bench figure."""
    board = constant_board(codes, reader_kind)
    if reader_kind == "adafruit":
        for chip in board.chips:
            chip.power_down_us = 5000.0
    return board


def read_all_values(reader_kind: str, values: list[int], cells: int, gain: int = 128):
    """Each value in turn on every cell (cell i gets the value i places on): what was read."""
    board = board_for([0] * cells, reader_kind)
    config = firmware_config(cells, reader_kind, gain)
    got, want = [], []
    with firmware(board, config) as fw:
        reader = fw.make_reader()
        for k in range(len(values)):
            codes = [values[(k + i) % len(values)] for i in range(cells)]
            board.inputs.codes[:] = codes
            # a conversion latched before the change may still be waiting: read past it
            reader.read(250)
            reader.read(250)
            _, read, _ = reader.read(250)
            got.append(read)
            want.append(codes)
        reader.stop()
    return got, want, board


@pytest.mark.parametrize("cells", [1, 3, 4, 6])
def test_pio_reader_reads_every_value_exactly(cells):
    got, want, board = read_all_values("pio", EXTREMES, cells)
    assert got == want
    assert all(chip.stats.power_downs == 1 for chip in board.chips)  # the reset pulse only


def test_adafruit_reader_reads_every_value_exactly():
    got, want, _ = read_all_values("adafruit", EXTREMES, 2)
    assert got == want


@pytest.mark.parametrize(
    ("gain", "expected"),
    [(128, [4000, -4000]), (64, [2000, -2000]), (32, [-1000, 1000])],
)
def test_gain_pulses_select_channel_and_gain(gain, expected):
    """25/26/27 pulses: A-128, B-32, A-64 (the emulated inputs read A at code*gain/128 and
    B negated, so a wrong pulse count shows in the value)."""
    board = constant_board([4000, -4000], "pio")
    with firmware(board, firmware_config(2, "pio", gain)) as fw:
        reader = fw.make_reader()
        values = [reader.read(250)[1] for _ in range(8)]
        reader.stop()
    assert values[-1] == expected
    assert board.chips[0]._gain == gain


def test_pio_clock_pulses_stay_short_in_pio_cycles():
    """The PIO program's clock-high time, counted in state-machine cycles at 1 MHz."""
    board = constant_board([1, 2, 3, 4], "pio")
    with firmware(board, firmware_config(4)) as fw:
        reader = fw.make_reader()
        for _ in range(3):
            reader.read(250)
        machine = reader.sm.machine
        high_us = machine.longest_high_cycles[0] / reader.sm.frequency * 1e6
        reader.stop()
    assert 0.2 <= high_us <= 5.0  # datasheet: at least 0.2 us, power-down after 60 us


@pytest.mark.parametrize("reader_kind", ["pio", "adafruit"])
def test_a_stuck_chip_is_named(reader_kind):
    board = board_for([10, 20, 30, 40], reader_kind)
    with firmware(board, firmware_config(4, reader_kind)) as fw:
        reader = fw.make_reader()
        assert reader.read(250)[1] == [10, 20, 30, 40]
        board.chips[2].stuck_busy = True
        with pytest.raises(fw.Stuck) as stuck:
            reader.read(100)
        assert stuck.value.mask == 0b0100
        board.chips[2].stuck_busy = False
        for _ in range(3):  # back: the reader recovers without a restart
            values = reader.read(250)[1]
        reader.stop()
    assert values == [10, 20, 30, 40]


def test_a_missing_chip_is_named():
    """A board not wired at all: the data line floats, its pull-up reads it high."""
    board = constant_board([10, 20, 30], "pio")
    del board.pins[4]  # cell 1's DOUT wire cut
    with firmware(board, firmware_config(3)) as fw:
        reader = fw.make_reader()
        with pytest.raises(fw.Stuck) as stuck:
            reader.read(100)
        reader.stop()
    assert stuck.value.mask == 0b010


class FakePort:
    connected = True

    def __init__(self, incoming: bytes = b"") -> None:
        self.incoming = bytearray(incoming)
        self.sent = bytearray()

    @property
    def in_waiting(self) -> int:
        return len(self.incoming)

    def read(self, n: int) -> bytes:
        out = bytes(self.incoming[:n])
        del self.incoming[:n]
        return out

    def write(self, data: bytes) -> int:
        self.sent += data
        return len(data)


def test_messages_are_framed_with_version_sequence_and_checksum():
    board = constant_board([-5, 7], "pio")
    with firmware(board, firmware_config(2)) as fw:
        port = FakePort(b"xHP\x01\x02\x03\x04")
        link = fw.Link(port)
        assert link.commands() == [("H",), ("P", 0x04030201)]
        reader = fw.make_reader()
        link.send(HELLO, fw.hello_payload(reader, 42))
        t_us, codes, offsets = reader.read(250)
        link.send(DATA, fw.data_payload(7, t_us, codes, offsets))
        link.send(FAULT, struct.pack("<IIH", 8, t_us, 0b10))
        reader.stop()
    raw = bytes(port.sent)
    # the checksum is zlib's CRC-32 of type, length and payload
    length = raw[3]
    crc = struct.unpack_from("<I", raw, 4 + length)[0]
    assert crc == zlib.crc32(raw[2 : 4 + length])
    hello, data, fault = Decoder().feed(raw)
    assert isinstance(hello, Hello) and hello.version == 1 and hello.cells == 2
    assert hello.boot_id == 42 and hello.reader == "pio" and hello.gain == 128
    assert (data.seq, data.t_us, data.codes) == (7, t_us, (-5, 7))
    assert isinstance(fault, Fault) and fault.cells(2) == [1]


def test_led_pattern_tells_the_state():
    board = constant_board([1], "pio")
    with firmware(board, firmware_config(1)) as fw:
        from hardware.circuitpython.wiring import WIRING

        clock_ns = [0]
        fw.time = types.SimpleNamespace(monotonic_ns=lambda: clock_ns[0])
        led = fw.Led()
        pin = WIRING.pins[25]
        assert pin.value is True  # on from power-up

        def pattern(state: str) -> tuple[float, int]:
            """Share of the time on, and switches, over 2 s sampled every 10 ms."""
            levels = []
            for ms in range(0, 2000, 10):
                clock_ns[0] = ms * 1_000_000
                led.show(state)
                levels.append(pin.value)
            return sum(levels) / len(levels), sum(a != b for a, b in itertools.pairwise(levels))

        assert pattern("streaming") == (0.05, 3)  # a short blink a second
        assert pattern("idle") == (0.5, 3)  # a slow blink
        assert pattern("fault") == (0.5, 19)  # a fast flicker
