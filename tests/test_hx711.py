"""HX711: the pin-level emulator, the real Adafruit driver and the shared-clock reader on it."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from hardware.hx711 import (
    AdafruitCellReader,
    ReaderTimeout,
    SharedClockReader,
    blinka_compat,
    busy_wait_us,
    to_signed,
)
from hardware.hx711_emulator import HX711Emulator, shared_clock
from station.core.signal_health import GlitchFilter, ZeroTracker


def constant(value: float):
    return lambda t, channel, gain: value


# Protocol tests relax the power-down threshold (see HX711Emulator.power_down_us) so that
# a scheduler hiccup on the test machine cannot reset a chip in the middle of a reading;
# the power-down tests and the shared-clock reader (which drops such frames) keep 60 us.
RELAXED_US = 5000.0


def bitbang(chip: HX711Emulator, pulses: int = 25) -> int:
    """Read one conversion by hand: the datasheet's timing, nothing from our readers."""
    while chip.dout.value:
        time.sleep(0.0005)
    code = 0
    for i in range(pulses):
        chip.pd_sck.value = True
        busy_wait_us(1)
        if i < 24:
            code = (code << 1) | int(chip.dout.value)
        chip.pd_sck.value = False
        busy_wait_us(1)
    return code


@pytest.mark.parametrize(
    ("counts", "expected"),
    [(123_456, 123_456), (-98_765, -98_765), (9_000_000, 0x7FFFFF), (-9_000_000, -0x800000)],
)
def test_emulator_shifts_out_24_bit_twos_complement_and_saturates(counts, expected):
    chip = HX711Emulator(constant(counts), power_down_us=RELAXED_US)
    assert to_signed(bitbang(chip)) == expected
    assert chip.stats.reads == 1


def test_pulses_25_26_27_choose_the_next_conversions_gain():
    chip = HX711Emulator(
        lambda t, channel, gain: {128: 1000, 64: 500, 32: -250}[gain], power_down_us=RELAXED_US
    )
    assert to_signed(bitbang(chip, 27)) == 1000  # converted at power-up's gain 128
    assert to_signed(bitbang(chip, 26)) == 500  # the 27 pulses asked for A/64
    assert to_signed(bitbang(chip, 25)) == -250  # then B/32
    assert to_signed(bitbang(chip, 25)) == 1000  # and back to A/128


def test_clock_held_high_too_long_powers_the_chip_down():
    chip = HX711Emulator(constant(42))
    bitbang(chip)  # settle and read once
    chip.pd_sck.value = True
    busy_wait_us(100)  # beyond the 60 us limit
    assert not chip.powered and chip.dout.value  # powered down: DOUT high
    chip.pd_sck.value = False  # falling resets it
    assert chip.stats.power_downs == 1
    t0 = time.perf_counter()
    while chip.dout.value:
        time.sleep(0.0005)
    # after a reset the first data comes only after settling: 50 ms at 80 SPS
    assert time.perf_counter() - t0 > 0.045
    assert to_signed(bitbang(chip)) == 42


def test_conversions_come_80_times_a_second():
    chip = HX711Emulator(constant(1), power_down_us=RELAXED_US)
    samples = []
    for _ in range(30):
        bitbang(chip)
        samples.append(chip.last_sample_t)
    # each reading is the next conversion, 12.5 ms after the one before (a rare pulse
    # stretched past 60 us by the scheduler resets the chip: that gap is longer)
    gaps = np.diff(samples)
    assert np.median(gaps) == pytest.approx(1 / 80, abs=1e-6)


