"""The station's side of the Pico: protocol, clock mapping, gaps, corruption, unplugging.

Synthetic streams (tests/pico_synthetic.py) run in simulated time; the link tests run the
real firmware on the emulated Pico (a child process) behind a pseudo-terminal, opened with
pyserial as a real Pico's port would be.
"""

from __future__ import annotations

import functools
import itertools
import random
import statistics
import time
from types import SimpleNamespace

import pytest

from hardware.clock_sync import Unwrap32
from hardware.hx711 import ReaderTimeout
from hardware.pico_emulator import EmulatedPico, constant_board, firmware_config
from hardware.pico_protocol import Decoder, encode_data, encode_fault, encode_hello, encode_pong
from hardware.pico_source import PicoReader, PicoStream, find_pico_port

from .pico_synthetic import SyntheticPico, run_link

CELLS = ["front_left", "front_right", "back_right", "back_left"]


def ready_stream(cells: int = 4, boot_id: int = 7) -> PicoStream:
    """A stream that has had its hello and one clock answer (Pico clock = host clock)."""
    stream = PicoStream(cells)
    stream.feed(encode_hello(cells, boot_id), 0.0)
    token = int.from_bytes(stream.ping(1.0)[1:5], "little")
    stream.feed(encode_pong(token, 1_000_100), 1.0002)
    return stream


# --- clock mapping ------------------------------------------------------------------


@pytest.mark.parametrize("ppm", [200.0, -200.0])
def test_clock_mapping_follows_drift_and_ignores_jitter(ppm):
    """Three simulated minutes; USB delays with jitter and 5 % outliers of 2-20 ms."""
    stream, pairs = run_link(SyntheticPico(ppm=ppm, seed=3), minutes=3)
    errors_ms = [abs(mapped - true) * 1e3 for true, mapped in pairs[-4800:]]  # last minute
    assert statistics.median(errors_ms) < 0.05
    assert max(errors_ms) < 0.2  # the outliers never reach a frame's time
    assert stream.clock.drift_ppm == pytest.approx(ppm, abs=2.0)
    assert stream.clock.rejected > 0  # slow round trips were filtered out
    assert stream.stats.lost == 0


def test_the_pico_clock_wrapping_after_71_minutes_is_seamless():
    unwrap = Unwrap32()
    raw = [0xFFFF_0000, 0xFFFF_F000, 0x0000_1000, 0x0000_0800, 0x0001_0000]
    assert [unwrap(r) for r in raw] == [
        0xFFFF_0000,
        0xFFFF_F000,
        0x1_0000_1000,
        0x1_0000_0800,  # slightly older than the newest: not a 71-minute jump
        0x1_0001_0000,
    ]
    _, pairs = run_link(SyntheticPico(offset_s=(1 << 32) / 1e6 - 20.0), minutes=1)
    times = [mapped for _, mapped in pairs]
    assert all(b > a for a, b in itertools.pairwise(times))
    assert max(abs(m - t) for t, m in pairs[-2000:]) < 1e-3


# --- sequence gaps, corruption, restarts, versions -------------------------------------


def test_gaps_are_counted_from_sequence_numbers():
    stream = ready_stream()
    got = []
    for seq in [0, 1, 2, 5, 6, 10, 6]:  # 3-4 and 7-9 missing, then a duplicate of 6
        got += stream.feed(encode_data(seq, 1_000_000 + seq * 12_500, [seq] * 4), 2.0)
    assert [r.codes[0] for r in got] == [0, 1, 2, 5, 6, 10]
    assert stream.stats.lost == 5
    assert stream.stats.frames == 6


def test_corrupted_bytes_never_reach_the_station_as_values():
    rng = random.Random(5)
    stream = ready_stream()
    blob = bytearray()
    damaged = 0

    def codes_of(seq: int) -> list[int]:
        return [seq, -seq, 0x7FFFFF - seq, -0x800000 + seq]

    for seq in range(2000):
        message = bytearray(encode_data(seq, 1_000_000 + seq * 12_500, codes_of(seq)))
        if rng.random() < 0.05:  # a flipped bit anywhere, even in the header
            message[rng.randrange(len(message))] ^= 1 << rng.randrange(8)
            damaged += 1
        if rng.random() < 0.02:
            blob += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))  # noise
        blob += message
    readings = []
    for i in range(0, len(blob), 61):  # arbitrary chunks, as a serial port delivers them
        readings += stream.feed(bytes(blob[i : i + 61]), 2.0)
    assert all(list(r.codes) == codes_of(r.codes[0]) for r in readings)
    seqs = [r.codes[0] for r in readings]
    assert seqs == sorted(set(seqs))
    # every frame between the first and the last is either delivered or counted lost
    assert len(readings) + stream.stats.lost == seqs[-1] - seqs[0] + 1
    assert damaged - 2 <= stream.stats.lost <= damaged
    assert stream.stats.corrupt > 0.8 * damaged  # the rest lost their 0xAA 0x55 start


def test_a_restarted_pico_is_noticed_and_its_new_numbers_are_not_gaps():
    stream = ready_stream(boot_id=7)
    stream.feed(encode_data(500, 1_000_000, [1, 2, 3, 4]), 2.0)
    stream.feed(encode_hello(4, boot_id=8), 3.0)  # after a watchdog reset
    assert stream.feed(encode_data(0, 50, [1, 2, 3, 4]), 3.1) == []  # no clock yet
    token = int.from_bytes(stream.ping(3.2)[1:5], "little")
    stream.feed(encode_pong(token, 100), 3.2002)
    got = stream.feed(encode_data(1, 12_600, [1, 2, 3, 4]), 3.3)
    assert len(got) == 1 and got[0].t == pytest.approx(3.2001 + 0.0125, abs=1e-6)
    assert stream.stats.pico_restarts == 1
    assert stream.stats.lost == 0


def test_wrong_protocol_version_or_cell_count_is_explained():
    stream = PicoStream(4)
    stream.feed(encode_hello(4, version=2), 0.0)
    assert "protocol 2" in stream.problem and "copy hardware/pico/" in stream.problem
    stream = PicoStream(4)
    stream.feed(encode_hello(3), 0.0)
    assert "3 cells" in stream.problem and "4" in stream.problem
    token = int.from_bytes(stream.ping(1.0)[1:5], "little")
    stream.feed(encode_pong(token, 1), 1.0)
    assert stream.feed(encode_data(0, 10, [1, 2, 3]), 1.1) == []


def test_cells_read_one_after_the_other_are_aligned_on_the_frame_time():
    """The adafruit reader: cell i converts i * 3 ms after the frame time; a ramp of 1000
    counts per 12.5 ms frame must come out as the ramp's value at the frame time."""
    stream = ready_stream(cells=3)
    period_us = 12_500
    aligned = []
    for k in range(6):
        t0 = 2_000_000 + k * period_us
        offsets = [0, 3000, 6000]
        codes = [round((t0 + off) * 1000 / period_us) for off in offsets]
        aligned += stream.feed(encode_data(k, t0, codes, offsets), 3.0)
    for r in aligned[1:]:  # from the second frame on, each cell has a previous one
        assert max(r.codes) - min(r.codes) <= 1


def test_a_fault_message_names_the_stuck_cells():
    stream = ready_stream()
    (fault,) = stream.feed(encode_fault(3, 5000, 0b1010), 2.0)
    assert fault.cells(4) == [1, 3]


def test_decoder_resynchronises_after_garbage():
    decoder = Decoder()
    blob = b"\xaa\xaa\x55\x00garbage" + encode_pong(1, 2) + b"\xaa" + encode_pong(3, 4)
    assert [m.token for m in decoder.feed(blob)] == [1, 3]


# --- finding the Pico -------------------------------------------------------------


def test_the_pico_data_port_is_found_by_usb_ids(monkeypatch):
    from serial.tools import list_ports

    ports = [
        SimpleNamespace(device="/dev/ttyUSB0", vid=0x0403, interface="FT232", location="1-1:1.0"),
        SimpleNamespace(
            device="/dev/ttyACM0",
            vid=0x239A,
            interface="CircuitPython CDC control",
            location="1-2:1.0",
        ),
        SimpleNamespace(
            device="/dev/ttyACM1",
            vid=0x239A,
            interface="CircuitPython CDC2 data",
            location="1-2:1.2",
        ),
    ]
    monkeypatch.setattr(list_ports, "comports", lambda: ports)
    assert find_pico_port() == "/dev/ttyACM1"
    assert find_pico_port("/dev/serial/by-id/my-pico") == "/dev/serial/by-id/my-pico"
    monkeypatch.setattr(list_ports, "comports", lambda: ports[:2])
    assert find_pico_port() is None