def test_the_adafruit_driver_needs_its_fixes_and_reads_correctly_with_them():
    import microcontroller
    from adafruit_hx711.hx711 import HX711

    blinka_compat()
    assert callable(microcontroller.disable_interrupts)
    # the driver's start-up power cycle holds the clock high 1 ms: past either threshold
    chip = HX711Emulator(constant(-123_456), power_down_us=900.0)
    driver = HX711(chip.dout, chip.pd_sck)
    raw = driver.read()  # the driver's own read: two conversions, a wrong sign
    assert raw == ((-123_456) & 0xFFFFFF) | 0xFF000000  # a large positive number
    assert to_signed(raw) == -123_456
    assert chip.stats.reads == 2  # one conversion discarded for every reading

    chip = HX711Emulator(constant(-123_456), power_down_us=900.0)
    reader = AdafruitCellReader(chip.dout, chip.pd_sck)
    values = [reader.read() for _ in range(20)]
    assert values == [-123_456] * 20
    assert chip.stats.reads == 20  # one conversion per reading
    assert chip.stats.power_downs == 1  # only the driver's deliberate power cycle at start


def test_blinka_delay_us_is_what_powers_the_chip_down():
    """Why blinka_compat replaces delay_us: time.sleep(1e-6) sleeps far longer than 60 us."""
    t0 = time.perf_counter()
    for _ in range(20):
        time.sleep(1e-6)
    slept_us = (time.perf_counter() - t0) / 20 * 1e6
    t0 = time.perf_counter()
    for _ in range(20):
        busy_wait_us(1)
    busy_us = (time.perf_counter() - t0) / 20 * 1e6
    assert busy_us < 20 and slept_us > busy_us


def test_adafruit_reader_times_out_on_a_dead_chip():
    chip = HX711Emulator(constant(1), stuck_busy=True)
    reader = AdafruitCellReader(chip.dout, chip.pd_sck)
    t0 = time.monotonic()
    with pytest.raises(ReaderTimeout):
        reader.read(timeout_s=0.2)
    assert time.monotonic() - t0 < 0.5


def make_shared(values, **kw):
    chips = [HX711Emulator(constant(v), name=f"c{i}", **kw) for i, v in enumerate(values)]
    clock = shared_clock(chips)
    return chips, SharedClockReader(clock, [c.dout for c in chips])


def test_shared_clock_reads_every_cell_at_the_same_instant():
    chips, reader = make_shared([100, -200, 300_000, -4_000_000])
    frames = [reader.read() for _ in range(30)]
    good = [f for f in frames if f is not None]
    assert len(good) >= 20  # frames with a pulse stretched by the scheduler are dropped
    assert all(f.codes == [100, -200, 300_000, -4_000_000] for f in good)
    # one reset pulse for all: their conversions tick together
    samples = [c.last_sample_t for c in chips]
    assert max(samples) - min(samples) < 1e-4
    assert all(f.max_high_us < 45 for f in good)


def test_shared_clock_gain_64():
    chips = [HX711Emulator(lambda t, ch, g, k=k: {128: 1000 + k, 64: 500 + k}[g]) for k in range(3)]
    reader = SharedClockReader(shared_clock(chips), [c.dout for c in chips], gain=64)
    frame = None
    while frame is None:
        frame = reader.read()
    assert frame.codes == [500, 501, 502]


def test_shared_clock_names_the_dead_cell():
    chips, reader = make_shared([1, 2, 3, 4])
    chips[2].stuck_busy = True
    with pytest.raises(ReaderTimeout) as info:
        reader.read(timeout_s=0.1)
    assert info.value.cells == [2]


def test_a_frame_with_a_slow_pulse_is_dropped():
    _chips, reader = make_shared([7, 8])
    slow = reader.read_all

    def read_all_slowly():
        busy_wait_us(70)  # a scheduling hiccup on the Pi, in the middle of a pulse
        return slow()

    reader.read_all = read_all_slowly
    assert reader.read() is None
    assert reader.dropped == 1
    reader.read_all = slow
    frame = None
    while frame is None:
        frame = reader.read()
    assert frame.codes == [7, 8]


def test_hardware_source_marks_an_unplugged_cell_faulty_within_a_second(config):
    from hardware.hx711_source import build_emulated

    source = build_emulated(config)
    frames = source.frames()
    next(frames)
    source.chips[1].stuck_busy = True  # unplugged
    t0 = time.monotonic()
    stop = threading.Event()

    def pump():
        for _ in frames:
            if stop.is_set():
                return

    worker = threading.Thread(target=pump, daemon=True)
    worker.start()
    while not source.health()["faulty_cells"] and time.monotonic() - t0 < 1.0:
        time.sleep(0.01)
    assert source.health()["faulty_cells"] == [config.mat.cells[1].name]
    assert source.health()["state"] == "fault"
    assert time.monotonic() - t0 < 1.0
    source.chips[1].stuck_busy = False  # plugged back in: it recovers
    while source.health()["faulty_cells"] and time.monotonic() - t0 < 3.0:
        time.sleep(0.01)
    stop.set()
    assert source.health()["faulty_cells"] == []


def test_glitch_filter_false_rejects_on_clean_walking_and_catches_glitches(mat):
    from hardware.simulator.mat import SimulatedMat
    from station.core.config import SimConfig

    sim = SimulatedMat(mat, SimConfig(scenario="studio", seed=3))
    _, counts = sim.render(0, 80 * 300)  # five minutes of the studio scenario
    gains = np.abs(sim.calibration.gains)
    filters = [GlitchFilter(int(400 * g)) for g in gains]
    rejected = sum(
        f.accept(int(c)) is None for row in counts for f, c in zip(filters, row, strict=True)
    )
    assert rejected == 0  # measured false-reject rate on clean data: 0 of 96,000 samples
    rng = np.random.default_rng(1)
    harmful = caught = 0
    for i, row in enumerate(counts[:8000]):
        for k, (f, c) in enumerate(zip(filters, row, strict=True)):
            code = int(c)
            if i % 97 == 0 and k == i % 4:
                glitch = int(rng.choice([0x7FFFFF, -0x800000, 0, -1, code ^ (1 << 22)]))
                # a pattern within 50 N of the true code is indistinguishable, and harmless
                if abs(glitch - code) > 50 * gains[k]:
                    harmful += 1
                    caught += f.accept(glitch) is None
                else:
                    f.accept(glitch)
            else:
                f.accept(code)
    assert harmful >= 50 and caught == harmful


def test_zero_tracker_follows_drift_only_on_an_empty_still_mat():
    z = ZeroTracker(cells=2, settle_s=0.5)
    offsets = [1000.0, 2000.0]
    t = 0.0
    moved = None
    for _ in range(100):  # empty, drifted by +300 counts
        t += 0.0125
        moved = z.update(t, [1300, 2300], 0.5, offsets) or moved
    assert moved is not None and moved[0] > offsets[0]
    z2 = ZeroTracker(cells=2, settle_s=0.5)
    for _ in range(200):  # someone on the mat: never
        t += 0.0125
        assert z2.update(t, [900_000, 800_000], 650.0, offsets) is None


def test_no_session_starts_with_a_faulty_cell_and_the_status_names_it(config, tmp_path):
    import dataclasses

    from hardware.hx711_source import build_emulated
    from station.acquisition import Acquisition
    from station.core.config import SimConfig
    from station.live import LiveHub
    from station.store import StoreWriter, open_database

    cfg = dataclasses.replace(
        config, source=dataclasses.replace(config.source, sim=SimConfig(scenario="stand"))
    )
    source = build_emulated(cfg)
    source.chips[3].stuck_busy = True  # back_left unplugged before anyone steps on
    writer = StoreWriter(tmp_path / "s.db")
    acq = Acquisition(cfg, source, writer, LiveHub())
    writer.start()
    acq.start()
    deadline = time.monotonic() + 5.0  # the simulated member steps on after 2 s
    while time.monotonic() < deadline and acq.status_dict()["state"] != "fault":
        time.sleep(0.05)
    status = acq.status_dict()
    assert status["state"] == "fault"
    assert status["error"] == "no reading from cell(s) back_left"
    while time.monotonic() < deadline:
        time.sleep(0.1)
    assert acq.status.sessions_recorded == 0 and acq.status.session_key is None
    acq.stop()
    source.chips[3].stuck_busy = False  # lets the blocked read return
    acq.join(5)
    writer.stop()
    writer.join(5)
    assert open_database(tmp_path / "s.db")["sessions"].count == 0