# --- the real firmware behind a pseudo-terminal ---------------------------------------


def wait_for(condition, timeout_s: float, what: str):
    """Poll `condition` (which itself blocks on the link) until true or the deadline."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
    raise AssertionError(f"not within {timeout_s} s: {what}")


def next_codes(reader: PicoReader):
    try:
        reading = reader.read(0.25)
    except ReaderTimeout:
        return None
    return reading.codes if reading is not None else None


@pytest.fixture
def pico_link(tmp_path):
    codes = [1000, -1000, 0x7FFFFF, -0x800000]
    pico = EmulatedPico(
        functools.partial(constant_board, codes),
        firmware_config(4),
        port_path=str(tmp_path / "pico-data"),
        clock_ppm=200.0,
    ).start()
    reader = PicoReader(CELLS, str(tmp_path / "pico-data"))
    yield pico, reader, codes
    reader.close()
    pico.close()


@pytest.mark.slow
def test_the_firmware_streams_exact_values_through_the_serial_port(pico_link):
    _, reader, codes = pico_link
    first = wait_for(lambda: next_codes(reader), 20, "first frame")
    assert first == codes
    readings = [reader.read(1.0) for _ in range(80)]
    assert all(r.codes == codes for r in readings)
    times = [r.t for r in readings]
    assert all(b > a for a, b in itertools.pairwise(times))
    assert statistics.median(b - a for a, b in itertools.pairwise(times)) == (
        pytest.approx(0.0125, abs=0.001)
    )
    health = reader.health()
    assert health["state"] == "connected" and health["protocol"] == 1
    assert health["reader"] == "pio" and health["corrupt"] == 0


@pytest.mark.slow
def test_a_stuck_chip_is_named_through_the_link(pico_link):
    pico, reader, codes = pico_link
    wait_for(lambda: next_codes(reader), 20, "first frame")
    pico.set_stuck(2)

    def stuck_cells():
        try:
            reader.read(0.5)
        except ReaderTimeout as exc:
            return exc.cells
        return None

    assert wait_for(stuck_cells, 5, "a fault") == [2]
    assert reader.health()["problem"] == "no data from back_right"
    pico.set_stuck(2, False)
    assert wait_for(lambda: next_codes(reader), 5, "frames again") == codes
    assert reader.health()["problem"] == ""


@pytest.mark.slow
def test_unplugging_is_named_and_replugging_recovers_without_restart(pico_link):
    pico, reader, codes = pico_link
    wait_for(lambda: next_codes(reader), 20, "first frame")
    pico.unplug()
    t_unplug = time.monotonic()
    wait_for(lambda: reader.state == "unplugged", 5, "the unplug noticed")
    assert time.monotonic() - t_unplug < 2.0
    assert "unplugged" in reader.fault or "not plugged in" in reader.fault
    with pytest.raises(ReaderTimeout) as timeout:
        reader.read(0.3)
    assert timeout.value.cells == [0, 1, 2, 3]
    pico.plug()
    assert wait_for(lambda: next_codes(reader), 10, "frames after replugging") == codes
    health = reader.health()
    assert health["state"] == "connected" and health["reconnects"] == 1
    assert health["problem"] == ""


@pytest.mark.slow
def test_a_hung_firmware_is_restarted_by_its_watchdog(pico_link):
    pico, reader, codes = pico_link
    wait_for(lambda: next_codes(reader), 20, "first frame")
    pico.freeze()
    wait_for(lambda: pico.resets == 1, 10, "the watchdog reset")
    wait_for(lambda: reader.health()["pico_restarts"] == 1, 20, "the new boot id seen")
    assert wait_for(lambda: next_codes(reader), 5, "frames after the reset") == codes


def test_the_pico_port_setting_is_checked():
    import tomllib

    from station.cli import default_config_path
    from station.core.config import ConfigError, parse_config

    raw = tomllib.loads(default_config_path().read_text())
    assert parse_config(raw).source.pico.port == ""  # found by USB ids
    raw["source"]["pico"] = {"port": "/dev/ttyACM1"}
    assert parse_config(raw).source.pico.port == "/dev/ttyACM1"
    raw["source"]["pico"] = {"port": 5}
    with pytest.raises(ConfigError, match=r"source\.pico\.port"):
        parse_config(raw)
    raw["source"]["pico"] = {"baud": 9600}
    with pytest.raises(ConfigError, match="baud"):
        parse_config(raw)
